import json

import pytest

from service.core.security import Scope
from tests.utils.jobs import JSON_TYPE, TOML_TYPE, job_dict, job_json, job_toml
from tests.utils.keys import headers, make_key
from tests.utils.uploads import (
    _OpensFile,
    malicious_pickle,
    npz_dataset_bytes,
    onnx_mlp_bytes,
    pt2_bytes,
    pt2_mlp_bytes,
    pt2_with_pickled_weight,
)


def _post(client, body: str, auth: dict, content_type: dict = JSON_TYPE):
    return client.post("/v1/jobs", content=body, headers={**auth, **content_type})


def _locs(response) -> list[list]:
    return [d["loc"] for d in response.json()["detail"]]


def test_submit_toml_creates_a_queued_job_and_its_study(client, submit_headers, settings):
    import optuna

    from search import JobSpec

    response = _post(client, job_toml(name="toml-job"), submit_headers, TOML_TYPE)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "queued" and job["name"] == "toml-job"
    assert job["progress"]["n_trials"] == 6 and job["progress"]["trials_complete"] == 0
    detail = client.get(f"/v1/jobs/{job['id']}", headers=submit_headers).json()
    spec = JobSpec.model_validate(detail["spec"])  # the job row holds the spec
    study = optuna.load_study(study_name="toml-job", storage=settings.database_url)
    assert spec.budget.n_trials == 6 and study.metric_names == ["accuracy", "throughput"]
    assert "job_spec" not in study.user_attrs  # stored once


def test_submit_json_then_list_and_read(client, submit_headers, read_headers):
    created = _post(client, job_json(name="json-job"), submit_headers).json()
    listed = client.get("/v1/jobs", headers=read_headers).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == created["id"]
    job = client.get(f"/v1/jobs/{created['id']}", headers=read_headers).json()
    assert job["spec"]["name"] == "json-job" and job["front"] == []


def test_same_name_twice_is_a_conflict(client, submit_headers):
    assert _post(client, job_json(name="twice"), submit_headers).status_code == 201
    response = _post(client, job_json(name="twice"), submit_headers)
    assert response.status_code == 409 and _locs(response) == [["body", "name"]]


@pytest.mark.parametrize(
    ("body", "content_type", "loc"),
    [
        ('{"name": "x", "model": ', JSON_TYPE, ["body"]),
        ('name = "x"\nmodel = \n', TOML_TYPE, ["body"]),
        ("[1, 2]", JSON_TYPE, ["body"]),
        (job_json(model="lenet-9"), JSON_TYPE, ["body", "model"]),
        (job_json(n_trials=0), JSON_TYPE, ["body", "budget", "n_trials"]),
        (job_json(n_trials=-3), JSON_TYPE, ["body", "budget", "n_trials"]),
        (job_json(n_trials=True), JSON_TYPE, ["body", "budget", "n_trials"]),
        (job_json(n_trials=10**9), JSON_TYPE, ["body", "budget", "n_trials"]),
        (
            job_json(budget={"n_trials": 5, "timeout_s": 1e300}),
            JSON_TYPE,
            ["body", "budget", "timeout_s"],
        ),
        (job_toml(n_trials=3, front_members=4), TOML_TYPE, ["body", "confirm", "front_members"]),
        (job_json(sampler={"seed": 2**63}), JSON_TYPE, ["body", "sampler", "seed"]),
        (job_json(calibration_samples=10**12), JSON_TYPE, ["body", "calibration_samples"]),
        (
            job_json(
                model="char-gpt",
                device="zcu102",
                objectives=["cross_entropy", "throughput"],
                front_members=1,
            ),
            JSON_TYPE,
            ["body", "confirm", "front_members"],
        ),
        (job_json(device="vu19p"), JSON_TYPE, ["body", "device"]),
        (job_json(objectives=["speed"]), JSON_TYPE, ["body", "objectives"]),
        (job_json(colour="red"), JSON_TYPE, ["body", "colour"]),
        (job_json(layers={"fc9": {"w_bits": [4]}}), JSON_TYPE, ["body", "layers", "fc9"]),
        (job_json(dataset_path="/etc/passwd"), JSON_TYPE, ["body", "dataset_path"]),
        (
            json.dumps(job_dict(model={"path": "/etc/passwd", "format": "onnx", "dataset": "x"})),
            JSON_TYPE,
            ["body", "model"],
        ),
    ],
)
def test_bad_specs_get_a_422_naming_the_field(client, submit_headers, body, content_type, loc):
    response = _post(client, body, submit_headers, content_type)
    assert response.status_code == 422, response.text
    assert _locs(response) == [loc], response.json()


def test_a_failed_submission_leaves_no_study_behind(client, submit_headers, settings, monkeypatch):
    import optuna

    from service import crud

    def failing_insert(**_kwargs):
        raise RuntimeError("insert failed")

    with monkeypatch.context() as patch:
        patch.setattr(crud, "create_job", failing_insert)
        with pytest.raises(RuntimeError, match="insert failed"):
            _post(client, job_json(name="atomic"), submit_headers)
    assert "atomic" not in optuna.get_all_study_names(storage=settings.database_url)
    response = _post(client, job_json(name="atomic"), submit_headers)
    assert response.status_code == 201, response.text


def test_a_conflicting_name_deletes_no_one_elses_study(client, submit_headers, settings):
    import optuna

    assert _post(client, job_json(name="mine"), submit_headers).status_code == 201
    assert _post(client, job_json(name="mine"), submit_headers).status_code == 409
    assert "mine" in optuna.get_all_study_names(storage=settings.database_url)


def test_an_objective_the_models_task_lacks_is_a_422(client, submit_headers, monkeypatch):
    from typing import ClassVar

    from search import tasks

    class RankedTask(tasks.ClassificationTask):
        metrics: ClassVar[dict[str, str]] = {
            **tasks.ClassificationTask.metrics,
            "rank": tasks.MINIMIZE,
        }

    monkeypatch.setitem(tasks.TASKS, "ranked", RankedTask)  # a metric some task declares
    response = _post(client, job_json(objectives=["rank", "throughput"]), submit_headers)
    assert response.status_code == 422 and _locs(response) == [["body", "objectives"]]
    assert "not metrics of the task ClassificationTask" in response.json()["detail"][0]["msg"]


def test_unknown_model_lists_the_zoo(client, submit_headers):
    response = _post(client, job_json(model="lenet-9"), submit_headers)
    assert "digits-mlp" in response.json()["detail"][0]["msg"]


def test_unsupported_content_type_is_415(client, submit_headers):
    response = _post(client, "name: x", submit_headers, {"Content-Type": "application/yaml"})
    assert response.status_code == 415 and _locs(response) == [["header", "content-type"]]


def test_oversized_spec_is_413(client, submit_headers):
    body = job_json(name="big") + " " * (300 * 1024)
    response = _post(client, body, submit_headers)
    assert response.status_code == 413 and _locs(response) == [["body"]]


def test_multipart_onnx_model_and_npz_dataset(client, submit_headers, read_headers, settings):
    spec = job_toml(name="user-mlp", n_trials=4)
    files = {"model": ("mine.onnx", onnx_mlp_bytes()), "dataset": ("d.npz", npz_dataset_bytes())}
    response = client.post("/v1/jobs", data={"spec": spec}, files=files, headers=submit_headers)
    assert response.status_code == 201, response.text
    job = client.get(f"/v1/jobs/{response.json()['id']}", headers=read_headers).json()
    assert job["spec"]["model"] == {
        "path": "model.onnx",
        "format": "onnx",
        "dataset": "dataset.npz",
    }
    assert job["model"] == "model.onnx"


def test_multipart_pt2_model_and_npz_dataset(client, submit_headers, read_headers):
    spec = job_toml(name="user-pt2", n_trials=4)
    files = {"model": ("mine.pt2", pt2_mlp_bytes()), "dataset": ("d.npz", npz_dataset_bytes())}
    response = client.post("/v1/jobs", data={"spec": spec}, files=files, headers=submit_headers)
    assert response.status_code == 201, response.text
    job = client.get(f"/v1/jobs/{response.json()['id']}", headers=read_headers).json()
    assert job["spec"]["model"] == {
        "path": "model.pt2",
        "format": "pt2",
        "dataset": "dataset.npz",
    }


def test_pt2_layer_overrides_name_the_users_modules(client, submit_headers):
    spec = job_dict(name="user-pt2-layers", n_trials=4, layers={"fc2": {"w_bits": [8]}})
    files = {"model": ("m.pt2", pt2_mlp_bytes()), "dataset": ("d.npz", npz_dataset_bytes())}
    response = client.post(
        "/v1/jobs", data={"spec": json.dumps(spec)}, files=files, headers=submit_headers
    )
    assert response.status_code == 201, response.text


def test_pt2_with_a_pickled_weight_is_refused_and_never_loaded(client, submit_headers, tmp_path):
    marker = tmp_path / "unpickled"
    files = {
        "model": ("m.pt2", pt2_with_pickled_weight(pt2_mlp_bytes(), marker)),
        "dataset": ("d.npz", npz_dataset_bytes()),
    }
    response = client.post(
        "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and _locs(response) == [["body", "model"]]
    assert "pickle" in response.json()["detail"][0]["msg"]
    assert not marker.exists()


def test_torch_save_zip_named_pt2_is_refused_and_never_loaded(client, submit_headers, tmp_path):
    import io

    import torch

    marker = tmp_path / "unpickled"
    buffer = io.BytesIO()
    torch.save({"model": _OpensFile(marker)}, buffer)
    files = {"model": ("m.pt2", buffer.getvalue()), "dataset": ("d.npz", npz_dataset_bytes())}
    response = client.post(
        "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and _locs(response) == [["body", "model"]]
    assert "not a torch.export .pt2 archive" in response.json()["detail"][0]["msg"]
    assert not marker.exists()


def test_pt2_with_an_unsupported_op_names_it(client, submit_headers):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 3)).eval()
    files = {
        "model": ("m.pt2", pt2_bytes(model, torch.zeros(2, 8))),
        "dataset": ("d.npz", npz_dataset_bytes()),
    }
    response = client.post(
        "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and _locs(response) == [["body", "model"]]
    msg = response.json()["detail"][0]["msg"]
    assert msg.startswith("model.pt2: ") and "torch.ops.aten.sigmoid" in msg


def test_multipart_model_layer_overrides_are_checked(client, submit_headers):
    spec = job_dict(name="user-bad-layer", layers={"fc3": {"w_bits": [4]}})
    files = {"model": ("m.onnx", onnx_mlp_bytes()), "dataset": ("d.npz", npz_dataset_bytes())}
    response = client.post(
        "/v1/jobs", data={"spec": json.dumps(spec)}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and _locs(response) == [["body", "spec", "layers", "fc3"]]


def test_pickle_posted_as_model_is_refused_and_never_loaded(client, submit_headers, tmp_path):
    marker = tmp_path / "unpickled"
    for name in ("model.pt", "model.onnx"):
        files = {
            "model": (name, malicious_pickle(marker)),
            "dataset": ("d.npz", npz_dataset_bytes()),
        }
        response = client.post(
            "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
        )
        assert response.status_code == 422, response.text
        assert _locs(response) == [["body", "model"]]
        assert "pickle" in response.json()["detail"][0]["msg"]
    assert not marker.exists()


def test_torch_save_zip_posted_as_model_is_refused(client, submit_headers):
    files = {
        "model": ("model.onnx", b"PK\x03\x04" + b"\0" * 64),
        "dataset": ("d.npz", npz_dataset_bytes()),
    }
    response = client.post(
        "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and "zip" in response.json()["detail"][0]["msg"]


def test_garbage_onnx_names_the_model_field(client, submit_headers):
    files = {
        "model": ("m.onnx", b"\x08\x07garbage" * 10),
        "dataset": ("d.npz", npz_dataset_bytes()),
    }
    response = client.post(
        "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and _locs(response) == [["body", "model"]]


def test_model_without_dataset_names_the_dataset_field(client, submit_headers):
    files = {"model": ("m.onnx", onnx_mlp_bytes())}
    response = client.post(
        "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and _locs(response) == [["body", "dataset"]]


def test_oversized_upload_is_413_naming_the_field(settings, tmp_path):
    from fastapi.testclient import TestClient

    from service.main import create_app

    small = settings.model_copy(update={"max_model_bytes": 1024})
    secret = make_key(small.database_url, Scope.SUBMIT)
    with TestClient(create_app(small)) as client:
        files = {"model": ("m.onnx", b"\0" * 4096), "dataset": ("d.npz", npz_dataset_bytes())}
        response = client.post(
            "/v1/jobs", data={"spec": job_toml()}, files=files, headers=headers(secret)
        )
    assert response.status_code == 413 and _locs(response) == [["body", "model"]]


def test_read_scope_cannot_submit_or_cancel(client, submit_headers, read_headers):
    assert _post(client, job_json(), read_headers).status_code == 403
    job = _post(client, job_json(), submit_headers).json()
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=read_headers).status_code == 403


def test_cancel_then_cancel_again(client, submit_headers):
    job = _post(client, job_json(), submit_headers).json()
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel", headers=submit_headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=submit_headers)
    assert again.status_code == 409


def test_missing_job_is_404(client, read_headers):
    assert client.get("/v1/jobs/999", headers=read_headers).status_code == 404
    assert client.post("/v1/jobs/999/cancel", headers=read_headers).status_code == 403


def test_broken_dataset_names_the_dataset_field(client, submit_headers):
    files = {"model": ("m.onnx", onnx_mlp_bytes()), "dataset": ("d.npz", b"PK\x03\x04junk")}
    response = client.post(
        "/v1/jobs", data={"spec": job_toml()}, files=files, headers=submit_headers
    )
    assert response.status_code == 422 and _locs(response) == [["body", "dataset"]]
