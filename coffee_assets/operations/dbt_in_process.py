"""dbt in the run's own process, behind the interface dagster-dbt reads a dbt process by.

dagster-dbt runs dbt as a child process and reads its structured log (`--log-format json`, one
JSON object per line) from the child's stdout. Starting that child costs 3-4.6 s of CPU before
dbt does anything (importing dbt, which the run's process has mostly imported already, since
dagster-dbt imports it too), on every run. `DbtInProcess` runs the same command through dbt's
programmatic API (`dbtRunner`) on a thread of the run's process instead, and stands where
dagster-dbt expects a `subprocess.Popen`: `args`, `stdout` (the same JSON lines, written by a
dbt event callback), `wait()`, `returncode`, `send_signal()`. dagster-dbt's event parsing, error
reporting and asset events are unchanged (operations/dagster_internals.py hands it over).

A crash cannot orphan dbt any more: dbt dies with the run's process, however that dies, and
with it the DuckDB connection it held (the run's warehouse lock, operations/locks.py, stays the
only lock a run needs). When dbt is done, the DuckDB database dbt-duckdb would keep open for the
process's next invocation is closed (`release_duckdb`): other processes can open the file again.

One dbt invocation at a time per process: dbt keeps its flags, adapters and event loggers in
module globals. While it runs, the process's environment holds the invocation's variables (dbt
reads them: the run's window, coffee_dbt/macros/window.sql).
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from dbt_common.events.functions import msg_to_json
from dbt_common.exceptions import DbtBaseException

# dbt's console log off (the JSON lines go to the callback, and dagster-dbt prints each event it
# reads); dbt.log in the invocation's target folder keeps its debug log, as for a dbt process.
# (dbt applies --log-level to the file too, unless the file's is given.)
QUIET_CONSOLE = {"DBT_LOG_LEVEL": "none", "DBT_LOG_LEVEL_FILE": "debug"}
# Relative to the dbt project, for dbt, whatever the process's working directory.
PROJECT_PATHS = ("DBT_TARGET_PATH", "DBT_LOG_PATH")
# Exit codes as dbt's command line gives them: 1 a node failed, 2 dbt itself failed.
FAILED, ERRORED = 1, 2

_one_at_a_time = threading.Lock()


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """This process's environment with `values` set, as it was afterwards."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def invocation_env(env: Mapping[str, str], project_dir: Path) -> dict[str, str]:
    """What dbt reads from the environment while it runs: the invocation's variables, its paths
    absolute (the run's working directory is not the project's), the console quiet."""
    values = {**env, **QUIET_CONSOLE}
    for name in PROJECT_PATHS:
        if name in values:
            values[name] = str(project_dir / values[name])
    return values


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after dbt is done. dbt-duckdb holds it in
    a class attribute for the next invocation in the process (its `_ENV`); left open, it keeps
    DuckDB's file lock, and no other process can open the warehouse (DuckDB allows one writing
    process per file) nor this one with another configuration (read-only, say) until this
    process ends. (Without dbt-duckdb installed, or nothing open: nothing to do.)"""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()


class DbtInProcess:
    """One dbt command running on a thread of this process, read like a dbt process."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], project_dir: Path) -> None:
        # args[0] is the dbt executable dagster-dbt would have started (shown in its messages).
        self.args = list(args)
        self.pid = os.getpid()
        self.returncode: int | None = None
        read_end, write_end = os.pipe()
        self.stdout: IO[bytes] = os.fdopen(read_end, "rb")
        self._out = os.fdopen(write_end, "wb")
        self._write = threading.Lock()
        self._env = invocation_env(env, project_dir)
        # `--quiet`: errors only, as a dbt process prints (the manifest's parse under `dg`).
        self._quiet = "--quiet" in self.args or "-q" in self.args
        self._thread = threading.Thread(target=self._run, name="dbt", daemon=True)
        self._thread.start()

    def _line(self, text: str) -> None:
        # dbt fires events from its worker threads: one line at a time.
        with self._write:
            self._out.write(text.encode() + b"\n")
            self._out.flush()

    def _event(self, msg: Any) -> None:
        """An event of dbt's, as `dbt --log-format json` prints it: not the debug ones, which go
        to dbt.log only (a dbt process prints info and above, or errors only with --quiet)."""
        if msg.info.level == "error" or (msg.info.level != "debug" and not self._quiet):
            self._line(msg_to_json(msg))

    def _run(self) -> None:
        from dbt.cli.main import dbtRunner

        code = ERRORED
        try:
            with _one_at_a_time:
                try:
                    with environ(self._env):
                        result = dbtRunner(callbacks=[self._event]).invoke(self.args[1:])
                finally:
                    # Under the lock: the next invocation's database is not this one's to close.
                    release_duckdb()
            if result.exception is not None and not isinstance(result.exception, DbtBaseException):
                # Printed as is by dagster-dbt (not JSON): the traceback lands in the step's log.
                # dbt's own errors (a missing ref, bad SQL) it has already told in its events, as
                # a dbt process does ("Encountered an error: ..."), which prints no traceback.
                self._line("".join(traceback.format_exception(result.exception)).rstrip())
            code = 0 if result.success else (ERRORED if result.exception else FAILED)
        except BaseException:
            self._line(traceback.format_exc().rstrip())
            raise
        finally:
            self.returncode = code
            self._out.close()

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """dbt's exit code once it is done; None if it is still running after `timeout`."""
        self._thread.join(timeout)
        return self.poll()

    def send_signal(self, sig: int) -> None:  # noqa: ARG002 (Popen's signature)
        """What a run's interruption forwards to dbt (SIGINT). dbt on a thread cannot be
        interrupted from outside: it ends with the run's process, which an interrupted run ends
        (without waiting for dbt: InProcessDbtCliInvocation)."""
