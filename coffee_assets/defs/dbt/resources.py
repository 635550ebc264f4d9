"""The dbt resource: dbt of this Python environment, run in the run's own process."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtCliResource

from coffee_assets.core.project import DBT_PROJECT_DIR
from coffee_assets.operations.dagster_internals import InProcessDbtCliResource


def dbt_executable() -> str:
    """The `dbt` of this Python environment (an unactivated venv too), else the one on PATH: what
    the tests and the bench run by hand (Dagster runs dbt in the run's process)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def vars_text(args: list[str]) -> str | None:
    """The text of a dbt command line's `--vars` value, as given (None without one)."""
    if "--vars" not in args[:-1]:
        return None
    return args[args.index("--vars") + 1]


# dbt's saved parse of the project (partial_parse.msgpack): dbt writes it into each invocation's
# own target folder, which dagster-dbt makes new for every invocation.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
PARSES_KEPT = 16
# The models' column lineage kept from run to run (lineage_cache): an entry per model and version
# of its SQL and columns.
LINEAGES_KEPT = 512


class CoffeeDbtCliResource(InProcessDbtCliResource):
    """DbtCliResource that

    - runs dbt in the calling process (operations/dbt_in_process.py): no dbt process to start,
      none a crash can leave behind;
    - passes an invocation its own environment variables (the run's window, which dbt reads
      while the models run: coffee_dbt/macros/window.sql);
    - keeps dbt's parse of the project from one invocation to the next (`keep_parse`): dbt
      parses again only the files that changed, not the whole project (seconds per run);
    - has a folder for the models' column lineage kept from one run to the next
      (`lineage_cache`, operations/dagster_internals.py's column_lineage_kept)."""

    def parse_cache(self, args: list[str]) -> Path:
        """Where the parse of invocations with these args' vars is kept, on this target: dbt
        reuses a parse only for the same vars, target and connection (the DuckDB file is a var)."""
        key = hashlib.sha256(f"{self.target}\0{vars_text(args) or ''}".encode()).hexdigest()[:16]
        return Path(self.project_dir, "target", "parse-cache", f"{key}.msgpack")

    def cli(self, args, *, environment: Mapping[str, str] | None = None, **kwargs):
        """dagster-dbt's cli(), in a target folder of its own that starts with the parse kept
        by the last invocation of these vars (dagster-dbt then copies no other parse in)."""
        context = kwargs.get("context")
        name = f"{context.op.name}-{context.run.run_id[:7]}" if context is not None else "dbt"
        target_path = kwargs.pop("target_path", None) or Path(
            "target", f"{name}-{uuid.uuid4().hex[:7]}"
        )
        seeded = Path(self.project_dir, target_path, PARTIAL_PARSE_FILE)
        seeded.parent.mkdir(parents=True, exist_ok=True)
        # Gone meanwhile (another invocation pruned it): dbt parses the project, as without one.
        with contextlib.suppress(FileNotFoundError):
            shutil.copyfile(self.parse_cache(list(args)), seeded)
        return super().cli(args, target_path=target_path, environment=environment, **kwargs)

    def keep_parse(self, invocation: DbtCliInvocation) -> None:
        """Once dbt has exited: keep the parse in its target folder (the one it started with, or
        the one it wrote) for the next invocation of the same vars. Replaced whole: a concurrent
        reader sees the old parse or the new one."""
        written = invocation.target_path / PARTIAL_PARSE_FILE
        if not written.exists():
            return
        cache = self.parse_cache(list(invocation.process.args))  # type: ignore[arg-type]
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache.parent, delete=False) as part:
            part.write(written.read_bytes())
        os.chmod(part.name, 0o644)
        os.replace(part.name, cache)
        # The parses of vars no run uses any more (a warehouse moved, test runs) go.
        keep_newest(cache.parent, "*.msgpack", PARSES_KEPT)

    def lineage_cache(self) -> Path:
        """The folder of the models' column lineage kept from one run to the next, on this
        target, without its oldest entries beyond LINEAGES_KEPT (models since changed)."""
        folder = Path(self.project_dir, "target", "lineage-cache", self.target or "default")
        keep_newest(folder, "*.json", LINEAGES_KEPT)
        return folder


def keep_newest(folder: Path, pattern: str, count: int) -> None:
    """Remove the files of `folder` matching `pattern` but its newest `count`."""
    kept = []
    for path in folder.glob(pattern):
        with contextlib.suppress(FileNotFoundError):
            kept.append((path.stat().st_mtime, path))
    for _, path in sorted(kept, reverse=True)[count:]:
        path.unlink(missing_ok=True)


def dbt_cli_resource(target: str) -> DbtCliResource:
    """dbt of this Python environment (an unactivated venv works too), on the given dbt target."""
    return CoffeeDbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        # Named, not left to dbt: its default is the working directory's profiles.yml.
        profiles_dir=str(DBT_PROJECT_DIR),
        target=target,
        dbt_executable=dbt_executable(),
    )
