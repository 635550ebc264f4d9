"""The dbt project (coffee_dbt/) and its manifest, which Dagster reads to build the dbt assets.

The manifest is prepared ahead of time, one per target (target/local, target/gcp), never while a
deployed code location loads:
- scripts/setup.sh prepares the local one (`dagster-dbt project prepare-and-package --file
  coffee_assets/defs/dbt/project.py`, which prepares the projects defined in this module);
- the container build prepares both (scripts/build-image.sh);
- under `dg` (every `dg` command sets DAGSTER_IS_DEV_CLI, `dg launch` included), the project is
  parsed again when a file of the dbt project is newer than the manifest, so edits show up at
  once; an unchanged project is not parsed again (a parse costs `dg launch` about 9 s here).
  That parse runs in the loading process, as the runs run dbt (operations/dbt_in_process.py):
  dagster-dbt's own preparer starts `dbt --version` and a dbt process, 5 s of CPU more.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject
from filelock import FileLock

from coffee_assets.core.project import DBT_PROJECT_DIR
from coffee_assets.operations.dagster_internals import InProcessDbtCliResource
from coffee_assets.settings import SettingsError

# How the manifest is prepared: a whole parse. dbt 1.11's partial parsing, after a macro changed,
# parses the singular tests again without their properties (coffee_dbt/tests/_singular_tests.yml:
# meta.dagster.ref, the description), and dagster-dbt then makes them no asset check at all: an
# edited macro under `dg dev` would silently drop the money reconciliations from the lineage.
PREPARE_ARGS = ["parse", "--quiet", "--no-partial-parse"]


def dbt_project(target: str, project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """The dbt project on a dbt target (`local` or `gcp`), its manifest in target/<target>."""
    return DbtProject(
        project_dir=project_dir,
        target=target,
        target_path=Path("target", target),
        prepare_project_cli_args=PREPARE_ARGS,
    )


# What `dagster-dbt project prepare-and-package --file coffee_assets/defs/dbt/project.py` prepares
# (the gcp manifest needs the gcp target's variables: scripts/build-image.sh sets placeholders).
LOCAL = dbt_project("local")


# What dbt reads from the project folder; target/, logs/ and dbt_packages/ are dbt's own output.
DBT_SOURCE_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md", ".py"})
DBT_OUTPUT_DIRS = frozenset({"target", "logs", "dbt_packages"})


def changed_since_manifest(project: DbtProject) -> bool:
    """True when the manifest is missing or a file of the dbt project is newer than it."""
    if not project.manifest_path.exists():
        return True
    made = project.manifest_path.stat().st_mtime
    for entry in Path(project.project_dir).iterdir():
        if entry.name in DBT_OUTPUT_DIRS:
            continue
        files = entry.rglob("*") if entry.is_dir() else [entry]
        if any(f.suffix in DBT_SOURCE_SUFFIXES and f.stat().st_mtime > made for f in files):
            return True
    return False


def prepare_if_dev_and_changed(project: DbtProject) -> None:
    """What dagster-dbt's `prepare_if_dev` does, when something dbt reads changed since the
    manifest: a parse (PREPARE_ARGS), here in this process. One process parses at a time (the
    code server and a run's process can load at once); the next finds the manifest new."""
    if not (project.preparer.using_dagster_dev() and changed_since_manifest(project)):
        return
    target = Path(project.project_dir, project.target_path)
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / ".prepare.lock")):
        if changed_since_manifest(project):
            dbt = InProcessDbtCliResource(
                project_dir=str(project.project_dir),
                profiles_dir=str(project.profiles_dir),
                target=project.target,
            )
            dbt.cli(PREPARE_ARGS, target_path=project.target_path).wait()


def prepared_dbt_project(target: str) -> DbtProject:
    """The dbt project with its manifest: parsed again under `dg` when the project changed,
    prepared beforehand otherwise; a missing manifest says how to prepare it."""
    project = dbt_project(target)
    prepare_if_dev_and_changed(project)
    if not project.manifest_path.exists():
        raise SettingsError(
            f"no dbt manifest at {project.manifest_path}: prepare it with `bash scripts/setup.sh` "
            f"or `dagster-dbt project prepare-and-package --file coffee_assets/defs/dbt/project.py`"
            + (" (with the gcp target's variables set)" if target == "gcp" else "")
        )
    return project
