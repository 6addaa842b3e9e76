"""Submitted documents within limits: deep nesting, long integers and non-finite numbers are
a 422 naming the problem (never a 500), as JSON, TOML and the multipart spec field."""

import json

import pytest

from service.documents import MAX_DEPTH
from tests.utils.jobs import JSON_TYPE, TOML_TYPE, job_dict, job_toml


def _post(client, headers, content: str, media: dict):
    return client.post("/v1/jobs", content=content, headers={**headers, **media})


@pytest.mark.parametrize(
    ("content", "media", "kind"),
    [
        ("[" * 100_000 + "]" * 100_000, JSON_TYPE, "too_deep"),
        ("a = " + "[" * 100_000 + "]" * 100_000 + "\n", TOML_TYPE, "too_deep"),
        ('{"name": "x", "calibration_samples": ' + "9" * 5000 + "}", JSON_TYPE, "number_too_long"),
        ("name = 'x'\ncalibration_samples = " + "9" * 5000 + "\n", TOML_TYPE, "number_too_long"),
        ('{"name": "x", "budget": {"timeout_s": Infinity}}', JSON_TYPE, "non_finite"),
        ('{"name": "x", "clock_mhz": NaN}', JSON_TYPE, "non_finite"),
        ("name = 'x'\nclock_mhz = inf\n", TOML_TYPE, "non_finite"),
    ],
)
def test_documents_beyond_the_limits_are_422(client, submit_headers, content, media, kind):
    response = _post(client, submit_headers, content, media)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["type"] == kind and error["loc"] == ["body"]


def test_the_multipart_spec_field_is_bounded_too(client, submit_headers):
    spec = json.dumps(job_dict()).replace(
        '"budget": {', '"budget": {"x": ' + "[" * 200 + "]" * 200 + ", ", 1
    )
    response = client.post("/v1/jobs", files={"spec": (None, spec)}, headers=submit_headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "spec"]
    assert f"deeper than {MAX_DEPTH}" in response.json()["detail"][0]["msg"]


def test_specs_within_the_limits_are_still_accepted(client, submit_headers):
    assert _post(client, submit_headers, job_toml(), TOML_TYPE).status_code == 201
