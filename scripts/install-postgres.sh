#!/usr/bin/env bash
# Debian's PostgreSQL server, for the production-shape tests and scripts/prod-local.sh (from the
# apt repositories; nothing else is downloaded). Does nothing when a server is installed.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "PostgreSQL is missing: install it with 'apt-get install postgresql' (as root)" >&2
    exit 1
fi
echo "Installing PostgreSQL with apt-get ..."
"${as_root[@]}" apt-get update -qq
# The package would start a cluster of its own at boot; ours are started on demand.
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    postgresql >/dev/null
