"""The dbt project (coffee_dbt/) and its manifest, which Dagster reads to build the dbt assets.

The manifest is prepared ahead of time, one per target (target/local, target/gcp), never while a
deployed code location loads:
- scripts/setup.sh prepares the local one (`dagster-dbt project prepare-and-package --file
  coffee_assets/dbt_project.py`, which prepares the projects defined in this module);
- the container build prepares both (scripts/build-image.sh);
- under `dg dev` (DAGSTER_IS_DEV_CLI), `prepare_if_dev` parses again at every load, so edits to
  the dbt project show up at once.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

from coffee_assets.settings import DBT_PROJECT_DIR, SettingsError


def dbt_project(target: str) -> DbtProject:
    """The dbt project on a dbt target (`local` or `gcp`), its manifest in target/<target>."""
    return DbtProject(
        project_dir=DBT_PROJECT_DIR, target=target, target_path=Path("target", target)
    )


# What `dagster-dbt project prepare-and-package --file coffee_assets/dbt_project.py` prepares
# (the gcp manifest needs the gcp target's variables: scripts/build-image.sh sets placeholders).
LOCAL = dbt_project("local")


def prepared_dbt_project(target: str) -> DbtProject:
    """The dbt project with its manifest: parsed now under `dg dev`, prepared beforehand
    otherwise; a missing manifest says how to prepare it."""
    project = dbt_project(target)
    project.prepare_if_dev()
    if not project.manifest_path.exists():
        raise SettingsError(
            f"no dbt manifest at {project.manifest_path}: prepare it with `bash scripts/setup.sh` "
            f"or `dagster-dbt project prepare-and-package --file coffee_assets/dbt_project.py`"
            + (" (with the gcp target's variables set)" if target == "gcp" else "")
        )
    return project
