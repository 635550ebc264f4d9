"""Where the project's parts are and what they are called: fixed facts, not settings."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "coffee_dbt"
# The chain's time zone: its days (the partitions) and its schedule are Kyiv's.
TIMEZONE = "Europe/Kyiv"

# Names of the warehouse schemas (BigQuery datasets on the gcp target).
RAW_SCHEMA = "coffee_shop"
DBT_SCHEMA = "dbt_models"
# Prefix of the CSV files inside the bucket (a folder on the local target).
CSV_PREFIX = "csv_sources/"
