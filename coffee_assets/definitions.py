"""The code location: every layer of coffee_assets/defs/, built for one set of settings.

`dg dev`, `dg launch`, `dagster api grpc -m coffee_assets.definitions` and the workspace files
load `defs`, built from the environment's settings; tests build isolated locations with
`build_definitions(Settings(...))`. Dagster loads the defs folder (its layers and anything
`dg scaffold defs` adds there) while the settings are in use.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import dagster as dg

from coffee_assets.core.project import PROJECT_ROOT
from coffee_assets.settings import Settings, SettingsError, settings_in_use

DEFS_FOLDER = Path(__file__).parent / "defs"


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    with settings_in_use(settings), warnings.catch_warnings():
        # What dg.load_from_defs_folder does, less its last step: it also collects the JSON
        # of every component type the installed packages offer (importing dagster-gcp's and
        # dagster-dbt's components, 1.7 s of CPU in each code server and run worker) into
        # metadata this location does not keep. Its preview warnings are dg's own plumbing.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        tree = dg.ComponentTree.for_project(path_within_project=DEFS_FOLDER)
        layers = tree.build_defs(DEFS_FOLDER)
    return dg.Definitions(
        assets=with_code_references(list(layers.assets or []), settings),
        asset_checks=layers.asset_checks,
        jobs=layers.jobs,
        schedules=layers.schedules,
        sensors=layers.sensors,
        resources=layers.resources,
        # Every job, UI materializations included, on both targets: in process. The steps run
        # one after the other anyway (one DuckDB writer; on BigQuery each waits on its jobs), a
        # process per step costs more than a day's work, and the run's process is the one whose
        # life and locks the run books follow (operations/books.py).
        executor=dg.in_process_executor,
        component_tree=tree,
    )


def with_code_references(assets: list[Any], settings: Settings) -> list[Any]:
    """Each asset links to the code that defines it (a dbt model: its SQL file): to the file
    on this machine, or, with COFFEE_GIT_URL, to the file in the repository at
    COFFEE_GIT_BRANCH (what a deployed UI should open)."""
    linked = dg.with_source_code_references(assets)
    if settings.git_url is None:
        return list(linked)
    return list(
        dg.link_code_references_to_git(
            linked,
            git_url=settings.git_url,
            git_branch=settings.git_branch,
            file_path_mapping=dg.AnchorBasedFilePathMapping(
                local_file_anchor=PROJECT_ROOT, file_anchor_path_in_repository=""
            ),
        )
    )


def _defs_from_environment() -> dg.Definitions:
    """The code location of the environment's settings. A bad setting is printed first, as the
    one line `coffee-settings` prints, before the traceback Dagster's loader adds around it
    (`dg launch`, `dg dev` and the code server print both; the line is what to read)."""
    try:
        return build_definitions(Settings.from_env())
    except SettingsError as exc:
        print(f"Settings error: {exc}", file=sys.stderr, flush=True)
        raise


defs = _defs_from_environment()
