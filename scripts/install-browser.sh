#!/usr/bin/env bash
# Debian's chromium, for the report tests (a real headless browser; nothing is downloaded from
# outside the apt repositories). Does nothing when a chromium is already on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "chromium is missing: install it with 'apt-get install chromium' (as root)" >&2
    exit 1
fi
echo "Installing chromium with apt-get ..."
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
