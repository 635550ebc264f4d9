#!/usr/bin/env bash
# Debian's PostgreSQL server, for the production-shape tests and scripts/prod-local.sh (from the
# apt repositories; nothing else is downloaded). Does nothing when a server is installed. Its
# clusters are started on demand by scripts/local-postgres.sh.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" postgresql
