#!/usr/bin/env bash
# Set up, then run the whole test suite: ruff, then pytest on both cores, three workers (the type checker,
# sqlfluff on the dbt project and `dg check defs` among the tests; unit tests, real dbt and
# Dagster runs, crashes of real run processes, dg dev end to end, the production shape on
# PostgreSQL, the gcp target on its emulators, the reports in a real browser). Arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Debian's chromium (the report tests) and PostgreSQL (the production shape), installed with apt
# in the background while setup.sh installs the Python side: both mostly wait on downloads.
system_log="$(mktemp)"
(bash scripts/install-browser.sh && bash scripts/install-postgres.sh) > "$system_log" 2>&1 &
system_pid=$!
source scripts/setup.sh
if ! wait "$system_pid"; then
    cat "$system_log" >&2
    exit 1
fi
cat "$system_log"
# pytest-xdist's workers (read before the COFFEE_ variables go below): three on two cores. Much
# of the suite is waiting (daemons' ticks, servers starting, runs queued): on 2026-12-07 the
# clean clone took 874 s of pytest with two workers and 744 s with three, for about the same CPU.
workers="${COFFEE_TEST_WORKERS:-3}"
# Tests make their own data folders, settings and Dagster instances; never the user's.
unset DAGSTER_HOME $(compgen -v COFFEE_ || true)
# (.env sets DAGSTER_HOME only where none is exported: every test that runs dg exports its own.)
ruff check coffee_assets coffee_assets_tests bench
ruff format --check --quiet coffee_assets coffee_assets_tests bench
# mypy, sqlfluff (the dbt project's SQL) and `dg check defs` take minutes: they are tests
# (coffee_assets_tests/test_static.py), run beside the others.
# Both cores, three workers (pytest-xdist; tests grouped with xdist_group share a worker), and the slowest tests
# listed at the end: what the README's CI figure comes from. The costliest by CPU time follow
# (coffee_assets_tests/cpu_time.py): with both cores busy, that is what a test costs the run. The groups go out in conftest.py's
# order, the longest first (xdist would otherwise sort them by their number of tests, and a long
# group of few tests started last, alone on one worker, while the other idled).
exec python -m pytest -n "$workers" --dist loadgroup --no-loadscope-reorder \
    --durations=25 "$@"
