#!/usr/bin/env bash
# apt-get install PACKAGES, as root or through sudo (Debian's repositories only: nothing else is
# downloaded). Used by install-browser.sh and install-postgres.sh when their program is missing.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "missing: install it with 'apt-get install $*' (as root)" >&2
    exit 1
fi
echo "Installing $* with apt-get ..."
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    "$@" >/dev/null
