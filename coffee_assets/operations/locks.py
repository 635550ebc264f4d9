"""Exclusive locks on the DuckDB warehouse that no crash can leave behind.

DuckDB allows one writing process per file. A run that uses the warehouse holds `RUN_LOCK` for
its whole execution, so two runs never interleave their steps (one run's dbt between another's
loads and reports); dbt runs in the run's process (operations/dbt_in_process.py), under the same
lock. It is an operating-system file lock (flock): the kernel releases it when the process that
holds it dies, however it dies, so a killed run never blocks the next one.

Whoever holds a lock writes who it is next to it (`<lock>.holder`), so a run that has to wait
says which run, which process and since when, every `log_every` seconds, and gives up with that
message after `timeout` seconds.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

RUN_LOCK = ".run.lock"


class WarehouseBusyError(Exception):
    """The warehouse stayed locked by another process for longer than the wait allows."""


def lock_path(warehouse_file: str | Path, suffix: str) -> Path:
    return Path(str(warehouse_file) + suffix)


def describe_holder(lock_file: Path) -> str:
    """Who holds (or last held) a lock, as its holder file says."""
    try:
        holder = json.loads(lock_file.with_name(lock_file.name + ".holder").read_text())
    except (OSError, ValueError):
        return "an unknown process"
    parts = [holder.get("what", "a process")]
    parts.append(f"pid {holder.get('pid')} on {holder.get('host')}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return ", ".join(parts)


@dataclass
class HeldLock:
    lock: FileLock
    path: Path

    def release(self) -> None:
        self.lock.release()


def acquire(
    path: Path,
    what: str,
    *,
    resource: str,
    timeout: float,
    log: Callable[[str], None],
    log_every: float = 30.0,
) -> HeldLock:
    """Take the lock at `path` on `resource` (named in messages), waiting at most `timeout`
    seconds; `what` describes the holder (e.g. "run 1234 (daily_refresh)")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), mode=0o666, is_singleton=False)
    started = time.monotonic()
    next_message = started
    while True:
        try:
            lock.acquire(timeout=min(log_every, 1.0))
            break
        except Timeout:
            waited = time.monotonic() - started
            holder = describe_holder(path)
            if waited >= timeout:
                raise WarehouseBusyError(
                    f"{resource} is still in use by {holder} after {waited:.0f} s of waiting; "
                    f"try again when it has finished"
                ) from None
            if time.monotonic() >= next_message:
                log(f"waiting for {resource}: it is in use by {holder} ({waited:.0f} s so far)")
                next_message += log_every
    holder_file = path.with_name(path.name + ".holder")
    holder_file.write_text(
        json.dumps(
            {
                "what": what,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            }
        )
    )
    return HeldLock(lock, path)
