"""Below the API prefix the API answers, also where the dashboard (mounted at /) would
catch the request: 405 with every method of the path in `Allow`, 404 for unknown paths."""

import pytest


@pytest.mark.parametrize("dashboard", [True, False])
def test_unsupported_methods_are_405_with_the_paths_methods(settings, dashboard):
    from fastapi.testclient import TestClient

    from service.main import create_app

    app = create_app(settings.model_copy(update={"dashboard": dashboard}))
    with TestClient(app) as client:
        for method, path, allow in [
            ("OPTIONS", "/v1/jobs", "GET, HEAD, POST"),
            ("DELETE", "/v1/jobs/1", "GET, HEAD"),
            ("QUERY", "/v1/health", "GET, HEAD"),
            ("GET", "/v1/jobs/1/cancel", "POST"),
        ]:
            response = client.request(method, path)
            assert response.status_code == 405, (method, path, response.text)
            assert response.headers["allow"] == allow
        missing = client.get("/v1/no-such-thing")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


def test_the_json_submission_schema_names_what_the_api_checks(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    branches = {b["title"]: b["properties"] for b in schemas["JobSubmission"]["oneOf"]}
    assert "jsc-mlp" not in branches  # its dataset is the user's file: multipart only
    mlp = branches["digits-mlp"]
    assert "dataset_path" not in mlp
    assert mlp["model"]["const"] == "digits-mlp"
    assert set(mlp["layers"]["propertyNames"]["enum"]) == {"fc1", "fc2", "fc3", "linear", "conv2d"}
    assert "accuracy" in mlp["objectives"]["items"]["enum"]
    assert "xc7a100t" in mlp["device"]["enum"]
    assert schemas["Budget"]["anyOf"]
