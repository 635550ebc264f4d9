#!/usr/bin/env bash
# The GCS and BigQuery emulators the gcp-target tests run against, each in its own venv under
# .emulators/ (git-ignored): gcp-storage-emulator and bqemulator (which needs an older DuckDB than
# the project, hence separate venvs). Pinned versions; idempotent (a stamp records what is
# installed). Offline, bqemulator cannot download DuckDB's spatial extension, so the file that
# duckdb-extension-spatial ships is copied into a HOME owned by this folder (.emulators/bq-home);
# the tests run the emulator with that HOME, never the user's.
# Prints one line when it installs something, nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
GCS_PACKAGES=(gcp-storage-emulator==2026.7.19)
BQ_PACKAGES=(bqemulator==1.4.0 duckdb==1.5.5 duckdb-extension-spatial==1.5.5 numpy)
DUCKDB_VERSION=v1.5.5
root=.emulators
stamp="$root/.installed"
want="$(printf '%s\n' "${GCS_PACKAGES[@]}" "${BQ_PACKAGES[@]}" "$DUCKDB_VERSION" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
    && [ -x "$root/gcs-venv/bin/gcp-storage-emulator" ] && [ -x "$root/bq-venv/bin/bqemulator" ]; then
    exit 0
fi

echo "Installing the GCS and BigQuery emulators into $root/ ..."
mkdir -p "$root"
rm -f "$stamp"
UV=.tools/uv/bin/uv  # installed by scripts/setup.sh
install_venv() {  # install_venv DIR PACKAGE...
    local venv="$1"
    shift
    [ -x "$venv/bin/python" ] || "$UV" venv --quiet --python "$PYTHON" "$venv"
    "$UV" pip install --quiet --python "$venv/bin/python" "$@"
}
install_venv "$root/gcs-venv" "${GCS_PACKAGES[@]}"
install_venv "$root/bq-venv" "${BQ_PACKAGES[@]}"

# DuckDB looks for extensions in $HOME/.duckdb/extensions/<version>/<platform>/.
platform="$("$root/bq-venv/bin/python" -c 'import duckdb; print(duckdb.execute("pragma platform").fetchone()[0])')"
extension="$("$root/bq-venv/bin/python" -c '
import pathlib, duckdb_extension_spatial as m
print(next(pathlib.Path(m.__file__).parent.rglob("spatial.duckdb_extension")))')"
target="$root/bq-home/.duckdb/extensions/$DUCKDB_VERSION/$platform"
mkdir -p "$target"
cp "$extension" "$target/spatial.duckdb_extension"
echo "$want" > "$stamp"
