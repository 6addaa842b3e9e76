def test_health_needs_no_key(client):
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "ok"


def test_openapi_documents_the_job_spec_and_every_route(client):
    schema = client.get("/openapi.json").json()
    assert "JobSpec" in schema["components"]["schemas"]
    paths = set(schema["paths"])
    assert {
        "/v1/jobs",
        "/v1/jobs/{job_id}/front.png",
        "/v1/jobs/{job_id}/candidates/{number}/bundle",
        "/v1/metrics",
    } <= paths
    assert not any(p.startswith(("/api", "/static", "/csv", "/dashboard")) for p in paths)
    assert client.get("/docs").status_code == 200
