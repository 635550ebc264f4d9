"""Coffee-shop analytics: Dagster assets from synthetic CSV files to dbt marts."""
