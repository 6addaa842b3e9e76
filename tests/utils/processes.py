"""Service processes for end-to-end tests: workers and the API as real subprocesses."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

# Leases just above Optuna's grace period (20 s) plus its heartbeat (5 s): a SIGKILLed
# worker's trial is failed and re-queued by the time its slot frees (service.core.config).
FAST_ENV = {"HWSEARCH_HEARTBEAT_S": "1", "HWSEARCH_LEASE_S": "26", "HWSEARCH_POLL_S": "0.5"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(cache_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        **FAST_ENV,
        "HWSEARCH_CACHE_DIR": str(cache_dir),
        "PYTHONWARNINGS": "ignore",
    }


def start_worker(url: str, log: Path, cache_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker", "--db", url, "--log-level", "info"],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env=_env(cache_dir),
    )


def start_api(url: str, port: int, log: Path, cache_dir: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli",
            "api",
            "--db",
            url,
            "--port",
            str(port),
            "--no-dashboard",
        ],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env=_env(cache_dir),
    )
    wait_healthy(f"http://127.0.0.1:{port}", process)
    return process


def wait_healthy(base: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{base} did not become healthy in {timeout_s} s")


def stop(process: subprocess.Popen, timeout_s: float = 30) -> int:
    """SIGTERM, then SIGKILL; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
