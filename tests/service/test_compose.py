"""docker-compose.yml kept honest without Docker: each service's command runs, with the
environment compose would give it, as a local process against a fresh PostgreSQL database
(migrate, then the API, the workers and the dashboard), and a job submitted over HTTP
finishes. Only what a container changes is adapted: the database host and credentials
(the test server's), listening on 127.0.0.1 on free ports, and `hwsearch` run from this
checkout."""

import base64
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.utils.databases import postgres_database
from tests.utils.jobs import TOML_TYPE, job_toml
from tests.utils.live import ROOT
from tests.utils.processes import free_port, stop

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

COMPOSE = ROOT / "docker-compose.yml"
PASSWORD = "compose-test"  # POSTGRES_PASSWORD, as an operator would export it
FINISHED = ("done", "failed", "cancelled")


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", one, value)


def _services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _environment(service: dict, database_url: str) -> dict[str, str]:
    """The service's environment, its database URL pointed at the test server (same driver,
    the test database, its user), on top of this process's (PATH and the like)."""
    declared = {
        key: _interpolate(str(value), {"POSTGRES_PASSWORD": PASSWORD})
        for key, value in (service.get("environment") or {}).items()
    }
    target = make_url(database_url)
    compose_url = make_url(declared["HWSEARCH_DATABASE_URL"])
    assert compose_url.drivername == target.drivername and compose_url.password == PASSWORD
    declared["HWSEARCH_DATABASE_URL"] = compose_url.set(
        username=target.username,
        password=target.password,
        host=target.host,
        port=target.port,
        database=target.database,
    ).render_as_string(hide_password=False)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore", **declared}


def _command(service: dict, port: int | None = None) -> list[str]:
    """The service's command, `hwsearch` run from this checkout, on 127.0.0.1:port."""
    command = list(service["command"])
    assert command[0] == "hwsearch"
    command[:1] = [sys.executable, "-m", "service.cli"]
    for option, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if option in command:
            command[command.index(option) + 1] = value
    return command


def _wait_healthy(service: dict, port: int, process: subprocess.Popen, env: dict) -> None:
    """The service's own healthcheck command, at its local port, until it passes."""
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    check = [arg.replace(":8000/", f":{port}/") for arg in test[1:]]
    check[0] = sys.executable if check[0] == "python" else check[0]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "the API exited"
        if subprocess.run(check, env=env, capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise TimeoutError("the API's healthcheck never passed")


def _key(services: dict, env: dict, cwd: Path) -> str:
    """`docker compose run --rm migrate hwsearch keys create --scope submit --name me`."""
    header = (COMPOSE.read_text().split("x-hwsearch")[0]).splitlines()
    line = next(x for x in header if "keys create" in x)
    args = line.split("migrate", 1)[1].split()
    assert args[0] == "hwsearch" and services["migrate"]
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", *args[1:], "--quiet"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_compose_services_run_a_job_as_local_processes(tmp_path):
    services = _services()
    assert {"postgres", "migrate", "api", "worker", "dashboard"} <= set(services)
    processes: list[subprocess.Popen] = []
    with postgres_database("hwsearch_compose") as url:
        env = {name: _environment(s, url) for name, s in services.items() if name != "postgres"}
        migrate = subprocess.run(
            _command(services["migrate"]),
            env=env["migrate"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        key = _key(services, env["migrate"], tmp_path)

        def start(name: str, port: int | None = None) -> subprocess.Popen:
            log = (tmp_path / f"{name}-{len(processes)}.log").open("w")
            process = subprocess.Popen(
                _command(services[name], port),
                env=env[name],
                cwd=tmp_path,  # relative paths (the cache) land here, not in the checkout
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append(process)
            return process

        try:
            api_port, dashboard_port = free_port(), free_port()
            api = start("api", api_port)
            for _ in range(services["worker"]["deploy"]["replicas"]):
                start("worker")
            start("dashboard", dashboard_port)
            _wait_healthy(services["api"], api_port, api, env["api"])

            base = f"http://127.0.0.1:{api_port}/v1"
            auth = {"X-API-Key": key}
            submitted = httpx.post(
                f"{base}/jobs",
                content=job_toml(name="compose", n_trials=4),
                headers={**auth, **TOML_TYPE},
                timeout=120,
            )
            assert submitted.status_code == 201, submitted.text
            job_id = submitted.json()["id"]
            deadline = time.monotonic() + 240
            while (job := httpx.get(f"{base}/jobs/{job_id}", headers=auth, timeout=60).json())[
                "status"
            ] not in FINISHED:
                assert time.monotonic() < deadline, job
                assert all(p.poll() is None for p in processes), "a service exited"
                time.sleep(1)
            assert job["status"] == "done", job
            assert job["progress"]["trials_complete"] == 4

            login = base64.b64encode(f"me:{key}".encode()).decode()
            studies = httpx.get(
                f"http://127.0.0.1:{dashboard_port}/api/studies",
                headers={"Authorization": f"Basic {login}"},
                timeout=60,
            )
            assert studies.status_code == 200, studies.text
            assert [s["study_name"] for s in studies.json()["study_summaries"]] == ["compose"]
        finally:
            codes = [stop(p) for p in reversed(processes)]
        assert all(code in (0, -15) for code in codes), (
            codes,
            {log.name: log.read_text()[-2000:] for log in tmp_path.glob("*.log")},
        )
