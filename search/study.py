"""Run a search job: one Optuna study, N local worker processes, baselines, the front.

    result = run_job(spec, "sqlite:///runs/digits.db", workers=2)

The study is created once (schema and study row) before workers start; each worker loads it,
claims trial slots from a budget and runs trials with heartbeats. Everything a candidate
needs to be rebuilt is stored with its trial (user attrs), so the database alone suffices.
"""

import multiprocessing as mp
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna
import torch
from optuna.trial import TrialState

from search.budget import LocalBudget, TrialBudget, UnlimitedBudget
from search.evaluate import Workload
from search.rtl_design import check_rtl_supported
from search.sampling import make_sampler, sample_candidate
from search.scoring import CandidateScorer, Score
from search.spec import HARDWARE_OBJECTIVES, JobSpec, JobSpecError
from search.storage import make_storage
from search.tasks import make_task
from search.transforms import parse_candidate, uniform_candidate
from search.transforms._graph import relu_feeds, weighted_layers

MAX_FAILED_TRIALS = 5  # per worker: a candidate that crashes this often is a bug, not bad luck
PROGRESS_POLL_S = 0.5


class JobFailedError(RuntimeError):
    """Trials of the job keep failing; the message carries the last error."""


def load_workload(spec: JobSpec) -> Workload:
    if not isinstance(spec.model, str):
        from search.user_models import load_user_workload

        return load_user_workload(spec.model)
    workload = Workload.load(spec.model, data_path=spec.dataset_path)
    if spec.task is not None:
        workload.task = make_task(spec.task)
    missing = [
        o
        for o in spec.objectives
        if o not in HARDWARE_OBJECTIVES and o not in workload.task.metrics
    ]
    if missing:
        raise JobSpecError(
            f"{spec.name}: objectives: {missing} are not metrics of the task "
            f"{type(workload.task).__name__} ({', '.join(workload.task.metrics)})"
        )
    return workload


class TrialObjective:
    """Optuna objective: sample a candidate, score it, store everything with the trial."""

    def __init__(self, spec: JobSpec, scorer: CandidateScorer):
        self.spec, self.scorer = spec, scorer
        model = scorer.workload.model
        self.layers = [
            (name, "conv2d" if isinstance(m, torch.nn.Conv2d) else "linear")
            for name, m in weighted_layers(model)
        ]
        self.relu_fed = set(relu_feeds(model).values())

    def __call__(self, trial: optuna.Trial) -> list[float]:
        candidate = sample_candidate(trial, self.spec, self.layers, self.relu_fed)
        score = self.scorer.score(candidate)
        record_score(trial, score)
        if self.spec.constraints.fits_device:
            trial.set_constraint("fits_device", fit_violation(score))
        if self.spec.constraints.min_accuracy is not None:
            trial.set_constraint(
                "min_accuracy", self.spec.constraints.min_accuracy - score.metrics["accuracy"]
            )
        return [score.objective(name) for name in self.spec.objectives]


def fail_orphaned_trials(study: optuna.Study) -> list[int]:
    """Mark FAIL the trials still RUNNING once no worker runs any (their workers died).

    Optuna's heartbeats fail a dead worker's trial only if it had recorded a heartbeat; a
    worker killed between creating its trial and the first beat leaves it RUNNING forever.
    Call only when every trial slot of the job has ended. Returns the trial numbers failed.
    """
    orphans = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    storage = study._storage
    for trial in orphans:
        storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    return [trial.number for trial in orphans]


def fit_violation(score: Score) -> float:
    """0 when the design fits the device, else how far the fullest resource is over."""
    return 0.0 if score.fits else max(score.max_utilisation - 1.0, 0.0) + 1e-3


def record_score(trial: optuna.Trial, score: Score) -> None:
    for key, value in score.to_dict().items():
        trial.set_user_attr(key, value)


def create_job_study(spec: JobSpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """Create (or reopen) the job's study with named objectives and the spec attached."""
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        directions=spec.directions(),
        sampler=make_sampler(spec),
        load_if_exists=True,
    )
    existing = study.user_attrs.get("job_spec")
    if existing is not None and existing != spec.model_dump(mode="json"):
        raise ValueError(
            f"study {spec.name!r} already exists with a different job spec; choose another name"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(spec.objectives)
    study.set_user_attr("job_spec", spec.model_dump(mode="json"))
    return study


def count_complete(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def run_trials(
    spec: JobSpec,
    storage_url: str,
    budget: TrialBudget,
    deadline: float,
    worker_id: int = 0,
) -> None:
    """A worker: load the study, then claim and run trials until the budget or time is spent."""
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress is the caller's to show
    sampler = make_sampler(
        spec.model_copy(
            update={
                "sampler": spec.sampler.model_copy(update={"seed": spec.sampler.seed + worker_id})
            }
        )
    )
    study = optuna.load_study(
        study_name=spec.name, storage=make_storage(storage_url), sampler=sampler
    )
    objective = TrialObjective(spec, CandidateScorer(spec, load_workload(spec)))
    failures = 0
    while time.time() < deadline and budget.claim():
        finished: list[optuna.trial.FrozenTrial] = []
        study.optimize(
            objective,
            n_trials=1,
            catch=(Exception,),
            callbacks=[lambda _s, t, out=finished: out.append(t)],
        )
        if not finished or finished[-1].state != TrialState.COMPLETE:
            budget.release()
            failures += 1
            if failures >= MAX_FAILED_TRIALS:
                raise JobFailedError(
                    f"{failures} trials of {spec.name} failed; see the trials' "
                    "fail_reason in the study (optuna-dashboard shows it)"
                )


def _worker_main(spec_json: dict, storage_url: str, budget, deadline: float, worker_id: int):
    run_trials(JobSpec.model_validate(spec_json), storage_url, budget, deadline, worker_id)


@dataclass
class JobResult:
    spec: JobSpec
    storage_url: str
    study: optuna.Study
    baselines: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def front(self) -> list[optuna.trial.FrozenTrial]:
        return sorted(self.study.best_trials, key=lambda t: t.number)


def evaluate_baselines(spec: JobSpec, scorer: CandidateScorer) -> list[dict]:
    """Dense 8-bit and uniform (every layer alike) candidates, scored like trials."""
    points = [("dense int8", uniform_candidate(0.0, 0.0, 8, 8))]
    for sparsity in spec.baselines.weight_sparsity:
        for bits in spec.baselines.bits:
            label = f"uniform s={sparsity:g} {bits}b"
            points.append((label, uniform_candidate(sparsity, 0.0, bits, bits)))
    results = []
    for label, candidate in points:
        score = scorer.score(candidate)
        results.append(
            {
                "label": label,
                **score.to_dict(),
                "values": [score.objective(o) for o in spec.objectives],
            }
        )
    return results


def evaluate_front_on_test(study: optuna.Study, scorer: CandidateScorer) -> dict[str, dict]:
    """Test-split metrics of front members, kept apart from the validation objective."""
    out = {}
    for trial in study.best_trials:
        candidate = parse_candidate(trial.user_attrs["candidate"], f"trial {trial.number}")
        transformed = scorer.build(candidate)
        workload = scorer.workload
        out[str(trial.number)] = workload.task.evaluate(
            transformed.quantized, workload.dataset, "test"
        )
    return out


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
    scorer = CandidateScorer(spec, load_workload(spec))
    spec.check_layers([n for n, _ in weighted_layers(scorer.workload.model)], spec.name)
    if spec.confirm.front_members:
        try:
            check_rtl_supported(scorer.workload.model, scorer.workload.model_name)
        except NotImplementedError as err:
            raise JobSpecError(f"{spec.name}: confirm.front_members: {err}") from None

    budget: TrialBudget = (
        LocalBudget(spec.budget.n_trials, count_complete(study))
        if spec.budget.n_trials is not None
        else UnlimitedBudget()
    )
    deadline = start + spec.budget.timeout_s if spec.budget.timeout_s else float("inf")
    context = mp.get_context("spawn")
    processes = [
        context.Process(
            target=_worker_main,
            args=(spec.model_dump(mode="json"), storage_url, budget, deadline, i),
            name=f"hwsearch-worker-{i}",
        )
        for i in range(workers)
    ]
    for p in processes:
        p.start()
    if "baselines" not in study.user_attrs:
        study.set_user_attr("baselines", evaluate_baselines(spec, scorer))
    while any(p.is_alive() for p in processes):
        if on_progress:
            on_progress(count_complete(study), spec.budget.n_trials)
        time.sleep(PROGRESS_POLL_S)
    for p in processes:
        p.join()
    if on_progress:
        on_progress(count_complete(study), spec.budget.n_trials)
    bad = [p.name for p in processes if p.exitcode != 0]
    if bad:
        raise JobFailedError(f"worker processes {bad} exited with an error (see their output)")
    study.set_user_attr("front_test_metrics", evaluate_front_on_test(study, scorer))
    if spec.confirm.front_members:
        from search.confirm import confirm_trials, front_numbers

        confirm_trials(
            storage_url,
            spec.name,
            front_numbers(study, spec.confirm.front_members),
            spec.confirm.samples,
            processes=min(workers, 2),
        )
    return JobResult(spec, storage_url, study, study.user_attrs["baselines"], time.time() - start)
