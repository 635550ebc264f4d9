#!/usr/bin/env bash
# Debian's chromium, for the report tests (a real headless browser; nothing is downloaded from
# outside the apt repositories). Does nothing when a chromium is already on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" chromium fonts-dejavu-core
