"""Run a search job locally: one Optuna study, N worker processes, the phases in order.

    result = run_job(spec, "sqlite:///runs/digits.db", workers=2)

The study is created once (schema and study row) before workers start; each worker process
runs `search.phases.run_trials` against a shared trial budget while this process scores the
baselines, then finalizes the front and confirms it (`search.phases`). The spec is stored
with the study (user attr `job_spec`): for a local run the database is all there is.
"""

import multiprocessing as mp
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.budget import LocalBudget, TrialBudget, UnlimitedBudget
from search.phases import (
    JobFailedError,
    JobRun,
    confirm_trials,
    finalize,
    record_baselines,
    run_trials,
)
from search.sampling import base_sampler
from search.spec import JobSpec
from search.storage import make_storage

PROGRESS_POLL_S = 0.5
PARENT_POLL_S = 1.0  # how often a local worker checks that its `hwsearch run` still runs


def _name_objectives(study: optuna.Study, spec: JobSpec) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(spec.objectives)


def create_job_study(spec: JobSpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """Create (or reopen, for the same spec) a local job's study, the spec attached."""
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        directions=spec.directions(),
        sampler=base_sampler(spec),
        load_if_exists=True,
    )
    existing = study.user_attrs.get("job_spec")
    if existing is not None and existing != spec.model_dump(mode="json"):
        raise ValueError(
            f"study {spec.name!r} already exists with a different job spec; choose another name"
        )
    _name_objectives(study, spec)
    study.set_user_attr("job_spec", spec.model_dump(mode="json"))
    return study


def create_new_study(spec: JobSpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """A new study for a job whose spec is kept elsewhere (the service's jobs table).

    Raises optuna.exceptions.DuplicatedStudyError when the name is taken; a study it created
    is deleted again if naming its objectives fails, so nothing half-made is left.
    """
    study = optuna.create_study(study_name=spec.name, storage=storage, directions=spec.directions())
    try:
        _name_objectives(study, spec)
    except BaseException:
        optuna.delete_study(study_name=spec.name, storage=storage)
        raise
    return study


def count_complete(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def count_finished(study: optuna.Study) -> int:
    """Trials that spent a slot of the budget: completed or pruned."""
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _exit_with(parent: int) -> None:
    """Stop this worker once `parent` (the `hwsearch run` that started it) is gone: killed
    or its terminal closed, it would otherwise go on taking CPU from every other job for
    trials nobody collects (the trial it was scoring stays RUNNING, as after a crash)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _worker_main(
    spec_json: dict, storage_url: str, budget, deadline: float, worker_id: int, parent: int
):
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    run_trials(JobRun(JobSpec.model_validate(spec_json)), storage_url, budget, deadline, worker_id)


@dataclass
class JobResult:
    spec: JobSpec
    storage_url: str
    study: optuna.Study
    baselines: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def front(self) -> list[FrozenTrial]:
        return sorted(self.study.best_trials, key=lambda t: t.number)


def run_job(
    spec: JobSpec,
    storage_url: str,
    workers: int = 1,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> JobResult:
    """Run the whole job; returns when the budget (or timeout) is spent."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    start = time.time()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(storage_url, heartbeat=False)
    study = create_job_study(spec, storage)
    job = JobRun(spec)
    job.check()

    budget: TrialBudget = (
        LocalBudget(spec.budget.n_trials, count_finished(study))
        if spec.budget.n_trials is not None
        else UnlimitedBudget()
    )
    deadline = start + spec.budget.timeout_s if spec.budget.timeout_s else float("inf")
    context = mp.get_context("spawn")
    processes = [
        context.Process(
            target=_worker_main,
            args=(spec.model_dump(mode="json"), storage_url, budget, deadline, i, os.getpid()),
            name=f"hwsearch-worker-{i}",
        )
        for i in range(workers)
    ]
    for p in processes:
        p.start()
    baselines = record_baselines(study, job)
    while any(p.is_alive() for p in processes):
        if on_progress:
            on_progress(count_finished(study), spec.budget.n_trials)
        time.sleep(PROGRESS_POLL_S)
    for p in processes:
        p.join()
    if on_progress:
        on_progress(count_finished(study), spec.budget.n_trials)
    bad = [p.name for p in processes if p.exitcode != 0]
    if bad:
        raise JobFailedError(f"worker processes {bad} exited with an error (see their output)")
    done = finalize(study, job)
    if done.members:
        confirm_trials(study, job, done.members, spec.confirm.samples, processes=min(workers, 2))
    return JobResult(spec, storage_url, study, baselines, time.time() - start)
