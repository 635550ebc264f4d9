"""Histories built once per test session and copied into each test that changes them.

Building a history (the generator, the raw loads, dbt, the reports, as one daily_refresh run) is
the expensive part of most end-to-end tests. A history is identified by its seed, volume and days
(`HistorySpec`); the first test that asks for one builds it, in a folder every pytest-xdist worker
of the session sees (under a file lock, so two workers never build the same one), with a Dagster
instance on disk beside its data. Every test then gets a copy of both, data folder and instance,
and may change it as it likes: the instance knows the history's runs, materializations and check
results, as a user's instance would after the same run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from filelock import FileLock

from coffee_assets.core.project import PROJECT_ROOT
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.schedules.jobs import execute_daily_refresh
from coffee_assets.settings import Settings


@dataclass(frozen=True)
class HistorySpec:
    """What a history is: the generator's seed and volume, and its days (one run)."""

    first: date
    last: date
    seed: int = 11
    orders_per_day: float | None = None  # the profile's (about 440) when None

    @property
    def key(self) -> str:
        volume = "default" if self.orders_per_day is None else f"{self.orders_per_day:g}"
        return f"seed{self.seed}-{volume}-{self.first}-{self.last}"

    def settings(self, data_dir: Path) -> Settings:
        return Settings(
            data_dir=data_dir,
            start_date=self.first,
            seed=self.seed,
            orders_per_day=self.orders_per_day,
        )


@dataclass
class History:
    """A test's own copy of a built history: its data folder and its Dagster instance."""

    settings: Settings
    home: Path  # DAGSTER_HOME of the copy's instance (the project's dagster.yaml, SQLite)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def defs(self) -> dg.Definitions:
        return build_definitions(self.settings)


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this session sees: pytest-xdist gives each worker its own base
    folder inside the session's."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build(spec: HistorySpec, folder: Path) -> None:
    home = folder / "home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = execute_daily_refresh(
            build_definitions(spec.settings(folder / "data")), spec.first, spec.last,
            instance=instance,
        )  # fmt: skip
        assert result.success, f"building the history {spec.key} failed"


def history_copy(factory: pytest.TempPathFactory, spec: HistorySpec, dest: Path) -> History:
    """A copy of the history `spec` (built first if no test of the session has) in `dest`."""
    built = _shared_root(factory) / "histories" / spec.key
    built.parent.mkdir(exist_ok=True)
    with FileLock(str(built) + ".lock"):
        if not (built / "done").exists():
            shutil.rmtree(built, ignore_errors=True)  # a build that died half-way
            _build(spec, built)
            (built / "done").touch()
    shutil.copytree(built / "data", dest / "data")
    shutil.copytree(built / "home", dest / "home")
    return History(spec.settings(dest / "data"), dest / "home")
