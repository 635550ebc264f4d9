#!/usr/bin/env bash
# The container image's build steps, in the project folder (the Dockerfile runs this as its
# non-root user in /opt/coffee; CI runs it in a fresh clone, since no Docker engine is at hand):
# the locked runtime packages (no test tools) with dagster-k8s, the dbt manifests of both targets
# prepared ahead (a deployed code location never parses dbt at load), then a smoke test: the gcp
# target's definitions load. No secret is needed or kept: the gcp settings below are build-time
# placeholders for dbt's parse, replaced by the real environment at run time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-uv.sh
export UV_PYTHON_DOWNLOADS=never

echo "Installing the locked runtime packages into .venv (uv sync --extra k8s --no-dev) ..."
.tools/uv/bin/uv sync --frozen --extra k8s --no-dev --python "${PYTHON:-python3}" --quiet
export PATH="$PWD/.venv/bin:$PATH" VIRTUAL_ENV="$PWD/.venv"

placeholders=(
    COFFEE_TARGET=gcp COFFEE_GCP_PROJECT=build-placeholder COFFEE_GCS_BUCKET=build-placeholder
    COFFEE_BQ_LOCATION=US DAGSTER_HOME="$(mktemp -d)"
)
echo "Preparing the dbt manifests (coffee_dbt/target/local and target/gcp) ..."
dagster-dbt project prepare-and-package --file coffee_assets/defs/dbt/project.py >/dev/null
env "${placeholders[@]}" python - <<'PY'
from coffee_assets.defs.dbt.project import dbt_project

project = dbt_project("gcp")
project.preparer.prepare(project)
PY

echo "Smoke test: the gcp target's definitions load from the prepared manifest ..."
env "${placeholders[@]}" python - <<'PY'
import dagster_k8s  # noqa: F401  (the run launcher the Helm values name)
import dagster_postgres  # noqa: F401  (the instance's storage)

from coffee_assets.definitions import defs

keys = defs.resolve_all_asset_keys()
print(f"{len(keys)} assets, the dbt manifest of the gcp target, dagster-k8s and dagster-postgres")
PY
rm -rf "${placeholders[-1]#DAGSTER_HOME=}"
