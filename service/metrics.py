"""Prometheus text exposition (format 0.0.4) of jobs, workers, trials and confirmations."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import crud
from service.models import (
    ClaimState,
    Confirmation,
    ConfirmationStatus,
    Job,
    JobStatus,
    TrialClaim,
)
from service.optuna_tables import STATES, trial_counts

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: object) -> None:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_metrics(session: Session, cutoff: datetime) -> str:
    out = _Exposition()
    jobs = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    out.family("hwsearch_jobs", "gauge", "Jobs by status.")
    for status in JobStatus:
        out.sample("hwsearch_jobs", jobs.get(status, 0), status=status.value)

    out.family("hwsearch_workers_live", "gauge", "Workers with a fresh heartbeat.")
    out.sample("hwsearch_workers_live", crud.count_live_workers(session=session, cutoff=cutoff))

    tasks = dict(
        session.execute(
            select(Confirmation.status, func.count()).group_by(Confirmation.status)
        ).all()
    )
    out.family("hwsearch_confirmations", "gauge", "Confirmation tasks by status.")
    for status in ConfirmationStatus:
        out.sample("hwsearch_confirmations", tasks.get(status, 0), status=status.value)

    claims = session.scalar(
        select(func.count()).select_from(TrialClaim).where(TrialClaim.state == ClaimState.ACTIVE)
    )
    out.family("hwsearch_trial_claims_active", "gauge", "Trial slots held by workers.")
    out.sample("hwsearch_trial_claims_active", claims or 0)

    active = list(
        session.scalars(
            select(Job).where(
                Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CONFIRMING))
            )
        )
    )
    counts = trial_counts(session, [j.study_name for j in active])
    out.family("hwsearch_job_trials", "gauge", "Trials of unfinished jobs by state.")
    for job in active:
        for state in STATES:
            out.sample(
                "hwsearch_job_trials",
                counts[job.study_name][state],
                job_id=job.id,
                job=job.study_name,
                state=state,
            )
    out.family("hwsearch_job_trials_budget", "gauge", "n_trials of unfinished jobs.")
    for job in active:
        if job.n_trials is not None:
            out.sample(
                "hwsearch_job_trials_budget", job.n_trials, job_id=job.id, job=job.study_name
            )
    return out.text()
