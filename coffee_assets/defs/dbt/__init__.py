"""The dbt project's models, their tests and the marts' checks."""
