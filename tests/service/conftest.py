"""Fixtures for service tests: an upgraded SQLite database per test (copied from one made
per session), the app and its client, keys of each scope, and one finished job to read."""

import shutil
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.core.config import Settings
from service.core.security import Scope
from service.main import create_app
from tests.utils.databases import sqlite_url, upgraded
from tests.utils.jobs import TOML_TYPE, job_toml
from tests.utils.keys import headers, make_key


def service_settings(url: str, cache_dir: Path, **overrides) -> Settings:
    return Settings(
        database_url=url, cache_dir=cache_dir, poll_s=0.1, heartbeat_s=1, lease_s=26, **overrides
    )


def run_worker_until_idle(settings: Settings, idle_s: float = 0.5) -> None:
    """One worker in this process, until there is nothing left to do."""
    from service.workers.runner import Worker

    Worker(settings, idle_exit_s=idle_s).run()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hwsearch.db"
    upgraded(sqlite_url(path))
    return path


@pytest.fixture
def db_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "hwsearch.db"
    shutil.copy(sqlite_template, path)
    return sqlite_url(path)


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return service_settings(db_url, tmp_path / "cache")


@pytest.fixture
def client(settings) -> TestClient:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def submit_headers(settings) -> dict[str, str]:
    return headers(make_key(settings.database_url, Scope.SUBMIT))


@pytest.fixture
def read_headers(settings) -> dict[str, str]:
    return headers(make_key(settings.database_url, Scope.READ))


class FinishedJob:
    """A digits-mlp job run to the end by one in-process worker, and a client to read it."""

    def __init__(self, client: TestClient, job_id: int, read: dict, settings: Settings):
        self.client, self.id, self.read, self.settings = client, job_id, read, settings

    def get(self, path: str, **kwargs):
        return self.client.get(f"/v1/jobs/{self.id}{path}", headers=self.read, **kwargs)


@pytest.fixture(scope="session")
def finished_job(sqlite_template, tmp_path_factory) -> FinishedJob:
    tmp = tmp_path_factory.mktemp("finished")
    shutil.copy(sqlite_template, tmp / "hwsearch.db")
    settings = service_settings(sqlite_url(tmp / "hwsearch.db"), tmp / "cache")
    submit = headers(make_key(settings.database_url, Scope.SUBMIT))
    read = headers(make_key(settings.database_url, Scope.READ))
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/jobs",
            content=job_toml(name="finished", n_trials=8, front_members=2),
            headers={**submit, **TOML_TYPE},
        )
        assert response.status_code == 201, response.text
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(sys.modules, "search.confirm", None)  # a build without RTL confirmation
            run_worker_until_idle(settings)
        yield FinishedJob(client, response.json()["id"], read, settings)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """One fresh PostgreSQL database for the session, upgraded; dropped at the end."""
    from tests.utils.databases import postgres_database

    with postgres_database() as url:
        upgraded(url)
        yield url
