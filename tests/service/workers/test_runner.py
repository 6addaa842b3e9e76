"""One in-process worker runs jobs end to end: baselines, trials, front, confirmations."""

import io
import sys
import zipfile

import optuna
import pytest

import search
from search import front_numbers
from search.spec import JobSpec
from service.core.security import Scope
from tests.service.conftest import run_worker_until_idle
from tests.utils.jobs import TOML_TYPE, job_dict, job_toml
from tests.utils.keys import headers, make_key
from tests.utils.uploads import npz_dataset_bytes, onnx_mlp_bytes, pt2_mlp_bytes


@pytest.fixture
def fake_confirm(monkeypatch):
    """A `search.confirm_trial` as rtl/ will provide it, recording its calls."""
    calls = []

    def confirm_trial(study, _job, trial_number, samples):
        calls.append((study.study_name, trial_number, samples))
        return {
            "trial": trial_number,
            "bit_exact": True,
            "mismatches": 0,
            "cycles_equal": True,
            "expected_interval_error_pct": 2.5,
            "simulated_cycles": 100 + trial_number,
            "samples": samples,
        }

    monkeypatch.setattr(search, "confirm_trial", confirm_trial)
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
    def confirm_trial(*_args):
        raise RuntimeError("verilator exploded")

    monkeypatch.setattr(search, "confirm_trial", confirm_trial)
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
def test_confirm_members_without_baselines_are_the_most_accurate(monkeypatch, with_rtl):
    if not with_rtl:
        monkeypatch.setitem(sys.modules, "search.confirm", None)
    study = optuna.create_study(directions=["maximize", "maximize"])
    for accuracy in (0.1, 0.5, 0.3, 0.2, 0.4):
        study.add_trial(optuna.trial.create_trial(values=[accuracy, 1 - accuracy]))
    study.add_trial(optuna.trial.create_trial(values=[0.05, 0.05]))  # dominated
    spec = JobSpec.model_validate(job_dict(name="no-baselines"))
    assert front_numbers(study, spec, 0) == []
    assert front_numbers(study, spec, 1) == [1]
    assert front_numbers(study, spec, 3) == [1, 4, 2]
    assert front_numbers(study, spec, 9) == [1, 4, 2, 3, 0]


def test_read_key_alone_is_enough_to_follow_a_job(client, settings, submit_headers):
    job_id = _submit(client, submit_headers, n_trials=3)
    read = headers(make_key(settings.database_url, Scope.READ))
    run_worker_until_idle(settings)
    assert client.get(f"/v1/jobs/{job_id}", headers=read).json()["status"] == "done"


def test_failed_simulation_report_fails_the_task_and_keeps_the_report(
    client, settings, submit_headers, monkeypatch
):
    monkeypatch.setattr(
        search,
        "confirm_trial",
        lambda _study, _job, number, _samples: {"trial": number, "error": "no bit match"},
    )
    job_id = _submit(client, submit_headers, n_trials=3, front_members=1)
    run_worker_until_idle(settings)
    (task,) = client.get(f"/v1/jobs/{job_id}/confirmations", headers=submit_headers).json()["data"]
    assert task["status"] == "failed" and task["error"] == "simulation failed: no bit match"
    assert task["report"]["error"] == "no bit match"


@pytest.mark.parametrize("error", [RuntimeError, SystemExit])
def test_a_job_whose_preparation_raises_fails_alone_and_workers_go_on(
    client, settings, submit_headers, monkeypatch, error
):
    import threading

    import search.phases

    real_load = search.phases.load_workload

    def load_workload(spec):
        if spec.name == "broken":
            raise error("cannot prepare this job")
        return real_load(spec)

    monkeypatch.setattr(search.phases, "load_workload", load_workload)
    broken = _submit(client, submit_headers, name="broken", n_trials=3)
    after = _submit(client, submit_headers, name="after", n_trials=3)
    errors = []

    def work() -> None:
        try:
            run_worker_until_idle(settings, idle_s=1.0)
        except BaseException as err:  # a worker that dies is the failure this test looks for
            errors.append(err)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=300)
    assert errors == [] and not any(t.is_alive() for t in workers)
    failed = client.get(f"/v1/jobs/{broken}", headers=submit_headers).json()
    assert failed["status"] == "failed" and "cannot prepare this job" in failed["error"]
    done = client.get(f"/v1/jobs/{after}", headers=submit_headers).json()
    assert done["status"] == "done" and done["progress"]["trials_complete"] == 3


def test_a_stored_timeout_past_datetimes_range_stops_no_worker(client, settings, submit_headers):
    """A row written before timeouts were bounded: its deadline cannot be computed."""
    from sqlalchemy import update

    from service.core.db import make_engine
    from service.models import Job

    legacy = _submit(client, submit_headers, name="legacy", n_trials=2)
    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == legacy).values(timeout_s=1e300))
    engine.dispose()
    after = _submit(client, submit_headers, name="next", n_trials=2)
    run_worker_until_idle(settings)
    for job_id in (legacy, after):
        job = client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()
        assert job["status"] == "done", job["error"]


def test_a_study_carrying_the_spec_as_older_versions_stored_it_still_runs(
    client, settings, submit_headers
):
    job_id = _submit(client, submit_headers, name="older", n_trials=2)
    detail = client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()
    study = optuna.load_study(study_name="older", storage=settings.database_url)
    study.set_user_attr("job_spec", detail["spec"])
    run_worker_until_idle(settings)
    assert client.get(f"/v1/jobs/{job_id}", headers=submit_headers).json()["status"] == "done"
