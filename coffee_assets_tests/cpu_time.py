"""A pytest plugin (pyproject's addopts: `-p coffee_assets_tests.cpu_time`): each test's CPU
time, the processes it started included, and the costliest 25 at the end of the run.

The suite keeps both cores of the machine busy, so a test's wall time says little about what it
costs the whole run (it may wait for a schedule's tick while the other worker computes): its CPU
time does. A test's time is its setup, call and teardown in its worker, plus every process the
worker waited for meanwhile (Dagster's processes, dbt, PostgreSQL), with what those processes'
own children used: so a module's deployment counts in the test that starts it and the one that
stops it. Every test's figure goes to test-artifacts/cpu-seconds.json (git-ignored), the
costliest first.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

_KEY = "coffee_cpu_seconds"
_SHOWN = 25
_ARTIFACT = Path(__file__).resolve().parent.parent / "test-artifacts" / "cpu-seconds.json"
# nodeid -> CPU seconds, in each worker; the controller gathers the workers' when they finish.
_SECONDS: dict[str, float] = {}


def cpu_seconds() -> float:
    """This process's CPU time and that of the children it has waited for (and theirs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    began = cpu_seconds()
    yield
    _SECONDS[item.nodeid] = _SECONDS.get(item.nodeid, 0.0) + cpu_seconds() - began


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # a pytest-xdist worker: its figures go to the controller
        output[_KEY] = json.dumps(_SECONDS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ARG001 (pytest-xdist's hook)
    _SECONDS.update(json.loads(getattr(node, "workeroutput", {}).get(_KEY, "{}")))


def pytest_terminal_summary(terminalreporter) -> None:
    if not _SECONDS:
        return
    total = sum(_SECONDS.values())
    terminalreporter.write_sep(
        "=", f"CPU time: {total / 60:.1f} min in all; the costliest {_SHOWN} tests"
    )
    ranked = sorted(_SECONDS.items(), key=lambda item: -item[1])
    _ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    _ARTIFACT.write_text(json.dumps(dict(ranked), indent=1) + "\n")
    for nodeid, seconds in ranked[:_SHOWN]:
        terminalreporter.write_line(f"{seconds:8.1f}s {100 * seconds / total:5.1f}%  {nodeid}")
