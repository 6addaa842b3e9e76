"""Ids, trial numbers, offsets and limits are bounded at the edge: out of range is a 422
naming the parameter, never a database error, on SQLite and on PostgreSQL alike."""

import pytest
from fastapi.testclient import TestClient

from service.api.deps import MAX_ID
from service.core.security import Scope
from service.main import create_app
from tests.service.conftest import service_settings
from tests.utils.keys import headers, make_key

TOO_LARGE = [MAX_ID + 1, 2**63, 10**40]
OUT_OF_RANGE = [0, -1, *TOO_LARGE]
JOB_PATHS = ["", "/trials", "/front", "/front.png", "/confirmations", "/candidates/0"]


def _refused(response, name: str) -> None:
    assert response.status_code == 422, response.text
    assert [e["loc"][-1] for e in response.json()["detail"]] == [name]


def _check_bounds(client: TestClient, read: dict, submit: dict) -> None:
    for job_id in OUT_OF_RANGE:
        for path in JOB_PATHS:
            _refused(client.get(f"/v1/jobs/{job_id}{path}", headers=read), "job_id")
        _refused(client.post(f"/v1/jobs/{job_id}/cancel", headers=submit), "job_id")
    for value in OUT_OF_RANGE[1:]:
        _refused(client.get(f"/v1/jobs?offset={value}", headers=read), "offset")
    _refused(client.get(f"/v1/jobs?limit={MAX_ID}", headers=read), "limit")
    # In range but absent: the truth is 404.
    assert client.get(f"/v1/jobs/{MAX_ID}", headers=read).status_code == 404
    assert client.post(f"/v1/jobs/{MAX_ID}/cancel", headers=submit).status_code == 404
    assert client.get(f"/v1/jobs?offset={MAX_ID}", headers=read).json()["data"] == []


def test_out_of_range_parameters_are_422_on_sqlite(client, read_headers, submit_headers):
    _check_bounds(client, read_headers, submit_headers)


def test_trial_numbers_are_bounded(finished_job):
    for number in (-1, MAX_ID + 1, 10**40):
        _refused(finished_job.get(f"/candidates/{number}"), "number")
        _refused(finished_job.get(f"/candidates/{number}/bundle"), "number")
    for value in OUT_OF_RANGE[1:]:
        _refused(finished_job.get(f"/trials?offset={value}"), "offset")
    assert finished_job.get(f"/candidates/{MAX_ID}").status_code == 404
    assert finished_job.get(f"/trials?offset={MAX_ID}").json()["data"] == []


@pytest.mark.postgres
def test_out_of_range_parameters_are_422_on_postgresql(postgres_url, tmp_path):
    settings = service_settings(postgres_url, tmp_path / "cache", dashboard=False)
    read = headers(make_key(postgres_url, Scope.READ))
    submit = headers(make_key(postgres_url, Scope.SUBMIT))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        _check_bounds(client, read, submit)
