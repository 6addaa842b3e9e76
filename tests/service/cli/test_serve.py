"""The embedded default end to end: `hwsearch serve`, then `submit` and `status` over HTTP."""

import json
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from service.core.db import make_engine, make_session_factory
from service.models import Worker
from tests.utils.databases import sqlite_url
from tests.utils.jobs import job_toml
from tests.utils.processes import FAST_ENV, free_port, wait_healthy

pytestmark = pytest.mark.slow


def _hwsearch(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_serve_submit_status_then_stop_cleanly(tmp_path):
    import os

    url, port = sqlite_url(tmp_path / "hwsearch.db"), free_port()
    env = {**os.environ, **FAST_ENV, "HWSEARCH_CACHE_DIR": str(tmp_path / "cache")}
    key_file = tmp_path / "key"
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--db",
            url,
            "--workers",
            "2",
            "--port",
            str(port),
            "--key-file",
            str(key_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", serve, timeout_s=120)
        client_env = {
            **env,
            "HWSEARCH_SERVER": f"http://127.0.0.1:{port}",
            "HWSEARCH_KEY": key_file.read_text().strip(),
        }
        job = tmp_path / "job.toml"
        job.write_text(job_toml(name="served", n_trials=6))
        submitted = _hwsearch("submit", str(job), "--wait", "--json", env=client_env)
        assert submitted.returncode == 0, submitted.stderr
        done = json.loads(submitted.stdout)
        assert done["status"] == "done" and done["progress"]["trials_complete"] == 6
        status = _hwsearch("status", str(done["id"]), env=client_env)
        assert status.returncode == 0 and "trials 6/6" in status.stdout
        assert "Pareto front of served" in status.stdout
        missing = _hwsearch("status", "99", env=client_env)
        assert missing.returncode == 2 and "404" in missing.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        output, _ = serve.communicate(timeout=60)
    assert serve.returncode == 0, output
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        workers = list(session.scalars(select(Worker)))
    engine.dispose()
    assert len(workers) == 2 and all(w.stopped_at is not None for w in workers), output
