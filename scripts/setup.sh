#!/usr/bin/env bash
# Create .venv and install the project with the pinned package set (constraints.txt).
# Sourced by run-local.sh and test.sh; re-installs only when pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python >= 3.11 is required (found: $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

stamp=.venv/.coffee-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing the project and its pinned dependencies into .venv ..."
    .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
    echo "$want" > "$stamp"
fi
# The GCS and BigQuery emulators the gcp-target tests start (own venvs in .emulators/, pinned;
# returns at once when they are in place).
bash scripts/install-emulators.sh
export PATH="$PWD/.venv/bin:$PATH"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/dagster_home}"
# One planned-materialization event per asset and run instead of one per asset and partition:
# a 700-day backfill no longer writes 5,600 of them before its first step (README, "Instance
# settings"). Dagster reads it in the process that creates a run: the CLI, the webserver, the
# daemon.
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="${DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS:-1}"
