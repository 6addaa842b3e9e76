"""One in-process worker runs jobs end to end: baselines, trials, front, confirmations."""

import io
import sys
import types
import zipfile

import optuna
import pytest

from service.core.security import Scope
from service.workers.runner import confirm_members
from tests.service.conftest import run_worker_until_idle
from tests.utils.jobs import TOML_TYPE, job_toml
from tests.utils.keys import headers, make_key
from tests.utils.uploads import npz_dataset_bytes, onnx_mlp_bytes, pt2_mlp_bytes


@pytest.fixture
def fake_confirm(monkeypatch):
    """A `search.confirm` as rtl/ will provide it, recording its calls."""
    calls = []

    def confirm_trial(storage_url, study_name, trial_number, samples):
        calls.append((study_name, trial_number, samples))
        return {
            "trial": trial_number,
            "bit_exact": True,
            "mismatches": 0,
            "cycles_equal": True,
            "expected_interval_error_pct": 2.5,
            "simulated_cycles": 100 + trial_number,
            "samples": samples,
        }

    module = types.ModuleType("search.confirm")
    module.confirm_trial = confirm_trial
    monkeypatch.setitem(sys.modules, "search.confirm", module)
    return calls


def _submit(client, submit_headers, **spec) -> int:
    response = client.post(
        "/v1/jobs", content=job_toml(**spec), headers={**submit_headers, **TOML_TYPE}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_confirmation_reports_are_stored_and_bundled(
    client, settings, submit_headers, fake_confirm
):
    job_id = _submit(client, submit_headers, name="confirmed", n_trials=6, front_members=2)
    run_worker_until_idle(settings)
    job = client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()
    assert job["status"] == "done" and job["progress"]["confirmations"] == {"done": 2}
    assert sorted(n for _, n, _ in fake_confirm) == sorted(
        m["trial"] for m in job["front"] if m["confirmation"] == "done"
    )
    assert all(samples == 16 for *_, samples in fake_confirm)
    number = fake_confirm[0][1]
    candidate = client.get(f"/v1/jobs/{job_id}/candidates/{number}", headers=submit_headers).json()
    assert candidate["confirmation"]["report"]["simulated_cycles"] == 100 + number
    bundle = client.get(f"/v1/jobs/{job_id}/candidates/{number}/bundle", headers=submit_headers)
    archive = zipfile.ZipFile(io.BytesIO(bundle.content))
    assert f"confirmed-trial{number}/simulation_report.json" in archive.namelist()
    readme = archive.read(f"confirmed-trial{number}/README.md").decode()
    assert "simulation_report.json" in readme


def test_failing_confirmation_fails_the_task_not_the_worker(
    client, settings, submit_headers, monkeypatch
):
    module = types.ModuleType("search.confirm")

    def confirm_trial(*_args):
        raise RuntimeError("verilator exploded")

    module.confirm_trial = confirm_trial
    monkeypatch.setitem(sys.modules, "search.confirm", module)
    job_id = _submit(client, submit_headers, n_trials=4, front_members=1)
    run_worker_until_idle(settings)
    (task,) = client.get(f"/v1/jobs/{job_id}/confirmations", headers=submit_headers).json()["data"]
    assert task["status"] == "failed" and task["error"] == "RuntimeError: verilator exploded"
    assert client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()["status"] == "done"


@pytest.mark.parametrize(
    ("filename", "model_bytes"), [("mine.onnx", onnx_mlp_bytes), ("mine.pt2", pt2_mlp_bytes)]
)
def test_uploaded_model_job_runs_on_a_worker(
    client, settings, submit_headers, filename, model_bytes
):
    files = {"model": (filename, model_bytes()), "dataset": ("d.npz", npz_dataset_bytes())}
    response = client.post(
        "/v1/jobs",
        data={"spec": job_toml(name="user-run", n_trials=4)},
        files=files,
        headers=submit_headers,
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    run_worker_until_idle(settings)
    job = client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()
    assert job["status"] == "done", job["error"]
    assert job["progress"]["trials_complete"] == 4
    number = job["front"][0]["trial"]
    bundle = client.get(f"/v1/jobs/{job_id}/candidates/{number}/bundle", headers=submit_headers)
    assert bundle.status_code == 200


def test_cancelled_job_is_left_alone(client, settings, submit_headers):
    job_id = _submit(client, submit_headers, n_trials=50)
    client.post(f"/v1/jobs/{job_id}/cancel", headers=submit_headers)
    run_worker_until_idle(settings)
    job = client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()
    assert job["status"] == "cancelled" and job["progress"]["trials_complete"] == 0


def test_a_job_whose_trials_keep_failing_fails_with_the_reason(
    client, settings, submit_headers, monkeypatch
):
    import search.scoring

    def broken(*_args, **_kwargs):
        raise ValueError("scorer is broken")

    job_id = _submit(client, submit_headers, n_trials=10)
    monkeypatch.setattr(search.scoring.CandidateScorer, "score", broken)
    run_worker_until_idle(settings)
    job = client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()
    assert job["status"] == "failed" and "scorer is broken" in job["error"]


@pytest.mark.parametrize("with_rtl", [True, False])
def test_confirm_members_are_the_most_accurate_front_members(monkeypatch, with_rtl):
    if not with_rtl:
        monkeypatch.setitem(sys.modules, "search.confirm", None)
    study = optuna.create_study(directions=["maximize", "maximize"])
    for accuracy in (0.1, 0.5, 0.3, 0.2, 0.4):
        study.add_trial(optuna.trial.create_trial(values=[accuracy, 1 - accuracy]))
    study.add_trial(optuna.trial.create_trial(values=[0.05, 0.05]))  # dominated
    assert confirm_members(study, 0) == []
    assert confirm_members(study, 1) == [1]
    assert confirm_members(study, 3) == [1, 4, 2]
    assert confirm_members(study, 9) == [1, 4, 2, 3, 0]


def test_read_key_alone_is_enough_to_follow_a_job(client, settings, submit_headers):
    job_id = _submit(client, submit_headers, n_trials=3)
    read = headers(make_key(settings.database_url, Scope.READ))
    run_worker_until_idle(settings)
    assert client.get(f"/v1/jobs/{job_id}", headers=read).json()["status"] == "done"


def test_failed_simulation_report_fails_the_task_and_keeps_the_report(
    client, settings, submit_headers, monkeypatch
):
    module = types.ModuleType("search.confirm")
    module.confirm_trial = lambda _url, _name, number, _samples: {
        "trial": number,
        "error": "no bit match",
    }
    monkeypatch.setitem(sys.modules, "search.confirm", module)
    job_id = _submit(client, submit_headers, n_trials=3, front_members=1)
    run_worker_until_idle(settings)
    (task,) = client.get(f"/v1/jobs/{job_id}/confirmations", headers=submit_headers).json()["data"]
    assert task["status"] == "failed" and task["error"] == "simulation failed: no bit match"
    assert task["report"]["error"] == "no bit match"
