"""Asset factories, one module per layer: CSV files -> raw tables -> dbt models."""
