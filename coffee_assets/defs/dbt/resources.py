"""The dbt CLI resource: dbt of this Python environment, started through `coffee-dbt`."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource

from coffee_assets.core.dbt_process import PARENT_PID_ENV, real_dbt
from coffee_assets.core.project import DBT_PROJECT_DIR
from coffee_assets.platform.dagster_internals import WithoutInProcessDbtAdapter
from coffee_assets.platform.target import target_of
from coffee_assets.settings import Settings


def dbt_executable() -> str:
    """`coffee-dbt` (core/dbt_process.py) of this environment, so dbt dies with its run; plain
    dbt where the project is not installed (then an orphaned dbt can outlive a crash)."""
    front = Path(sys.executable).with_name("coffee-dbt")
    if front.exists():
        return str(front)
    return shutil.which("coffee-dbt") or real_dbt()


class CoffeeDbtCliResource(WithoutInProcessDbtAdapter):
    """DbtCliResource that tells `coffee-dbt` which process started it (its parent): dbt exits
    if that process is gone before dbt starts, and is killed when it dies afterwards. (dbt itself
    is not loaded into the run's process: see WithoutInProcessDbtAdapter.)"""

    def cli(self, args, **kwargs):
        os.environ[PARENT_PID_ENV] = str(os.getpid())
        return super().cli(args, **kwargs)


def dbt_cli_resource(target: str) -> DbtCliResource:
    """dbt of this Python environment (an unactivated venv works too), on the given dbt target."""
    return CoffeeDbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), target=target, dbt_executable=dbt_executable()
    )


@functools.cache
def dbt_resource(settings: Settings) -> DbtCliResource:
    """dbt on the settings' target (one object, whichever layer asks)."""
    return dbt_cli_resource(target_of(settings).dbt_target)
