"""The static checks that take long: the type checker over the package, sqlfluff over the dbt
project's SQL (rendered by dbt), and `dg check defs` as a user runs it. Tests, so that they run
beside the others on the machine's cores (pytest-xdist) instead of before all of them;
scripts/test.sh still runs ruff first (it takes a second). Each prints what the tool printed when
it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coffee_assets.core.project import PROJECT_ROOT

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"


def test_the_package_type_checks():
    """mypy over the package, as [tool.mypy] in pyproject.toml says."""
    run([str(BIN / "mypy")], PROJECT_ROOT)


def test_the_dbt_projects_sql_passes_sqlfluff(tmp_path):
    """coffee_dbt/.sqlfluff: the models' and tests' SQL as dbt renders it (dbt compiles against
    a scratch DuckDB file)."""
    run(
        [str(BIN / "sqlfluff"), "lint", "models", "tests", "--nocolor"],
        PROJECT_ROOT / "coffee_dbt",
        {"COFFEE_DUCKDB_PATH": str(tmp_path / "lint.duckdb")},
    )


def test_dg_check_defs_loads_every_definition(tmp_path):
    """`dg check defs` in the project folder, with the project's instance settings."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COFFEE_")}
    done = subprocess.run(
        [str(BIN / "dg"), "check", "defs"],
        cwd=PROJECT_ROOT,
        env={**clean, "COFFEE_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr
