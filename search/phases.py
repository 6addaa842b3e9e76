"""The phases of a search job, written once for `hwsearch run` and the service's workers.

    job = JobRun(spec)                                   # its workload loads once, on first use
    record_baselines(study, job)                         # dense and uniform candidates
    run_trials(job, storage_url, budget, deadline, worker_id)
    done = finalize(study, job)                          # test metrics; members to confirm
    confirm_trials(study, job, done.members, job.spec.confirm.samples)

`search.study.run_job` runs them with local processes; `service.workers.runner` runs them as
work claimed in its database and adds only claiming, leases and recording. Everything a
candidate needs to be rebuilt is stored with its trial (user attrs), so the database alone
suffices.
"""

import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState
from threadpoolctl import threadpool_limits

from search.budget import TrialBudget
from search.fidelity import UNTUNED_ATTR, hopeless
from search.front import (
    accuracy_floor,
    confirmation_key,
    front_designs,
    worth_building_first,
)
from search.report import publish_front
from search.sampling import (
    TRIED_STATES,
    JobSampler,
    design_key,
    make_sampler,
    param_space,
    sample_candidate,
)
from search.scoring import CandidateScorer, Score
from search.sensitivity import STUDY_ATTR as SENSITIVITY_ATTR
from search.sensitivity import (
    Sensitivity,
    measure_sensitivity,
    probe_allowance,
    probe_count,
    probe_plan,
    sensitivity_metric,
)
from search.spec import JobSpec, JobSpecError
from search.storage import make_storage
from search.transforms import (
    parse_candidate,
    relu_feeds,
    uniform_candidate,
    weighted_layers,
)
from search.workload import Workload, check_objectives, job_task, load_workload

MAX_FAILED_TRIALS = 5  # per worker: a candidate that crashes this often is a bug, not bad luck
SEED_MODULUS = 2**32  # numpy's seed range; a worker's sampler seed is the job's plus its id


class JobFailedError(RuntimeError):
    """Trials of the job keep failing; the message carries the last error."""


class JobRun:
    """One job in this process: its spec, and its workload and scorer, loaded on first use and
    then shared by every phase the process runs for the job (a workload takes seconds)."""

    def __init__(self, spec: JobSpec, workload: Workload | None = None):
        self.spec = spec
        if workload is not None:
            self.workload = workload

    @cached_property
    def workload(self) -> Workload:
        return load_workload(self.spec)

    @cached_property
    def scorer(self) -> CandidateScorer:
        return CandidateScorer(self.spec, self.workload)

    def check(self) -> None:
        """`check_model` on the loaded workload, before any trial."""
        check_model(self.spec, self.workload.model, self.workload.model_name)


def check_model(
    spec: JobSpec, model: torch.nn.Module, model_name: str, source: str | None = None
) -> None:
    """What a job needs of its model: overrides name its layers, objectives are metrics of
    its task, and a job that confirms its front has a model the RTL generator supports.
    JobSpecError naming the field otherwise."""
    source = source or spec.name
    spec.check_layers([name for name, _ in weighted_layers(model)], source)
    check_objectives(spec, job_task(spec), source)
    if spec.confirm.front_members:
        from search.rtl_design import check_rtl_supported

        try:
            check_rtl_supported(model, model_name)
        except NotImplementedError as err:
            raise JobSpecError(source, str(err), ("confirm", "front_members")) from None


# --- baselines -----------------------------------------------------------------------------


def evaluate_baselines(spec: JobSpec, scorer: CandidateScorer) -> list[dict]:
    """Dense 8-bit and uniform (every layer alike) candidates, scored like trials."""
    points = [("dense int8", uniform_candidate(0.0, 0.0, 8, 8, spec.pruning))]
    for sparsity in spec.baselines.weight_sparsity:
        for bits in spec.baselines.bits:
            label = f"uniform s={sparsity:g} {bits}b"
            points.append((label, uniform_candidate(sparsity, 0.0, bits, bits, spec.pruning)))
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


def record_baselines(study: optuna.Study, job: JobRun) -> list[dict]:
    """The job's baselines, scored and stored with the study once (a worker that died after
    storing them is not redone)."""
    if "baselines" not in study.user_attrs:
        found = evaluate_baselines(job.spec, job.scorer)
        if "baselines" not in study.user_attrs:  # another process may have been quicker
            study.set_user_attr("baselines", found)
    return study.user_attrs["baselines"]


# --- trials --------------------------------------------------------------------------------


def fit_violation(score: Score) -> float:
    """0 when the design fits the device, else how far the fullest resource is over."""
    return 0.0 if score.fits else max(score.max_utilisation - 1.0, 0.0) + 1e-3


def record_score(trial: optuna.Trial, score: Score) -> None:
    for key, value in score.to_dict().items():
        trial.set_user_attr(key, value)


UNTUNED_DESIGN_ATTR = "untuned_design"  # a tuned trial's design before tuning


class TrialObjective:
    """Optuna objective: sample a candidate, score it, store everything with the trial.

    A design some earlier trial already tried is not scored again: the trial is recorded
    PRUNED with `duplicate_of`. With fine-tuning and `finetune.early_stop`, a candidate is
    scored untuned first; it is a duplicate too when other sampled values built the same
    design (`TransformedModel.digest`), and it is stopped (PRUNED, `pruned_reason`) when tuning
    cannot make it useful (`search.fidelity`); a tuned trial keeps its untuned metrics for
    that rule.
    """

    def __init__(self, spec: JobSpec, scorer: CandidateScorer, sampler: JobSampler | None = None):
        self.spec, self.scorer, self.sampler = spec, scorer, sampler
        self.space = job_space(spec, scorer.workload.model)

    def __call__(self, trial: optuna.Trial) -> list[float]:
        candidate = sample_candidate(trial, self.space, self.spec.pruning)
        if self.sampler is not None:
            trial.set_user_attr("origin", self.sampler.origin(trial.number))
        earlier = _same_design(trial)
        if earlier is not None:
            trial.set_user_attr("duplicate_of", earlier)
            raise optuna.TrialPruned(f"the design of trial {earlier}")
        if self.spec.finetune.early_stop and self.scorer.fine_tunes(candidate):
            untuned = self.scorer.score(candidate, tune=False)
            trial.set_user_attr(UNTUNED_ATTR, untuned.metrics)
            trial.set_user_attr(UNTUNED_DESIGN_ATTR, untuned.design)
            earlier = _same_untuned_design(trial, untuned.design)
            if earlier is not None:
                trial.set_user_attr("duplicate_of", earlier)
                raise optuna.TrialPruned(f"the design of trial {earlier}")
            completed = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            reason = hopeless(self.spec, _objective_values(self.spec, untuned), completed)
            if reason is not None:
                trial.set_user_attr("pruned_reason", reason)
                raise optuna.TrialPruned(reason)
        score = self.scorer.score(candidate)
        record_score(trial, score)
        if self.spec.constraints.fits_device:
            trial.set_constraint("fits_device", fit_violation(score))
        if self.spec.constraints.min_accuracy is not None:
            trial.set_constraint(
                "min_accuracy", self.spec.constraints.min_accuracy - score.metrics["accuracy"]
            )
        return [score.objective(name) for name in self.spec.objectives]


def _objective_values(spec: JobSpec, score: Score) -> dict[str, float]:
    values = {name: score.objective(name) for name in spec.objectives}
    return {**score.metrics, **values}


def _first_earlier(trial: optuna.Trial, same: Callable[[FrozenTrial], bool]) -> int | None:
    """The number of the first earlier trial, scored or being scored, that is `same`."""
    earlier = trial.study.get_trials(deepcopy=False, states=TRIED_STATES)
    return next((t.number for t in earlier if t.number < trial.number and same(t)), None)


def _same_design(trial: optuna.Trial) -> int | None:
    """An earlier trial with this trial's design (its sampled values)."""
    mine = design_key(trial.params)
    return _first_earlier(trial, lambda t: design_key(t.params) == mine)


def _same_untuned_design(trial: optuna.Trial, digest: str) -> int | None:
    """An earlier trial whose design before tuning was `digest` (other nominal choices, same
    weights and thresholds): tuning it again would give its result."""
    return _first_earlier(
        trial, lambda t: t.user_attrs.get(UNTUNED_DESIGN_ATTR, t.user_attrs.get("design")) == digest
    )


def job_space(spec: JobSpec, model: torch.nn.Module) -> dict:
    """The job's parameters (`search.sampling.param_space`) for its model."""
    layers = [
        (name, "conv2d" if isinstance(m, torch.nn.Conv2d) else "linear")
        for name, m in weighted_layers(model)
    ]
    return param_space(spec, layers, set(relu_feeds(model).values()))


def job_sensitivity(study: optuna.Study, job: JobRun) -> Sensitivity | None:
    """The job's per-layer sensitivity, measured by the first worker that needs it and stored
    with the study (workers racing measure the same numbers); None when the job turns it off,
    has no task metric among its objectives, or cannot afford the probes (`probe_allowance`:
    the stored attr then says so)."""
    spec = job.spec
    if not spec.sampler.sensitivity or sensitivity_metric(spec) is None:
        return None
    stored = study.user_attrs.get(SENSITIVITY_ATTR)
    if stored is None:
        probes = probe_count(probe_plan(spec, job.workload.model))
        if probes > probe_allowance(spec):
            stored = {"skipped": f"{probes} probes, more than {probe_allowance(spec)} allowed"}
        else:
            dense = job.scorer.score(uniform_candidate(0.0, 0.0, 8, 8, spec.pruning))
            stored = measure_sensitivity(spec, job.scorer, dense.layers).to_dict()
        study.set_user_attr(SENSITIVITY_ATTR, stored)
    return None if "skipped" in stored else Sensitivity.from_dict(stored)


def run_trials(
    job: JobRun,
    storage_url: str,
    budget: TrialBudget,
    deadline: float,
    worker_id: int = 0,
) -> None:
    """A worker: load the study, then claim and run trials until the budget or time is spent.

    A PRUNED trial (a duplicate design, or stopped early) spends its slot; a failed one gives
    it back. Raises JobFailedError when MAX_FAILED_TRIALS trials of this worker failed.
    """
    spec = job.spec
    # one core per worker, for torch and for numpy's BLAS (the expected-cycles model's
    # products are small: threads cost more than they save, most of all beside other workers)
    torch.set_num_threads(1)
    threadpool_limits(limits=1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress is the caller's to show
    study = optuna.load_study(study_name=spec.name, storage=make_storage(storage_url))
    seed = (spec.sampler.seed + worker_id) % SEED_MODULUS
    worker_spec = spec.model_copy(
        update={"sampler": spec.sampler.model_copy(update={"seed": seed})}
    )
    space = job_space(spec, job.workload.model)
    study.sampler = make_sampler(worker_spec, space, job_sensitivity(study, job))
    objective = TrialObjective(spec, job.scorer, study.sampler)
    failures = 0
    while time.time() < deadline and budget.claim():
        finished: list[FrozenTrial] = []
        study.optimize(
            objective,
            n_trials=1,
            catch=(Exception,),
            callbacks=[lambda _s, t, out=finished: out.append(t)],
        )
        if not finished or finished[-1].state not in (TrialState.COMPLETE, TrialState.PRUNED):
            budget.release()
            failures += 1
            if failures >= MAX_FAILED_TRIALS:
                raise JobFailedError(
                    f"{failures} trials of {spec.name} failed; see the trials' "
                    "fail_reason in the study (optuna-dashboard shows it)"
                )


# --- finalize ------------------------------------------------------------------------------


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


def front_numbers(study: optuna.Study, spec: JobSpec, limit: int | None = None) -> list[int]:
    """One trial per distinct front design, in the order the job confirms them: the fastest
    designs within the accuracy floor first (`search.front.worth_building_first`), so the
    design behind the search gain is simulated; a design several trials built is simulated
    once."""
    floor = accuracy_floor(spec, study.user_attrs.get("baselines", []))
    designs = worth_building_first(front_designs(study), floor)
    return [design.trial.number for design in designs[:limit]]


class Finalized(NamedTuple):
    orphans: list[int]  # trials of dead workers, now FAIL
    members: list[int]  # front members to confirm, in order


def finalize(study: optuna.Study, job: JobRun) -> Finalized:
    """Fix the front once every trial slot has ended: fail orphaned trials, store the front's
    test metrics, show the front in optuna-dashboard (`search.report.publish_front`), choose
    the members to confirm (`confirm.front_members` distinct designs)."""
    orphans = fail_orphaned_trials(study)
    study.set_user_attr("front_test_metrics", evaluate_front_on_test(study, job.scorer))
    publish_front(study, job.spec)
    count = job.spec.confirm.front_members
    return Finalized(orphans, front_numbers(study, job.spec, count) if count else [])


# --- confirm -------------------------------------------------------------------------------


def confirm_trials(
    study: optuna.Study,
    job: JobRun,
    numbers: list[int],
    samples: int = 64,
    processes: int = 2,
    build_dir: str | Path | None = None,
) -> dict[int, dict]:
    """Confirm stored trials in RTL simulation (`search.confirm`), `processes` at a time; each
    report is stored with the study (user attr `confirmation:<n>`) and the dashboard's front
    is updated. A failed simulation gives `{"error": ...}`. Raises ModuleNotFoundError in a
    build without rtl/."""
    import rtl
    from search.confirm import compare, prepare_confirmation

    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    prepared = {}
    for number in numbers:
        trial = trials.get(number)
        if trial is None or "candidate" not in trial.user_attrs:
            raise ValueError(f"study {study.study_name!r} has no completed trial {number}")
        candidate = parse_candidate(trial.user_attrs["candidate"], f"trial {number}")
        prepared[number] = prepare_confirmation(job.scorer, candidate, samples)
    results = rtl.confirm_many([p.job for p in prepared.values()], processes, build_dir)
    reports = {}
    for (number, prep), result in zip(prepared.items(), results, strict=True):
        if isinstance(result, Exception):
            reports[number] = {"trial": number, "error": str(result)}
        else:
            reports[number] = {"trial": number, **compare(prep, result)}
        study.set_user_attr(confirmation_key(number), reports[number])
    publish_front(study, job.spec)
    return reports


def confirm_trial(study: optuna.Study, job: JobRun, trial_number: int, samples: int = 64) -> dict:
    """One stored trial (the service's confirmation task)."""
    return confirm_trials(study, job, [trial_number], samples, processes=1)[trial_number]
