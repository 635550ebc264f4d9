"""The code server's watchdog, for the production shape on one machine (scripts/prod-local.sh).

`dagster code-server start` is a proxy: an outer process that answers health checks and runs
the real server (`dagster api grpc`) as an inner process. When the inner one dies, the outer one
stays up and green, the code location is unreachable until someone presses Reload, and the runs
it launched are left STARTED, holding their pools, until run_health (a sensor, evaluated by
that same code server) can look at them. The watchdog asks the inner process every few seconds
(a ping, which the proxy forwards); after two missed pings it

* fails the runs whose process died (the run books' recovery, as run_health does) and frees
  their pool slots, whether the outer process answers or not;
* asks the outer process to start a new inner one (what the UI's Reload does), at most once a
  minute, when the outer one still answers; when nothing answers, prod-local.sh restarts the
  code server and the watchdog keeps failing dead runs until it is back.

    python -m coffee_assets.operations.watchdog PORT [SECONDS]
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import dagster as dg

from coffee_assets.operations.books import recover_dead_runs
from coffee_assets.operations.dagster_internals import code_server_client

MISSES = 2  # a reload in progress, a busy moment: one missed ping is not yet a dead server
RELOAD_EVERY_SECONDS = 60  # a location that fails to load is not reloaded every few seconds


def _answers(call: Callable[[], object]) -> bool:
    try:
        call()
        return True
    except Exception:
        return False


class Watchdog:
    def __init__(self, port: int, log: logging.Logger):
        self.port = port
        self.log = log
        self.client = code_server_client("127.0.0.1", port)
        self.instance: dg.DagsterInstance | None = None
        self.state = "up"  # up, inner (the inner process is dead), down (nothing answers)
        self.misses = 0
        self.next_reload = 0.0

    def fail_dead_runs(self) -> None:
        try:
            self.instance = self.instance or dg.DagsterInstance.get()
            recover_dead_runs(self.instance, self.log)
        except Exception as error:  # PostgreSQL away too: next time
            self.log.warning(f"could not look for dead runs: {error}")

    def look(self) -> None:
        """One look at the code server, and what it calls for."""
        if _answers(lambda: self.client.ping("watchdog")):  # forwarded to the inner process
            if self.state != "up":
                self.log.info("the code server answers again")
            self.state, self.misses = "up", 0
            return
        self.misses += 1
        if self.misses < MISSES:
            return
        if not _answers(lambda: self.client.heartbeat("watchdog")):  # the outer one answers it
            if self.state != "down":
                self.log.error(
                    f"the code server on port {self.port} does not answer: failing the runs "
                    f"whose process died with it until it is back"
                )
            self.state = "down"
            self.fail_dead_runs()
            return
        if self.state != "inner":
            self.log.error(
                "the code server's inner process (dagster api grpc) does not answer: failing the "
                "runs whose process died with it, and starting a new one (as the UI's Reload does)"
            )
        self.state = "inner"
        self.fail_dead_runs()
        if time.monotonic() < self.next_reload:
            return
        self.next_reload = time.monotonic() + RELOAD_EVERY_SECONDS
        error: Exception | None = None
        try:
            self.client.reload_code(timeout=300)
        except Exception as raised:  # also when only telling the dead one to stop failed
            error = raised
        if _answers(lambda: self.client.ping("watchdog")):
            self.log.info("the code server started a new inner process")
            self.state, self.misses = "up", 0
        else:
            self.log.error(f"the code server did not start a new inner process: {error}")


def main(argv: list[str]) -> None:
    port = int(argv[0])
    interval = float(argv[1]) if len(argv) > 1 else 5.0
    log = logging.getLogger("coffee.watchdog")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s watchdog: %(message)s"))
    log.addHandler(handler)
    log.info(f"watching the code server on 127.0.0.1:{port} every {interval:g} s")
    watchdog = Watchdog(port, log)
    while True:
        time.sleep(interval)
        watchdog.look()


if __name__ == "__main__":
    main(sys.argv[1:])
