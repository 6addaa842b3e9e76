"""Job rows: create, read, list with progress, cancel, fail."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.models import (
    ClaimState,
    Confirmation,
    ConfirmationStatus,
    Job,
    JobStatus,
    TrialClaim,
    Worker,
    utcnow,
)
from service.optuna_tables import trial_counts
from service.schemas import JobProgress

if TYPE_CHECKING:
    from search import JobSpec


class JobConflictError(Exception):
    """The request conflicts with the job's state (or another job's name)."""


def get_job(*, session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def get_job_by_name(*, session: Session, name: str) -> Job | None:
    return session.scalar(select(Job).where(Job.study_name == name))


def lock_job(session: Session, job_id: int, *, skip_locked: bool = False) -> Job | None:
    """The job row, locked until the transaction ends (SQLite: already, by BEGIN IMMEDIATE).

    With `skip_locked`, None when another transaction holds it (PostgreSQL).
    """
    query = (
        select(Job)
        .where(Job.id == job_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return session.scalar(query)


def job_deadline(job: Job) -> datetime | None:
    """When a job with a timeout stops starting trials (None: no timeout, or not started).

    Specs bound timeouts (`search.spec.MAX_TIMEOUT_S`); a row written before that bound with
    a deadline past what a datetime holds (year 9999) has, in effect, none.
    """
    if job.timeout_s is None or job.started_at is None:
        return None
    try:
        return job.started_at + timedelta(seconds=job.timeout_s)
    except OverflowError:
        return None


def list_jobs(
    *, session: Session, status: JobStatus | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[Job], int]:
    query = select(Job)
    if status is not None:
        query = query.where(Job.status == status)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    jobs = session.scalars(query.order_by(Job.id.desc()).offset(offset).limit(limit))
    return list(jobs), count


def create_job(
    *, session: Session, spec: "JobSpec", submitted_by: int | None, has_uploads: bool = False
) -> Job:
    """A queued job for `spec`; JobConflictError when its name is taken."""
    job = Job(
        study_name=spec.name,
        spec=spec.model_dump(mode="json"),
        n_trials=spec.budget.n_trials,
        timeout_s=spec.budget.timeout_s,
        has_uploads=has_uploads,
        submitted_by=submitted_by,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError as err:
        raise JobConflictError(f"a job named {spec.name!r} exists; choose another name") from err
    return job


def _end(session: Session, job: Job, status: JobStatus, error: str | None = None) -> None:
    job.status, job.finished_at = status, utcnow()
    if error is not None:
        job.error = error
    session.execute(
        update(Confirmation)
        .where(
            Confirmation.job_id == job.id,
            Confirmation.status.in_((ConfirmationStatus.QUEUED, ConfirmationStatus.RUNNING)),
        )
        .values(status=ConfirmationStatus.CANCELLED, finished_at=utcnow())
    )


def cancel_job(*, session: Session, job_id: int) -> Job | None:
    """Stop a job: no trial or confirmation starts again (running ones finish unrecorded)."""
    job = lock_job(session, job_id)
    if job is None:
        return None
    if job.status.finished:
        raise JobConflictError(f"job {job_id} is already {job.status.value}")
    _end(session, job, JobStatus.CANCELLED)
    return job


def fail_job(*, session: Session, job_id: int, error: str) -> None:
    job = lock_job(session, job_id)
    if job is not None and not job.status.finished:
        _end(session, job, JobStatus.FAILED, error)


def job_progress(*, session: Session, jobs: list[Job], cutoff: datetime) -> dict[int, JobProgress]:
    """Trial counts (from Optuna's tables), live workers and claims, confirmations per job."""
    ids = [j.id for j in jobs]
    counts = trial_counts(session, [j.study_name for j in jobs])
    workers = dict(
        session.execute(
            select(Worker.job_id, func.count())
            .where(Worker.job_id.in_(ids), Worker.last_seen >= cutoff, Worker.stopped_at.is_(None))
            .group_by(Worker.job_id)
        ).all()
    )
    claims = dict(
        session.execute(
            select(TrialClaim.job_id, func.count())
            .join(Worker, Worker.id == TrialClaim.worker_id)
            .where(
                TrialClaim.job_id.in_(ids),
                TrialClaim.state == ClaimState.ACTIVE,
                Worker.last_seen >= cutoff,
                Worker.stopped_at.is_(None),
            )
            .group_by(TrialClaim.job_id)
        ).all()
    )
    confirmations: dict[int, dict[ConfirmationStatus, int]] = {i: {} for i in ids}
    for job_id, status, count in session.execute(
        select(Confirmation.job_id, Confirmation.status, func.count())
        .where(Confirmation.job_id.in_(ids))
        .group_by(Confirmation.job_id, Confirmation.status)
    ):
        confirmations[job_id][status] = count
    out = {}
    for job in jobs:
        c = counts[job.study_name]
        out[job.id] = JobProgress(
            trials_complete=c["COMPLETE"],
            trials_running=c["RUNNING"],
            trials_failed=c["FAIL"],
            trials_waiting=c["WAITING"],
            n_trials=job.n_trials,
            timeout_s=job.timeout_s,
            workers_active=workers.get(job.id, 0),
            claims_active=claims.get(job.id, 0),
            baselines_done=job.baselines_done_at is not None,
            confirmations=confirmations[job.id],
        )
    return out
