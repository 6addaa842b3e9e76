"""The job's sampler: warm start from the baselines, sensitivity-shaped start-up, and the trial
loop's rules (no design scored twice, early stop recorded PRUNED, one fine-tuning policy)."""

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

import search.phases
import search.sensitivity
from search import CandidateScorer, TrialObjective, create_job_study, load_workload, parse_job
from search.budget import LocalBudget
from search.phases import JobRun, evaluate_baselines, job_sensitivity, job_space, run_trials
from search.sampling import (
    layer_tolerance,
    make_sampler,
    shaped_choice,
    shaped_design,
    starting_points,
)
from search.sensitivity import Sensitivity
from search.storage import make_storage
from search.transforms import uniform_candidate

JOB = {
    "name": "sampling",
    "model": "digits-mlp",
    "device": "xc7a100t",
    "space": {"w_bits": [4, 8], "a_bits": [4, 8], "act_sparsity": False},
    "baselines": {"weight_sparsity": [0.0, 0.5], "bits": [4, 8]},
    "budget": {"n_trials": 6},
}


def _study(spec, sampler=None) -> optuna.Study:
    study = create_job_study(spec, optuna.storages.InMemoryStorage())
    if sampler is not None:
        study.sampler = sampler
    return study


# --- sensitivity-shaped choices --------------------------------------------------------------


def test_shaped_choice_takes_an_aggressive_value_within_the_tolerance():
    values = [0.0, 0.2, 0.4, 0.6, 0.8]  # conservative to aggressive
    drops = [0.0, 0.0, 0.01, 0.03, 0.30]
    rng = np.random.default_rng(0)
    picks = {shaped_choice(values, drops, 0.02, rng) for _ in range(50)}
    assert picks == {0.2, 0.4}  # the aggressive half of the allowed [0.0, 0.2, 0.4]
    assert {shaped_choice(values, drops, 1.0, rng) for _ in range(50)} == {0.4, 0.6, 0.8}


def test_shaped_choice_without_an_allowed_value_takes_the_least_loss():
    assert shaped_choice([8, 4, 2], [0.05, 0.02, 0.4], 0.01, np.random.default_rng(0)) == 4


def test_a_layer_with_more_multipliers_is_allowed_more_loss():
    small, even, large = (layer_tolerance(0.01, s, 4) for s in (0.05, 0.25, 0.6))
    assert small < even == 0.01 < large


def test_shaped_designs_prune_the_insensitive_layer_harder():
    grid = [0.0, 0.25, 0.5, 0.75]
    sensitivity = Sensitivity(
        probes={
            "fc1.weight_sparsity": (grid, [0.0, 0.0, 0.001, 0.002]),  # prunes freely
            "fc2.weight_sparsity": (grid, [0.0, 0.01, 0.1, 0.5]),  # does not
        },
        share={"fc1": 0.5, "fc2": 0.5},
    )
    space = {k: FloatDistribution(0.0, 0.75, step=0.25) for k in sensitivity.probes}
    space["fc1.w_bits"] = CategoricalDistribution([4, 8])  # not probed: uniform
    designs = [shaped_design(space, sensitivity, np.random.default_rng(i)) for i in range(40)]
    fc1 = [d["fc1.weight_sparsity"] for d in designs]
    fc2 = [d["fc2.weight_sparsity"] for d in designs]
    assert min(fc1) >= 0.5 and max(fc2) <= 0.5 and np.mean(fc1) > np.mean(fc2)
    assert {d["fc1.w_bits"] for d in designs} == {4, 8}


# --- warm start ------------------------------------------------------------------------------


def test_starting_points_are_the_baselines_projected_onto_the_space_once_each():
    spec = parse_job({**JOB, "layers": {"fc1": {"weight_sparsity": [0.0, 0.3], "w_bits": [8]}}})
    space = job_space(spec, load_workload(spec).model)
    points = starting_points(spec, space)
    labels = [label for label, _ in points]
    assert labels == ["dense int8", "uniform s=0 4b", "uniform s=0.5 4b", "uniform s=0.5 8b"]
    fc1 = [p["fc1.weight_sparsity"] for _, p in points]
    assert fc1 == [0.0, 0.0, 0.3, 0.3]  # 0.5 is outside fc1's range: its nearest value
    assert all(p["fc1.w_bits"] == 8 for _, p in points)  # fc1 takes only 8 bits


def test_baselines_and_warm_started_trials_are_tuned_alike():
    spec = parse_job({**JOB, "finetune": {"epochs": 1, "early_stop": False}})
    job = JobRun(spec)
    baselines = {b["label"]: b for b in evaluate_baselines(spec, job.scorer)}
    sampler = make_sampler(spec, job_space(spec, job.workload.model))
    study = _study(spec, sampler)
    trial_scorer = CandidateScorer(spec, job.workload)  # another worker: its own tuning cache
    study.optimize(TrialObjective(spec, trial_scorer, sampler), n_trials=len(sampler.starts))
    for trial in study.trials:
        label = trial.user_attrs["origin"].removeprefix("warm start: ")
        assert trial.user_attrs["metrics"] == baselines[label]["metrics"], label
    pruned, dense = uniform_candidate(0.5, 0.0, 4, 4), uniform_candidate(0.0, 0.0, 4, 4)
    assert job.scorer.fine_tunes(pruned) and not job.scorer.fine_tunes(dense)
    untuned = job.scorer.score(pruned, tune=False).metrics
    assert untuned != baselines["uniform s=0.5 4b"]["metrics"]  # the tuning did happen


@pytest.mark.parametrize("pruning", ["balanced", "unstructured"])
def test_trials_baselines_and_probes_prune_as_the_job_says(monkeypatch, pruning):
    spec = parse_job({**JOB, "pruning": pruning, "budget": {"n_trials": 100}})
    job = JobRun(spec)
    built = []
    probe = search.sensitivity.transform

    def recording_probe(model, candidate, *args, **kwargs):
        built.append(candidate)
        return probe(model, candidate, *args, **kwargs)

    monkeypatch.setattr(search.sensitivity, "transform", recording_probe)
    baselines = evaluate_baselines(spec, job.scorer)
    sampler = make_sampler(spec, job_space(spec, job.workload.model))
    study = _study(spec, sampler)
    study.optimize(TrialObjective(spec, job.scorer, sampler), n_trials=2)
    job_sensitivity(study, job)
    assert {b["candidate"]["pruning"] for b in baselines} == {pruning}
    assert {t.user_attrs["candidate"]["pruning"] for t in study.trials} == {pruning}
    assert built and {c.pruning for c in built} == {pruning}


# --- the trial loop's rules ------------------------------------------------------------------


def test_no_design_is_scored_twice(monkeypatch):
    one_choice = {"weight_sparsity": [0.0, 0.0], "w_bits": [4, 8], "a_bits": [8]}
    spec = parse_job({**JOB, "space": {**one_choice, "act_sparsity": False}})
    scorer = CandidateScorer(spec, load_workload(spec))
    scored = []
    score = scorer.score
    monkeypatch.setattr(scorer, "score", lambda c, *a, **k: scored.append(c) or score(c, *a, **k))
    sampler = make_sampler(
        spec.model_copy(
            update={
                "sampler": spec.sampler.model_copy(
                    update={"name": "random", "warm_start": False, "sensitivity": False}
                )
            }
        ),
        job_space(spec, scorer.workload.model),
    )
    study = _study(spec, sampler)
    study.optimize(TrialObjective(spec, scorer, sampler), n_trials=60)  # 8 designs exist
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    designs = [tuple(sorted(t.params.items())) for t in complete]
    assert len(designs) == len(set(designs)) == len(scored) == 8
    for trial in study.trials:
        if trial.state == TrialState.PRUNED:
            assert study.trials[trial.user_attrs["duplicate_of"]].params == trial.params


def test_other_values_that_build_a_tried_design_are_not_tuned_again():
    spec = parse_job(
        {
            **JOB,
            "space": {**JOB["space"], "act_sparsity": [0.0, 0.9]},
            "finetune": {"epochs": 1},
        }
    )
    scorer = CandidateScorer(spec, load_workload(spec))
    study = _study(spec)
    params = {
        f"{layer}.{choice}": value
        for layer in ("fc1", "fc2", "fc3")
        for choice, value in (("weight_sparsity", 0.5), ("w_bits", 8), ("a_bits", 8))
    }
    study.enqueue_trial({**params, "fc2.act_sparsity": 0.0, "fc3.act_sparsity": 0.0})
    # 1%: below the natural sparsity of fc2's input, so its ReLU stays plain
    study.enqueue_trial({**params, "fc2.act_sparsity": 0.01, "fc3.act_sparsity": 0.0})
    tuned = []
    tune = scorer._tuned_model
    scorer._tuned_model = lambda *a: tuned.append(a) or tune(*a)
    study.optimize(TrialObjective(spec, scorer), n_trials=2)
    first, second = study.trials
    assert first.state == TrialState.COMPLETE and len(tuned) == 1
    assert second.state == TrialState.PRUNED and second.user_attrs["duplicate_of"] == 0
    assert second.user_attrs["untuned_design"] == first.user_attrs["untuned_design"]


def test_a_stopped_trial_is_recorded_pruned_and_spends_its_slot(monkeypatch, tmp_path):
    spec = parse_job({**JOB, "finetune": {"epochs": 1}, "budget": {"n_trials": 3}})
    monkeypatch.setattr(search.phases, "hopeless", lambda *_: "no use tuning it")
    url = f"sqlite:///{tmp_path / 's.db'}"
    create_job_study(spec, make_storage(url, heartbeat=False))
    budget = LocalBudget(3)
    run_trials(JobRun(spec), url, budget, float("inf"))
    study = optuna.load_study(study_name=spec.name, storage=make_storage(url, heartbeat=False))
    # warm start: dense int8 and dense 4-bit are not tuned; uniform 50% would be, so it stops
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    assert budget.remaining == 0
    stopped = study.trials[2]
    assert stopped.user_attrs["pruned_reason"] == "no use tuning it"
    assert "untuned_metrics" in stopped.user_attrs and "metrics" not in stopped.user_attrs


def test_a_job_that_cannot_afford_the_probes_samples_without_them():
    spec = parse_job({**JOB, "budget": {"n_trials": 5}})  # digits-mlp needs 18 probes here
    study = _study(spec)
    assert job_sensitivity(study, JobRun(spec)) is None
    assert "more than 5 allowed" in study.user_attrs["sensitivity"]["skipped"]


def _scorer_counting_tunings(monkeypatch) -> tuple[CandidateScorer, list]:
    """A fine-tuning scorer, and the list it appends to on every fine-tuning it runs."""
    import search.scoring

    spec = parse_job({**JOB, "finetune": {"epochs": 1}})
    scorer = CandidateScorer(spec, load_workload(spec))
    tunings = []
    tune = search.scoring.finetune_pruned
    monkeypatch.setattr(search.scoring, "finetune_pruned", lambda *a: tunings.append(1) or tune(*a))
    return scorer, tunings


def test_candidates_differing_only_in_widths_are_tuned_once(monkeypatch):
    scorer, tunings = _scorer_counting_tunings(monkeypatch)
    for bits in (8, 4, 8):
        scorer.score(uniform_candidate(0.5, 0.0, bits, bits))
    scorer.score(uniform_candidate(0.6, 0.0, 8, 8))
    assert len(tunings) == 2


def test_tuned_models_are_kept_up_to_the_byte_budget_oldest_out_first(monkeypatch):
    import search.scoring

    scorer, tunings = _scorer_counting_tunings(monkeypatch)
    scorer.build(uniform_candidate(0.3, 0.0, 8, 8))
    monkeypatch.setattr(search.scoring, "TUNED_CACHE_BYTES", 2 * scorer._tuned_bytes)
    for sparsity in (0.4, 0.5, 0.4, 0.3):  # 0.3 is out once 0.5 is in; 0.4 stays
        scorer.build(uniform_candidate(sparsity, 0.0, 8, 8))
    assert len(tunings) == 4
