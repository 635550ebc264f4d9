#!/usr/bin/env bash
# Set up, then run the whole test suite: lint (ruff, mypy, sqlfluff on the dbt project),
# `dg check defs`, then pytest (unit tests, real dbt and Dagster runs, crashes of real run
# processes, dg dev end to end, the production shape on PostgreSQL, the gcp target on its
# emulators, the reports in a real browser). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
bash scripts/install-browser.sh   # Debian chromium for the report tests
bash scripts/install-postgres.sh  # Debian PostgreSQL for the production-shape tests
# Tests make their own data folders, settings and Dagster instances; never the user's.
unset DAGSTER_HOME $(compgen -v COFFEE_ || true)
# (.env sets DAGSTER_HOME only where none is exported: every test that runs dg exports its own.)
ruff check coffee_assets coffee_assets_tests bench
ruff format --check --quiet coffee_assets coffee_assets_tests bench
mypy  # the package, as [tool.mypy] in pyproject.toml says
# The dbt project's SQL, rendered by dbt (coffee_dbt/.sqlfluff); dbt compiles against a scratch file.
(cd coffee_dbt && COFFEE_DUCKDB_PATH="$(mktemp -d)/lint.duckdb" sqlfluff lint models tests --nocolor)
COFFEE_DATA_DIR="$(mktemp -d)" DAGSTER_HOME="$PWD/dagster_home" dg check defs
# Both cores (pytest-xdist; tests grouped with xdist_group share a worker), and the slowest tests
# listed at the end: what the README's CI figure comes from.
exec python -m pytest -n "${COFFEE_TEST_WORKERS:-2}" --dist loadgroup --durations=25 "$@"
