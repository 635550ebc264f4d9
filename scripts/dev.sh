#!/usr/bin/env bash
# The Dagster UI and daemon (schedule, sensors, freshness) on this project's instance
# (dagster_home/) and the local target: `dg dev` on http://127.0.0.1:3000 (or the host and port
# given, e.g. -p 3001). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
coffee-settings || exit 1
exec dg dev --host 127.0.0.1 "$@"
