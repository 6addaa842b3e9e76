"""The docs are served by the API itself (no CDN) and need no key; the OpenAPI document
says what the routes really answer."""

import re

from service.api.docs import ASSETS_URL


def test_docs_pages_load_their_files_from_the_api(client):
    for page, files in {
        "/docs": ["swagger-ui-bundle.js", "swagger-ui.css"],
        "/redoc": ["redoc.standalone.js"],
    }.items():
        response = client.get(page)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        external = re.findall(r"""(?:src|href)=["']?(https?:[^"'\s>]+)""", response.text)
        assert external == [], f"{page} loads {external}"
        for name in files:
            assert f"{ASSETS_URL}/{name}" in response.text
            asset = client.get(f"{ASSETS_URL}/{name}")
            assert asset.status_code == 200 and len(asset.content) > 10_000, name


def test_docs_and_schema_need_no_key_the_api_does(client):
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/v1/jobs").status_code == 401


def test_every_job_route_documents_its_errors_with_their_models(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if path != "/v1/health":
                assert {"401", "403"} <= codes, (method, path)
            if "{job_id}" in path:
                assert {"404", "422"} <= codes, (method, path)
                refs = {
                    code: operation["responses"][code]["content"]["application/json"]["schema"]
                    for code in ("401", "404", "422")
                }
                assert refs["404"] == {"$ref": "#/components/schemas/Message"}
                assert refs["422"] == {"$ref": "#/components/schemas/FieldErrors"}
    submit = paths["/v1/jobs"]["post"]["responses"]
    assert {"201", "409", "413", "415", "422"} <= set(submit)


def test_ids_and_offsets_are_documented_with_their_bounds(client):
    paths = client.get("/openapi.json").json()["paths"]
    job_id = next(
        p for p in paths["/v1/jobs/{job_id}"]["get"]["parameters"] if p["name"] == "job_id"
    )
    assert job_id["schema"]["minimum"] == 1 and job_id["schema"]["maximum"] == 2**31 - 1
    offset = next(p for p in paths["/v1/jobs"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 2**31 - 1


def test_trial_datetimes_carry_their_offset(finished_job):
    trials = finished_job.get("/trials").json()["data"]
    assert trials
    for trial in trials:
        for field in ("datetime_start", "datetime_complete"):
            assert trial[field] is None or trial[field].endswith("Z") or trial[field][-6] in "+-"
    job = finished_job.get("").json()
    assert job["created_at"].endswith(("Z", "+00:00"))


def test_docs_files_name_no_remote_host(client):
    for name in ("swagger-ui-bundle.js", "redoc.standalone.js"):
        script = client.get(f"{ASSETS_URL}/{name}").text
        assert not re.findall(r"https://cdn[\w.-]*/", script), name
