"""What the API shows about a job, read from its Optuna study with search's own report code.

Rows come from `search.report` (`front_rows`, `baseline_rows`, `search_gain`) over a
`search.study.JobResult`, so the service and `hwsearch run` print the same numbers.
"""

import optuna
from optuna.trial import FrozenTrial, TrialState

from search import (
    JobResult,
    JobSpec,
    accuracy_floor,
    baseline_rows,
    confirmation_summary,
    front_rows,
    search_gain,
)
from service.models import Confirmation, ConfirmationStatus, Job
from service.schemas import (
    CandidatePublic,
    ConfirmationPublic,
    FrontMember,
    FrontPublic,
    JobDetail,
    JobProgress,
    JobPublic,
    TrialPublic,
    TrialsPublic,
)


def job_spec(job: Job) -> JobSpec:
    return JobSpec.model_validate(job.spec)


def job_links(prefix: str, job_id: int) -> dict[str, str]:
    base = f"{prefix}/jobs/{job_id}"
    return {
        "self": base,
        "trials": f"{base}/trials",
        "front": f"{base}/front",
        "plot": f"{base}/front.png",
        "confirmations": f"{base}/confirmations",
        "cancel": f"{base}/cancel",
    }


def candidate_links(prefix: str, job_id: int, number: int) -> dict[str, str]:
    base = f"{prefix}/jobs/{job_id}/candidates/{number}"
    return {"metadata": base, "bundle": f"{base}/bundle"}


def job_public(job: Job, progress: JobProgress, prefix: str) -> JobPublic:
    spec = job.spec
    model = spec["model"] if isinstance(spec["model"], str) else spec["model"]["path"]
    return JobPublic(
        id=job.id,
        name=job.study_name,
        status=job.status,
        model=model,
        device=spec["device"],
        objectives=spec["objectives"],
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=progress,
        links=job_links(prefix, job.id),
    )


def job_result(job: Job, study: optuna.Study, storage_url: str) -> JobResult:
    seconds = 0.0
    if job.started_at is not None and job.finished_at is not None:
        seconds = (job.finished_at - job.started_at).total_seconds()
    return JobResult(
        job_spec(job), storage_url, study, study.user_attrs.get("baselines", []), seconds
    )


def front_members(
    job: Job, result: JobResult, confirmations: list[Confirmation], prefix: str
) -> list[FrontMember]:
    """One member per distinct front design; its confirmation is the task of the first of
    its trials that has one (a finished task first)."""
    tasks = {c.trial_number: c for c in confirmations}
    members = []
    for row in front_rows(result):
        row = {k: v for k, v in row.items() if k != "confirmation"}  # the task has the report
        found = [tasks[n] for n in row["trials"] if n in tasks]
        done = [t for t in found if t.status is ConfirmationStatus.DONE]
        task = (done or found or [None])[0]
        members.append(
            FrontMember(
                **row,
                confirmation=None if task is None else task.status,
                confirmation_summary=None if task is None else confirmation_text(task),
                links=candidate_links(prefix, job.id, row["trial"]),
            )
        )
    return members


def confirmation_text(task: Confirmation) -> str:
    """search.report's summary of a finished task's report, else its state or error."""
    if task.status is ConfirmationStatus.DONE:
        try:
            return confirmation_summary(task.report)
        except (KeyError, TypeError):  # a report of another rtl version: still done
            return "done"
    if task.status is ConfirmationStatus.FAILED:
        return f"failed: {task.error}"
    return task.status.value


def job_detail(
    job: Job,
    progress: JobProgress,
    result: JobResult,
    confirmations: list[Confirmation],
    prefix: str,
) -> JobDetail:
    front = front_members(job, result, confirmations, prefix)
    progress = progress.model_copy(update={"front_size": len(front)})
    return JobDetail(**job_public(job, progress, prefix).model_dump(), spec=job.spec, front=front)


def front_public(
    job: Job, result: JobResult, confirmations: list[Confirmation], prefix: str
) -> FrontPublic:
    has_dense = any(b["label"] == "dense int8" for b in result.baselines)
    return FrontPublic(
        job_id=job.id,
        name=job.study_name,
        status=job.status,
        objectives=result.spec.objectives,
        directions=result.spec.directions(),
        final=job.finalized_at is not None,
        members=front_members(job, result, confirmations, prefix),
        baselines=baseline_rows(result),
        accuracy_floor=accuracy_floor(result.spec, result.baselines),
        gain=search_gain(result) if has_dense and result.front else None,
    )


def _trial_public(trial: FrozenTrial) -> TrialPublic:
    hardware = trial.user_attrs.get("hardware") or {}
    return TrialPublic(
        number=trial.number,
        state=trial.state.name,
        values=trial.values,
        params=trial.params,
        metrics=trial.user_attrs.get("metrics"),
        throughput_fps=hardware.get("throughput_fps"),
        fits=hardware.get("fits"),
        datetime_start=trial.datetime_start,
        datetime_complete=trial.datetime_complete,
    )


def trials_page(
    study: optuna.Study, state: TrialState | None, offset: int, limit: int
) -> TrialsPublic:
    trials = study.get_trials(deepcopy=False, states=None if state is None else (state,))
    return TrialsPublic(
        data=[_trial_public(t) for t in trials[offset : offset + limit]], count=len(trials)
    )


def find_trial(study: optuna.Study, number: int) -> FrozenTrial | None:
    """The trial with this number, if it has a scored candidate."""
    for trial in study.get_trials(deepcopy=False):
        if trial.number == number:
            return trial if "candidate" in trial.user_attrs else None
    return None


def candidate_public(
    job: Job,
    study: optuna.Study,
    trial: FrozenTrial,
    confirmation: Confirmation | None,
    prefix: str,
) -> CandidatePublic:
    spec = job_spec(job)
    attrs = trial.user_attrs
    tests = study.user_attrs.get("front_test_metrics", {})
    on_front = trial.state is TrialState.COMPLETE and any(
        t.number == trial.number for t in study.best_trials
    )
    values = trial.values if trial.state is TrialState.COMPLETE else None
    return CandidatePublic(
        job_id=job.id,
        trial_number=trial.number,
        state=trial.state.name,
        on_front=on_front,
        objectives=dict(zip(spec.objectives, values, strict=True)) if values else None,
        candidate=attrs["candidate"],
        metrics=attrs["metrics"],
        test_metrics=tests.get(str(trial.number)),
        layers=attrs["layers"],
        hardware=attrs["hardware"],
        device=spec.device,
        clock_mhz=spec.clock_mhz,
        confirmation=None
        if confirmation is None
        else ConfirmationPublic.model_validate(confirmation),
        links=candidate_links(prefix, job.id, trial.number),
    )
