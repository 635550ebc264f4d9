#!/usr/bin/env bash
# Set up, then materialize the whole lineage (CSV files -> raw tables -> dbt models) on the local
# target for every day from COFFEE_START_DATE to yesterday (Kyiv time), as ONE run of daily_refresh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

# The settings first, in one line each: a bad one stops here, before anything is written.
coffee-settings || exit 1
read -r start end <<< "$(coffee-settings --history)"
data_dir="$(coffee-settings --data-dir)"

echo "daily_refresh for ${start}...${end} (one run) on the local target"
# A partition range as one run: the same run tags a single-run backfill from the UI sets.
dagster job execute -m coffee_assets.definitions -j daily_refresh -c scripts/quiet-logs.yaml \
    --tags "{\"dagster/asset_partition_range_start\": \"${start}\", \"dagster/asset_partition_range_end\": \"${end}\"}"

cat <<MSG

Done. The data:
  CSV files (the bucket):  ${data_dir}/bucket/csv_sources/
  DuckDB warehouse:        ${data_dir}/warehouse.duckdb
                           schemas coffee_shop (raw tables) and dbt_models (dbt models)
  e.g.  .venv/bin/python -c "import duckdb; print(duckdb.connect('${data_dir}/warehouse.duckdb', read_only=True).sql('from dbt_models.flat_customer_metrics limit 5'))"

Open the Dagster UI (the run above is in its history):
  export DAGSTER_HOME=$DAGSTER_HOME
  .venv/bin/dagster dev -w workspace.yaml      # then browse http://127.0.0.1:3000
MSG
