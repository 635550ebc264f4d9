#!/usr/bin/env bash
# Set up, then materialize the whole lineage (CSV files -> raw tables -> dbt models -> reports) on
# the local target for every day from COFFEE_START_DATE to yesterday (Kyiv time), as ONE run of
# daily_refresh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

# The settings first, in one line each: a bad one stops here, before anything is written.
coffee-settings || exit 1
read -r start end <<< "$(coffee-settings --history)"
data_dir="$(coffee-settings --data-dir)"

echo "daily_refresh for ${start}...${end} (one run) on the local target"
dg launch --job daily_refresh --partition-range "${start}...${end}" -c scripts/quiet-logs.yaml

cat <<MSG

Done. The data:
  CSV files (the bucket):  ${data_dir}/bucket/csv_sources/
  DuckDB warehouse:        ${data_dir}/warehouse.duckdb
                           schemas coffee_shop (raw tables) and dbt_models (dbt models)
  Reports:                 ${data_dir}/bucket/reports/sales_report.html, customer_report.html
  e.g.  .venv/bin/python -c "import duckdb; print(duckdb.connect('${data_dir}/warehouse.duckdb', read_only=True).sql('from dbt_models.flat_customer_metrics limit 5'))"

Open the Dagster UI (the run above is in its history):
  bash scripts/dev.sh      # dg dev on http://127.0.0.1:3000
MSG
