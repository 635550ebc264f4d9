#!/usr/bin/env bash
# uv, pinned, from PyPI into .tools/uv (a venv of the machine's python3, 3.11 or newer, or
# $PYTHON); does nothing when it is in place. Used by setup.sh and build-image.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
UV_VERSION=0.13.9
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python >= 3.11 is required (found: $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
    exit 1
fi
if [[ "$(.tools/uv/bin/uv --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
    echo "Installing uv $UV_VERSION into .tools/uv ..."
    "$PYTHON" -m venv .tools/uv
    .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
