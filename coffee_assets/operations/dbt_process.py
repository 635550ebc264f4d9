"""`coffee-dbt`: the dbt executable Dagster runs, a thin front for the real `dbt`.

It does two things before it becomes dbt (`exec`, no extra process):

- it ties dbt's life to the run's: on Linux the kernel sends dbt SIGKILL when the process that
  started it dies (PR_SET_PDEATHSIG), so a run killed by `kill -9`, the OOM killer or a crash
  never leaves a dbt behind that goes on writing to the warehouse unseen. If that process is
  already gone when dbt would start, dbt does not start at all. On the local target dbt also
  holds the DuckDB file's dbt lock (operations/locks.py) until it exits, so where the kernel
  cannot kill it, the next run waits for it instead of starting a second writer.
- it answers `--version` from the installed package's metadata: dagster-dbt asks for the
  version once per run, and `dbt --version` would import all of dbt and look up PyPI for a
  newer release (seconds, and a network call air-gapped machines cannot make).

Everything else is passed to dbt unchanged.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from coffee_assets.operations.locks import DBT_LOCK, lock_path

# The pid of the process that runs dbt, set by it in dbt's environment (see defs/dbt/resources.py).
PARENT_PID_ENV = "COFFEE_DBT_PARENT_PID"
PR_SET_PDEATHSIG = 1
LOCK_TIMEOUT_SECONDS = 600


def real_dbt() -> str:
    """The `dbt` of this Python environment, else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def die_with_parent() -> None:
    """Ask the kernel to kill this process (and the dbt it becomes) when its parent dies."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def parent_is_gone() -> bool:
    """True when the process that started us has died already (we were re-parented)."""
    expected = os.environ.get(PARENT_PID_ENV)
    return expected is not None and expected != "" and os.getppid() != int(expected)


def vars_text(args: list[str]) -> str | None:
    """The text of a dbt command line's `--vars` value, as given (None without one)."""
    if "--vars" not in args[:-1]:
        return None
    return args[args.index("--vars") + 1]


def duckdb_path(args: list[str]) -> str | None:
    """The DuckDB file of the local target, from the `duckdb_path` dbt var Dagster passes."""
    try:
        vars_ = json.loads(vars_text(args) or "")
    except ValueError:
        return None
    return vars_.get("duckdb_path") if isinstance(vars_, dict) else None


def hold_dbt_lock(warehouse_file: str) -> None:
    """Take the warehouse's dbt lock on a descriptor dbt inherits: dbt holds it until it exits."""
    path = lock_path(warehouse_file, DBT_LOCK)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                message = f"coffee-dbt: {path} is still held by another dbt; giving up"
                raise SystemExit(message) from None
            time.sleep(0.5)
    os.set_inheritable(fd, True)
    holder = {
        "what": f"dbt ({' '.join(sys.argv[1:2])})",
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(tz=UTC).isoformat(timespec="seconds"),
    }
    path.with_name(path.name + ".holder").write_text(json.dumps(holder))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"Core:\n  - installed: {metadata.version('dbt-core')}")
        return 0
    die_with_parent()
    if parent_is_gone():
        print("coffee-dbt: the process that started dbt is gone; not starting", file=sys.stderr)
        return 1
    warehouse_file = duckdb_path(args)
    if warehouse_file:
        hold_dbt_lock(warehouse_file)
    dbt = real_dbt()
    os.execv(dbt, [dbt, *args])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
