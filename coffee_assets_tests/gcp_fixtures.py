"""The GCS and BigQuery emulators, started on free loopback ports for the gcp-target tests.

gcp-storage-emulator keeps objects as plain files under `<dir>/.cloudstorage/<bucket>/<key>`,
and bqemulator reads `gs://` URIs from that same folder (BQEMU_GCS_LOCAL_ROOT), so a load job
sees exactly what the GCS client uploaded. Both run from their own venvs in .emulators/
(scripts/install-emulators.sh, run here when missing), each with its own temp folder and HOME.

pytest only auto-loads conftest.py: test modules import the fixtures from here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from coffee_assets.core.project import PROJECT_ROOT
from coffee_assets.defs.dbt.project import dbt_project

from .processes import free_port

EMULATORS_DIR = PROJECT_ROOT / ".emulators"
INSTALL_SCRIPT = PROJECT_ROOT / "scripts" / "install-emulators.sh"
PROJECT = "test-project"
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 15


@dataclass(frozen=True)
class Emulators:
    storage_host: str  # http://127.0.0.1:PORT
    bigquery_host: str
    project: str
    data_dir: Path  # the GCS emulator's folder (objects under .cloudstorage/<bucket>/)

    def env(self) -> dict[str, str]:
        """What a process needs to talk to the emulators instead of Google."""
        return {
            "STORAGE_EMULATOR_HOST": self.storage_host,
            "BIGQUERY_EMULATOR_HOST": self.bigquery_host,
        }


def prepare_gcp_manifest() -> None:
    """The gcp target's dbt manifest (coffee_dbt/target/gcp), as the image build prepares it,
    with the gcp settings the caller has put in the environment. One test process at a time:
    pytest-xdist's workers share the project folder, and two parses writing the same target
    folder at once leave it half written."""
    project = dbt_project("gcp")
    target = Path(project.project_dir) / "target"
    target.mkdir(exist_ok=True)
    with FileLock(str(target / "gcp.prepare.lock")):
        project.preparer.prepare(project)


def ensure_installed() -> None:
    """Run the (idempotent, pinned) install script; it does nothing when all is in place."""
    subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True, cwd=PROJECT_ROOT)


def _wait_healthy(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:  # answering, even if not with 200
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(
        f"{url} did not answer within {START_TIMEOUT_S}s:\n{log.read_text()[-3000:]}"
    )


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path, health_url: str) -> Iterator[None]:
    with open(log, "wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(process, health_url, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def run_emulators(workdir: Path) -> Iterator[Emulators]:
    """Both emulators on free 127.0.0.1 ports, with their state in workdir; stopped on exit."""
    ensure_installed()
    gcs_dir = workdir / "gcs"
    home = workdir / "bq-home"
    gcs_dir.mkdir(parents=True)
    # DuckDB (inside bqemulator) loads the spatial extension from $HOME/.duckdb; offline it cannot
    # download it, so the HOME gets a copy of the one the install script placed.
    shutil.copytree(EMULATORS_DIR / "bq-home", home)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("BQEMU_", "GOOGLE_"))}
    gcs_port, rest_port, grpc_port = free_port(), free_port(), free_port()
    with ExitStack() as stack:
        stack.enter_context(
            _process(
                [
                    str(EMULATORS_DIR / "gcs-venv" / "bin" / "gcp-storage-emulator"),
                    "-d",
                    str(gcs_dir),
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(gcs_port),
                    "-q",
                ],
                {**base_env, "HOME": str(home)},
                workdir / "gcs-emulator.log",
                f"http://127.0.0.1:{gcs_port}/storage/v1/b?project={PROJECT}",
            )
        )
        stack.enter_context(
            _process(
                [
                    str(EMULATORS_DIR / "bq-venv" / "bin" / "bqemulator"),
                    "start",
                    "--rest-host",
                    "127.0.0.1",
                    "--rest-port",
                    str(rest_port),
                    "--grpc-host",
                    "127.0.0.1",
                    "--grpc-port",
                    str(grpc_port),
                    "--project",
                    PROJECT,
                    "--log-level",
                    "warning",
                ],
                {
                    **base_env,
                    "HOME": str(home),
                    "BQEMU_GCS_LOCAL_ROOT": str(gcs_dir / ".cloudstorage"),
                },
                workdir / "bq-emulator.log",
                f"http://127.0.0.1:{rest_port}/healthz",
            )
        )
        yield Emulators(
            storage_host=f"http://127.0.0.1:{gcs_port}",
            bigquery_host=f"http://127.0.0.1:{rest_port}",
            project=PROJECT,
            data_dir=gcs_dir,
        )


@pytest.fixture(scope="module")
def gcp_emulators(tmp_path_factory) -> Iterator[Emulators]:
    """The emulators for one module, stopped after its last test (two modules use them, on
    whichever workers; idle, they would spend CPU until the session ends)."""
    with run_emulators(tmp_path_factory.mktemp("gcp-emulators")) as emulators:
        yield emulators
