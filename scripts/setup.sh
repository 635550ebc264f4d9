#!/usr/bin/env bash
# The project's environment, for the other scripts (each runs `source scripts/setup.sh` first):
# .venv with exactly the locked package set (uv.lock: the project, editable, and the dev group of
# test and lint tools), the emulators, the dbt manifest, .env. Each step is a no-op when done.
# uv itself comes from PyPI into .tools/uv (pinned); no Python is downloaded: the machine's
# python3 (3.11 or newer, or $PYTHON) is used.
#
# For a shell of your own, don't source this file (it turns on `set -euo pipefail`):
#   source .venv/bin/activate      # dg, dagster, dbt, coffee-* on PATH; .env sets DAGSTER_HOME
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
bash scripts/install-uv.sh
UV=.tools/uv/bin/uv
export UV_PYTHON_DOWNLOADS=never
# Packages are installed with their bytecode compiled (.pyc), here and in the emulators' venvs.
# Without it, every Python process compiles what it imports again wherever bytecode is not
# written (PYTHONDONTWRITEBYTECODE, a read-only folder): loading the definitions took 11.6 s of
# CPU instead of 5.7, paid by each code server, run, dbt command and test worker.
export UV_COMPILE_BYTECODE=1

# uv sync is a no-op (tens of ms) when .venv matches uv.lock, and repairs it when it does not
# (a `uv sync --no-dev` by hand, a changed lock).
[ -x .venv/bin/python ] || echo "Installing the project and its locked dependencies into .venv (uv sync) ..."
"$UV" sync --frozen --python "$PYTHON" --quiet
# .env (not committed): what `dg dev`, `dg launch` and `dg check defs` in this folder read. A
# value the shell exports wins (the ${NAME:-default} form), so the scripts and tests keep theirs.
if [ ! -f .env ]; then
    sed "s|@PROJECT_ROOT@|$PWD|" .env.example > .env
    echo "Wrote .env from .env.example (DAGSTER_HOME=$PWD/dagster_home unless you export another)"
fi
# The GCS and BigQuery emulators the gcp-target tests start (own venvs in .emulators/, pinned;
# returns at once when they are in place).
bash scripts/install-emulators.sh
export PATH="$PWD/.venv/bin:$PATH" VIRTUAL_ENV="$PWD/.venv"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/dagster_home}"
# The dbt manifest Dagster builds the dbt assets from (coffee_dbt/target/local), prepared again
# when the dbt project changed (under `dg`, the definitions also parse again when a file of the
# dbt project is newer than the manifest: coffee_assets/defs/dbt/project.py).
dbt_stamp=coffee_dbt/target/local/.prepared
dbt_want="$(find coffee_dbt -path coffee_dbt/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' \) -print | sort | xargs cat | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$dbt_stamp" 2>/dev/null)" != "$dbt_want" ]; then
    echo "Preparing the dbt manifest (dbt parse) ..."
    # A full parse: dbt 1.11's partial parsing kept a singular test's old `meta` (its Dagster
    # asset) after tests/_singular_tests.yml changed, and the check went missing from the UI.
    rm -f coffee_dbt/target/local/partial_parse.msgpack
    dagster-dbt project prepare-and-package --file coffee_assets/defs/dbt/project.py
    echo "$dbt_want" > "$dbt_stamp"
fi
# One planned-materialization event per asset and run instead of one per asset and partition:
# a 700-day backfill no longer writes 5,600 of them before its first step (README, "Instance
# settings"). Dagster reads it in the process that creates a run: the CLI, the webserver, the
# daemon.
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="${DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS:-1}"
