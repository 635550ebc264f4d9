"""The house's floors: no import runs up them, and `dg scaffold defs` drops files that load.

Floors, lowest first: core/ (pure: no Dagster); settings/ (the environment, checked with
what core knows); platform/ (what every layer shares); the layers of defs/ in the lineage's
order; then the code location (definitions.py) and the command-line tools (cli/). A module may
import its own floor (or layer) and those below: import-linter's contracts in pyproject.toml.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "coffee_assets"
PYPROJECT = PACKAGE.parent / "pyproject.toml"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function (absolute imports)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def floors() -> list[str]:
    """The floors' modules, highest first, as the layers contract in pyproject.toml lists them."""
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    [layers] = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    return [module.strip() for layer in layers for module in re.split(r"[:|]", layer)]


def test_the_import_contracts_hold():
    """import-linter's contracts in pyproject.toml (relative imports and imports inside
    functions included, and every Dagster package): no import runs up the floors, and the
    ground floor imports no Dagster."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_every_module_is_on_a_floor():
    """A new folder of the package must be given its floor in the contract, or the contract
    would not see it."""
    known = floors()
    # The package and the folder of the layers hold no code of their own, only the docstring.
    containers = {"", "defs"}
    lost = [
        module
        for module in modules()
        if module not in containers
        and not any(f"coffee_assets.{module}" == f or f"coffee_assets.{module}".startswith(f + ".")
                    for f in known)
    ]  # fmt: skip
    assert lost == []


def project_copy(folder: Path) -> Path:
    """The package, the dbt project (its prepared local manifest included) and pyproject.toml in
    a folder of the test's own. What `dg scaffold` writes lands there, never in the package the
    other tests (other pytest-xdist workers among them) load at the same time; PYTHONPATH makes
    the copy the `coffee_assets` its commands import."""
    root = PACKAGE.parent
    copy = folder / "project"
    shutil.copytree(PACKAGE, copy / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__"))
    dbt = root / "coffee_dbt"
    shutil.copytree(dbt, copy / dbt.name, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(dbt / "target" / "local", copy / dbt.name / "target" / "local")
    for name in ("pyproject.toml", "workspace.yaml"):
        shutil.copy(root / name, copy / name)
    return copy


@pytest.mark.slow
def test_a_file_dg_scaffolds_into_defs_loads_with_the_layers(tmp_path):
    """`dg scaffold defs dagster.asset <path>` as its docs say, then `dg list defs`: the new
    asset is listed beside the lineage's (in a copy of the project)."""
    root = project_copy(tmp_path)
    folder = root / PACKAGE.name / "defs" / "scaffold_probe"
    dg = str(Path(sys.executable).with_name("dg"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COFFEE_")},
        "COFFEE_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path),
        "PYTHONPATH": str(root),
    }
    shutil.copy(PACKAGE.parent / "dagster_home" / "dagster.yaml", tmp_path)
    subprocess.run(
        [dg, "scaffold", "defs", "dagster.asset", f"{folder.name}/probe_asset.py"],
        cwd=root, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (folder / "probe_asset.py").is_file()
    assert not (PACKAGE / "defs" / folder.name).exists()
    listed = subprocess.run(
        [dg, "list", "defs", "--json"],
        cwd=root, env=env, check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assets = {asset["asset_key"] for asset in json.loads(listed.stdout)["assets"]}
    assert "probe_asset" in assets
    assert {"csv_sources/orders", "coffee_shop/orders", "dbt_models/flat_order_details"} <= assets


def test_only_the_fenced_module_imports_dagsters_private_modules():
    """Dagster's private modules (`dagster._core`, `dagster_dbt._...`) are imported in one
    module, operations/dagster_internals.py, whose every use has a test: an upgrade that moves them
    fails there, not somewhere in a run."""
    private = [
        f"coffee_assets.{module}: {name}"
        for module, path in modules().items()
        if module != "operations.dagster_internals"
        for name in imports(path)
        if re.match(r"dagster\w*\._", name)
    ]
    assert private == []
