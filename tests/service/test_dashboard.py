"""optuna-dashboard at /: a key to see it, the submit scope to change anything."""

import base64

from tests.utils.jobs import TOML_TYPE, job_toml


def _basic(headers: dict) -> dict:
    token = base64.b64encode(f"me:{headers['X-API-Key']}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_dashboard_needs_a_key(client):
    for path in ("/", "/dashboard", "/api/studies", "/static/bundle.js"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Basic")


def test_read_key_sees_studies_from_a_browser_login(client, submit_headers, read_headers):
    client.post("/v1/jobs", content=job_toml(name="seen"), headers={**submit_headers, **TOML_TYPE})
    response = client.get("/api/studies", headers=_basic(read_headers))
    assert response.status_code == 200
    assert [s["study_name"] for s in response.json()["study_summaries"]] == ["seen"]
    assert client.get("/dashboard", headers=_basic(read_headers)).status_code == 200


def test_read_key_cannot_write_through_the_dashboard(client, submit_headers, read_headers):
    client.post("/v1/jobs", content=job_toml(name="kept"), headers={**submit_headers, **TOML_TYPE})
    study_id = client.get("/api/studies", headers=read_headers).json()["study_summaries"][0][
        "study_id"
    ]
    assert client.delete(f"/api/studies/{study_id}", headers=read_headers).status_code == 403
    created = client.post(
        "/api/studies",
        json={"study_name": "sneaky", "directions": ["minimize"]},
        headers=read_headers,
    )
    assert created.status_code == 403
    names = [
        s["study_name"]
        for s in client.get("/api/studies", headers=read_headers).json()["study_summaries"]
    ]
    assert names == ["kept"]


def test_submit_key_may_write_through_the_dashboard(client, submit_headers):
    created = client.post(
        "/api/studies",
        json={"study_name": "scratch", "directions": ["minimize"]},
        headers=submit_headers,
    )
    assert created.status_code == 201, created.text


def test_static_files_answer_clients_sending_no_accept_encoding(client, read_headers):
    """optuna-dashboard 0.21 raised KeyError (500) on a request without Accept-Encoding."""
    for path in ("/static/bundle.js", "/favicon.ico"):
        request = client.build_request("GET", path, headers=read_headers)
        del request.headers["accept-encoding"]
        response = client.send(request)
        assert response.status_code == 200, path
        assert "content-encoding" not in response.headers
        assert response.content
    gzipped = client.get("/static/bundle.js", headers={**read_headers, "Accept-Encoding": "gzip"})
    assert gzipped.status_code == 200 and gzipped.headers["content-encoding"] == "gzip"
