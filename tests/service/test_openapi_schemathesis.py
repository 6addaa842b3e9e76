"""Schemathesis against the live API on loopback: requests generated from the app's own
OpenAPI document (examples, coverage, fuzzing, stateful phases), zero failures of its
default checks (no 5xx, statuses, bodies and headers as documented, schema-valid requests
accepted, invalid ones refused). A job exists, so routes below /jobs/{job_id} are reached."""

import subprocess
import sys
from pathlib import Path

import pytest

from service.core.security import Scope
from tests.utils.keys import make_key
from tests.utils.live import child_env, copy_sqlite, live_api

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 25  # per operation and phase: about 80 s in all on two cores


@pytest.fixture
def api(finished_job, tmp_path):
    """The API with the dashboard (as `hwsearch serve` runs it) over a copy of the finished
    job's database, and a submit key."""
    url = copy_sqlite(finished_job.settings.database_url, tmp_path)
    key = make_key(url, Scope.SUBMIT)
    with live_api(url, tmp_path) as base:
        yield base, key


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed")
def test_schemathesis_finds_no_failures(api, tmp_path):
    base, key = api
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"X-API-Key: {key}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            "1",
            "--seed",
            "2",
            "--request-timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=child_env(SCHEMATHESIS_HOOKS="tests.service.schemathesis_hooks"),
        timeout=600,
    )
    api_log = (tmp_path / "api.log").read_text()[-5000:]
    assert result.returncode == 0, f"{result.stdout[-20000:]}\n{result.stderr}\n{api_log}"
    assert "Failures:" not in result.stdout
