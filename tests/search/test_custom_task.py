"""A custom evaluator plugs in as a Task subclass; a job can optimise its metric."""

from typing import ClassVar

import optuna
import pytest
import torch

from search import (
    CandidateScorer,
    JobSpecError,
    TrialObjective,
    create_job_study,
    load_workload,
    parse_job,
    tasks,
)


class TopTwoTask(tasks.ClassificationTask):
    """Classification scored by top-2 accuracy as well."""

    metrics: ClassVar[dict[str, str]] = {
        **tasks.ClassificationTask.metrics,
        "top2_accuracy": tasks.MAXIMIZE,
    }

    def score(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        top2 = logits.topk(2, dim=-1).indices
        hit = (top2 == targets[:, None]).any(dim=-1).double().mean().item()
        return {**super().score(logits, targets), "top2_accuracy": hit}


@pytest.fixture
def top2_registered(monkeypatch):
    monkeypatch.setitem(tasks.TASKS, "classification-top2", TopTwoTask)


def test_a_job_optimises_a_custom_metric(top2_registered):
    spec = parse_job(
        {
            "name": "top2",
            "model": "digits-mlp",
            "task": "classification-top2",
            "objectives": ["top2_accuracy", "throughput"],
            "budget": {"n_trials": 3},
        }
    )
    scorer = CandidateScorer(spec, load_workload(spec))
    study = create_job_study(spec, optuna.storages.InMemoryStorage())
    study.optimize(TrialObjective(spec, scorer), n_trials=3)
    for trial in study.trials:
        metrics = trial.user_attrs["metrics"]
        assert trial.values[0] == metrics["top2_accuracy"] >= metrics["accuracy"]
    assert study.directions[0] == optuna.study.StudyDirection.MAXIMIZE


def test_unknown_metric_objective_is_named():
    with pytest.raises(JobSpecError, match=r"objectives: unknown objective 'top3'"):
        parse_job({"name": "x", "model": "digits-mlp", "objectives": ["top3"]})


def test_metric_the_task_lacks_fails_before_any_trial(top2_registered):
    spec = parse_job({"name": "x", "model": "digits-mlp", "objectives": ["top2_accuracy"]})
    with pytest.raises(JobSpecError, match="top2_accuracy"):
        load_workload(spec)  # digits-mlp's own task is plain classification
