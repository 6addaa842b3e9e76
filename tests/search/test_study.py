"""The search end to end: exact trial counts with several workers, rebuildable trials."""

import os
import signal
import subprocess
import sys
import time
import uuid
from wsgiref.util import setup_testing_defaults

import optuna
import pytest
from optuna.trial import TrialState

from search import (
    CandidateScorer,
    fail_orphaned_trials,
    load_trial_candidate,
    load_workload,
    parse_job,
    run_job,
)

JOB = {
    "name": "digits-small",
    "model": "digits-mlp",
    "device": "xc7a100t",
    "budget": {"n_trials": 10},
    "baselines": {"weight_sparsity": [0.0, 0.5], "bits": [8]},
}


def _assert_exact_budget(study: optuna.Study, n: int) -> None:
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == n and len(trials) == n
    assert len({t.number for t in trials}) == n
    params = {tuple(sorted(t.params.items())) for t in complete}
    assert len(params) == n  # no candidate evaluated twice


@pytest.mark.slow
def test_two_sqlite_workers_finish_exactly_n_trials(tmp_path):
    spec = parse_job(JOB)
    result = run_job(spec, f"sqlite:///{tmp_path / 's.db'}", workers=2)
    _assert_exact_budget(result.study, 10)
    assert result.front and len(result.baselines) == 3
    assert set(result.study.user_attrs["front_test_metrics"]) == {
        str(t.number) for t in result.front
    }


@pytest.mark.slow
@pytest.mark.postgres
def test_two_postgres_workers_finish_exactly_n_trials(postgres_url):
    result = run_job(parse_job(JOB), postgres_url, workers=2)
    _assert_exact_budget(result.study, 10)


@pytest.mark.slow
def test_stored_trial_rebuilds_the_same_score(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = parse_job({**JOB, "budget": {"n_trials": 3}})
    result = run_job(spec, url)
    trial = result.front[0]
    stored = load_trial_candidate(url, spec.name, trial.number)
    score = CandidateScorer(spec, load_workload(spec)).score(stored.candidate)
    assert score.metrics == trial.user_attrs["metrics"]
    assert score.hardware["throughput_fps"] == trial.user_attrs["hardware"]["throughput_fps"]


@pytest.mark.slow
def test_rerunning_a_finished_job_adds_no_trials(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = parse_job({**JOB, "budget": {"n_trials": 2}})
    run_job(spec, url)
    _assert_exact_budget(run_job(spec, url).study, 2)


@pytest.mark.slow
def test_dashboard_shows_the_study_with_named_objectives(tmp_path):
    import json

    from optuna_dashboard import wsgi

    url = f"sqlite:///{tmp_path / 's.db'}"
    run_job(parse_job({**JOB, "budget": {"n_trials": 2}}), url)
    app = wsgi(optuna.storages.RDBStorage(url))

    def get(path: str) -> dict:
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
        setup_testing_defaults(environ)
        status = []
        body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
        assert status[0].startswith("200"), status
        return json.loads(body)

    studies = get("/api/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["digits-small"]
    detail = get(f"/api/studies/{studies[0]['study_id']}")
    assert detail["objective_names"] == ["accuracy", "throughput"]


def test_a_job_with_an_unknown_layer_fails_before_any_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = parse_job(
        {**JOB, "name": f"bad-{uuid.uuid4().hex[:6]}", "layers": {"fc9": {"w_bits": [4]}}}
    )
    with pytest.raises(ValueError, match=r"layers\.fc9"):
        run_job(spec, url)
    assert optuna.load_study(study_name=spec.name, storage=url).trials == []


@pytest.mark.slow
def test_confirming_a_transformer_fails_before_any_trial_saying_the_rtl_lacks_it(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = parse_job(
        {
            "name": "gpt-confirm",
            "model": "char-gpt",
            "device": "zcu102",
            "budget": {"n_trials": 2},
            "confirm": {"front_members": 1},
        }
    )
    with pytest.raises(ValueError, match=r"confirm\.front_members: .*only the analytic"):
        run_job(spec, url)
    assert optuna.load_study(study_name=spec.name, storage=url).trials == []


def test_finetuning_keeps_pruned_weights_zero_and_scores(digits_mlp):
    from search.finetune import finetune_pruned
    from search.spec import FineTune
    from search.transforms import transform, uniform_candidate

    spec = parse_job({**JOB, "finetune": {"epochs": 1}})
    workload = load_workload(spec)
    t = transform(workload.model, uniform_candidate(0.8), workload.calibration(256))
    tuned = finetune_pruned(t.float_model, workload, FineTune(epochs=1))
    for before, after in zip(t.float_model.parameters(), tuned.parameters(), strict=True):
        if before.dim() == 2:
            assert ((before == 0) <= (after == 0)).all()
    score = CandidateScorer(spec, workload).score(uniform_candidate(0.8))
    assert 0.5 < score.metrics["accuracy"] <= 1.0


def test_trials_left_running_by_dead_workers_are_failed():
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    orphan = study.ask()  # created, then its worker died before finishing or heartbeating
    assert fail_orphaned_trials(study) == [orphan.number]
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL]


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.split()[1] == "Z" for line in f if line.startswith("State:"))
    except FileNotFoundError:
        return True


@pytest.mark.slow
def test_workers_stop_when_their_run_is_killed(tmp_path):
    """A killed `hwsearch run` must not leave workers taking CPU from other jobs."""
    spec = {**JOB, "budget": {"n_trials": 100_000}}
    script = (
        "import sys; from search import parse_job, run_job; "
        f"run_job(parse_job({spec!r}), sys.argv[1], workers=2)"
    )
    url = f"sqlite:///{tmp_path / 's.db'}"
    run = subprocess.Popen([sys.executable, "-c", script, url])
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            workers = [p for p in _children(run.pid) if "spawn_main" in _name(p)]
        assert len(workers) == 2, "the run never started its workers"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 30
        while not all(_gone(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert all(_gone(p) for p in workers)
    finally:
        run.kill()
