"""Helpers for tests that start servers: free loopback ports, stopping a process group, finding
what a test left running."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

# Ports handed out come from below the kernel's ephemeral range (32768-60999 by default), which
# outgoing connections draw their source ports from: a port that bind(0) found free is in that
# range, and any client (another worker's HTTP or gRPC call) can take it as its source port before
# the server binds it ("address already in use", seen in CI). Each xdist worker has its own slice,
# so two workers never pick the same port, and a process never hands out the same port twice.
_PORT_FLOOR, _PORT_SLICE, _SLICES = 20000, 1500, 8
_handed_out: set[int] = set()


def _port_slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... or "" without xdist
    index = int(worker[2:]) + 1 if worker.startswith("gw") else 0
    start = _PORT_FLOOR + (index % _SLICES) * _PORT_SLICE
    return range(start, start + _PORT_SLICE)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, that no outgoing connection can
    take meanwhile and that no other test worker is given."""
    candidates = [port for port in _port_slice() if port not in _handed_out]
    random.shuffle(candidates)  # two sessions side by side rarely try the same port first
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in {_port_slice()}")


def code_server_serving(port: int, host: str = "127.0.0.1", timeout: float = 5) -> bool:
    """Whether a code server (`dagster api grpc` or `dagster code-server start`) says it serves:
    the standard gRPC health check it registers, the one `dagster api grpc-health-check` sends,
    asked from this process (the command costs 1.3 s of CPU to start, each time it polls)."""
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        request = health_pb2.HealthCheckRequest(service="DagsterApi")
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(request, timeout=timeout)
        except grpc.RpcError:
            return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


def stop_group(proc: subprocess.Popen, timeout: float = 300) -> None:
    """Stop a process started with start_new_session=True, and every process of its group:
    SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def pause(pid: int, timeout: float = 60) -> None:
    """SIGSTOP a process and return once every thread of it has stopped. kill() only sends the
    signal: a thread running on another core goes on until the kernel interrupts it, so what it
    was writing (a commit, say) can land after kill() returns. Looking at the process's effects
    is only certain once /proc shows every thread stopped ('T')."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while True:
        try:
            states = [
                (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                for task in Path(f"/proc/{pid}/task").iterdir()
            ]
        except FileNotFoundError:  # the process (or a thread, meanwhile) is gone
            if not Path(f"/proc/{pid}").exists():
                return
            continue
        if all(state in ("T", "t", "Z", "X") for state in states):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} not stopped after {timeout:.0f} s: {states}")
        time.sleep(0.001)


def processes_mentioning(text: str) -> list[str]:
    """The live processes (not zombies) whose command line or environment holds `text`, e.g. a
    test's temporary folder: servers started with it in their environment (COFFEE_DATA_DIR),
    whatever their command line says, and everything they started. Described one a line."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE or process.pid == os.getpid():
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
            if text in cmdline or any(text in value for value in process.environ().values()):
                found.append(f"{process.pid} {cmdline[:200]}")
        except psutil.Error:  # gone meanwhile, or another user's (not ours to find)
            continue
    return found


def holds_file(pid: int, path: Path) -> bool:
    """Whether the process has the file open."""
    try:
        return any(f.path == str(path) for f in psutil.Process(pid).open_files())
    except psutil.Error:
        return False


def file_holders(path: Path) -> list[int]:
    """Every process that has the file open."""
    return [p.pid for p in psutil.process_iter() if holds_file(p.pid, path)]


def step_ended(instance: Any, run_id: str, step: str) -> bool:
    """Whether the run's step has succeeded or failed (its event in the instance)."""
    import dagster as dg

    ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    return any(entry.step_key == step for entry in instance.all_logs(run_id, of_type=ends))


def in_dbt_writing(pid: int, instance: Any, run_id: str, warehouse: Path) -> bool:
    """Whether the (paused) run is in its dbt step with the warehouse open: dbt runs on a thread
    of the run's process. A process stopped in the middle of a commit holds SQLite's write lock:
    the look then fails, and counts as no."""
    import sqlalchemy.exc

    if not holds_file(pid, warehouse):
        return False
    try:
        return not step_ended(instance, run_id, "coffee_dbt_models")
    except sqlalchemy.exc.OperationalError:
        return False
