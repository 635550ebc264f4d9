"""The container image's build, without a Docker engine: scripts/build-image.sh (what the
Dockerfile runs) in a fresh copy of the project, then the image's command, `dagster api grpc`,
serving the gcp target's definitions from the result."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .processes import code_server_serving, free_port, stop_group
from .test_definitions_snapshot import SNAPSHOT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of every `name` instruction (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(name + " ")]


def test_the_dockerfile_runs_the_build_script_as_a_user_without_privileges_and_no_secret():
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")
    assert instructions("RUN")[-1] == "bash scripts/build-image.sh"
    env = " ".join(instructions("ENV"))
    assert not re.search(r"(PASSWORD|TOKEN|SECRET|KEY)\w*=", env), env
    # Bytecode compiled at build: a pod starts with an empty writable layer, and compiling what
    # the definitions import costs ~9 s of CPU (15.6 s against 6.4 s to import them, measured).
    assert "UV_COMPILE_BYTECODE=1" in env.split(), env
    assert not instructions("ENTRYPOINT")  # the chart passes whole commands as arguments
    assert '"dagster", "api", "grpc", "-m", "coffee_assets.definitions"' in instructions("CMD")[0]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data", ".git", "coffee_dbt/target", ".env"} <= set(ignored)


def test_the_build_script_in_a_fresh_copy_makes_a_code_server_for_the_gcp_target(tmp_path):
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    fresh = tmp_path / "opt-coffee"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (fresh / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, fresh / name)
    outside = ("COFFEE_", "DAGSTER_", "VIRTUAL_ENV")  # the tests' own settings stay here
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    # The image compiles every package's bytecode (the Dockerfile's ENV, checked above): that is
    # uv's own step, 35 s of CPU here, and not what this test is about; what the smoke test and
    # the code server import is compiled as they import it.
    env["UV_COMPILE_BYTECODE"] = "0"
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT))
    )
    built = subprocess.run(
        ["bash", "scripts/build-image.sh"], cwd=fresh, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    # The same assets as the reviewed snapshot of the definitions (both targets share them).
    snapshot = json.loads(SNAPSHOT.read_text())
    assert f"{len(snapshot['assets'])} assets, the dbt manifest of the gcp target" in built.stdout
    for target in ("local", "gcp"):
        assert (fresh / "coffee_dbt" / "target" / target / "manifest.json").is_file()
    venv = fresh / ".venv"
    assert not (venv / "bin" / "pytest").exists()  # runtime packages only
    assert (venv / "bin" / "dbt").is_file()  # dbt-core: the runs run it in their own process

    # The image's command, with the environment a deployment gives it.
    port = free_port()
    run_env = env | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        "COFFEE_TARGET": "gcp",
        "COFFEE_GCP_PROJECT": "my-project",
        "COFFEE_GCS_BUCKET": "my-bucket",
        "COFFEE_BQ_LOCATION": "EU",
        "DAGSTER_HOME": str(tmp_path),
    }
    command = ["dagster", "api", "grpc", "-m", "coffee_assets.definitions"]
    server = subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        cwd=fresh, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not code_server_serving(port):
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "the code server did not answer in 120 s"
            time.sleep(1)
    finally:
        stop_group(server)
