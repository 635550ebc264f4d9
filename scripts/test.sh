#!/usr/bin/env bash
# Set up, then run the whole test suite (unit tests, real dbt and Dagster runs, dagster dev end to end).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
bash scripts/install-browser.sh  # Debian chromium for the report tests
# Tests make their own data folders, settings and Dagster instances; never the user's.
unset DAGSTER_HOME $(compgen -v COFFEE_ || true)
ruff check coffee_assets coffee_assets_tests bench
ruff format --check --quiet coffee_assets coffee_assets_tests bench
exec python -m pytest "$@"
