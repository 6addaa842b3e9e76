"""Confirmation tasks: list, read, finish. Workers claim them in `claims.next_work`."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.crud.jobs import lock_job
from service.models import Confirmation, ConfirmationStatus, JobStatus, utcnow


def list_confirmations(*, session: Session, job_id: int) -> list[Confirmation]:
    return list(
        session.scalars(
            select(Confirmation)
            .where(Confirmation.job_id == job_id)
            .order_by(Confirmation.trial_number)
        )
    )


def get_confirmation(*, session: Session, job_id: int, trial_number: int) -> Confirmation | None:
    return session.scalar(
        select(Confirmation).where(
            Confirmation.job_id == job_id, Confirmation.trial_number == trial_number
        )
    )


def close_confirmation(
    session: Session,
    task: Confirmation,
    status: ConfirmationStatus,
    now: datetime,
    *,
    report: dict | None = None,
    error: str | None = None,
) -> None:
    """End one task; its job is done when none of its tasks is left queued or running."""
    task.status, task.report, task.error, task.finished_at = status, report, error, now
    session.flush()
    job = lock_job(session, task.job_id)
    pending = session.scalar(
        select(func.count())
        .select_from(Confirmation)
        .where(
            Confirmation.job_id == task.job_id,
            Confirmation.status.in_((ConfirmationStatus.QUEUED, ConfirmationStatus.RUNNING)),
        )
    )
    if job is not None and job.status is JobStatus.CONFIRMING and not pending:
        job.status, job.finished_at = JobStatus.DONE, now


def finish_confirmation(
    *,
    session: Session,
    confirmation_id: int,
    worker_id: int,
    report: dict | None = None,
    error: str | None = None,
) -> bool:
    """Store a task's report (done) or error (failed); False when the worker no longer held
    it (the job was cancelled, or the task was handed to another worker)."""
    job_id = session.scalar(select(Confirmation.job_id).where(Confirmation.id == confirmation_id))
    if job_id is None:
        return False
    lock_job(session, job_id)  # job before task, the order every writer uses
    task = session.get(Confirmation, confirmation_id, populate_existing=True)
    if task.status is not ConfirmationStatus.RUNNING or task.worker_id != worker_id:
        return False
    status = ConfirmationStatus.FAILED if error is not None else ConfirmationStatus.DONE
    close_confirmation(session, task, status, utcnow(), report=report, error=error)
    return True
