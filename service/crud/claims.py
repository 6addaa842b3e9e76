"""Claims: which worker does what, decided under the job's row lock.

Trial slots (the database `TrialBudget`). A job has n_trials slots. A slot is used by a
finished trial (COMPLETE or PRUNED, counted in Optuna's tables) or held by an ACTIVE claim
of a live worker.
`claim_trial` takes a free slot; the worker's next `claim_trial` marks its previous claim
DONE (the trial completed), `end_claim(RELEASED)` gives it back when the trial did not
complete. When a worker stops heartbeating for the lease, its ACTIVE claims EXPIRE and the
slots are free again; by then Optuna's heartbeat has failed its RUNNING trial and re-queued
it, and the next worker's `study.optimize` runs that retry in the freed slot. Between a
trial's completion and its claim becoming DONE the slot is counted twice, which only makes
other claims wait; it is never counted zero times, so the study ends with exactly n_trials
finished trials.

One-off steps (baselines, finalize) are held by one live worker at a time: a worker takes a
step when nobody holds it or its holder is dead. `next_work` hands out, in order:
a queued (or orphaned) confirmation task, then for the oldest unfinished job its baselines,
a free trial slot, or its finalization. A job whose scheduling raises is failed with the
error, and the next job is considered: no job can stop the others.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.crud.confirmations import close_confirmation
from service.crud.jobs import fail_job, job_deadline, lock_job
from service.crud.workers import dead_worker_ids, is_live, live_cutoff
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
from service.optuna_tables import finished_count


@dataclass(frozen=True)
class Slots:
    complete: int  # finished (COMPLETE or PRUNED) trials of the job's study
    in_flight: int  # ACTIVE claims of live workers
    free: float  # slots a worker may claim now (inf: timeout-only job before its deadline)
    done: bool  # n_trials trials are finished
    late: bool  # the job's timeout has passed

    @property
    def spent(self) -> bool:
        """No trial will start again."""
        return self.done or self.late

    @property
    def settled(self) -> bool:
        """Spent, and no trial is still running: the front can be fixed. (Once `done`, an
        in-flight claim can only be one whose trial completed but is not yet marked.)"""
        return self.done or (self.late and self.in_flight == 0)


def trial_slots(session: Session, job: Job, cutoff: datetime, now: datetime) -> Slots:
    """Expire the claims of dead workers, then count. Call with the job row locked."""
    session.execute(
        update(TrialClaim)
        .where(
            TrialClaim.job_id == job.id,
            TrialClaim.state == ClaimState.ACTIVE,
            TrialClaim.worker_id.in_(dead_worker_ids(cutoff)),
        )
        .values(state=ClaimState.EXPIRED, ended_at=now)
    )
    in_flight = (
        session.scalar(
            select(func.count())
            .select_from(TrialClaim)
            .where(TrialClaim.job_id == job.id, TrialClaim.state == ClaimState.ACTIVE)
        )
        or 0
    )
    complete = finished_count(session, job.study_name)
    deadline = job_deadline(job)
    late = deadline is not None and now >= deadline
    if job.n_trials is None:
        return Slots(complete, in_flight, 0 if late else math.inf, False, late)
    free = 0 if late else job.n_trials - complete - in_flight
    return Slots(complete, in_flight, free, complete >= job.n_trials, late)


def _finish_claim(session: Session, claim_id: int, state: ClaimState, now: datetime) -> None:
    session.execute(
        update(TrialClaim)
        .where(TrialClaim.id == claim_id, TrialClaim.state == ClaimState.ACTIVE)
        .values(state=state, ended_at=now)
    )


def claim_trial(
    *,
    session: Session,
    job_id: int,
    worker_id: int,
    previous_claim_id: int | None,
    lease_s: float,
) -> int | None:
    """Take one trial slot of a running job: the new claim's id, or None (spent, stopped).

    `previous_claim_id` is this worker's last claim, whose trial completed.
    """
    now = utcnow()
    job = lock_job(session, job_id)
    if job is None:
        return None
    if previous_claim_id is not None:
        _finish_claim(session, previous_claim_id, ClaimState.DONE, now)
    if job.status is not JobStatus.RUNNING:
        return None
    if trial_slots(session, job, live_cutoff(lease_s, now), now).free < 1:
        return None
    claim = TrialClaim(job_id=job_id, worker_id=worker_id, claimed_at=now)
    session.add(claim)
    session.flush()
    return claim.id


def end_claim(*, session: Session, claim_id: int, state: ClaimState) -> None:
    """DONE (its trial completed) or RELEASED (it did not: the slot goes back)."""
    _finish_claim(session, claim_id, state, utcnow())


@dataclass(frozen=True)
class Work:
    kind: Literal["confirm", "baselines", "trials", "finalize"]
    job_id: int
    confirmation_id: int | None = None


def _claimable_task(cutoff: datetime, worker_id: int):
    """Queued, or running on a dead worker (or on the asking one, which is by definition not
    working on it any more: its attempt was interrupted)."""
    return or_(
        Confirmation.status == ConfirmationStatus.QUEUED,
        (Confirmation.status == ConfirmationStatus.RUNNING)
        & or_(
            Confirmation.worker_id.is_(None),
            Confirmation.worker_id == worker_id,
            Confirmation.worker_id.in_(dead_worker_ids(cutoff)),
        ),
    )


def _next_confirmation(
    session: Session, worker_id: int, cutoff: datetime, max_attempts: int, now: datetime
) -> Work | None:
    """Claim a claimable task (one lost max_attempts times fails instead). Locks the job
    row before the task row, the order every writer uses."""
    candidates = session.execute(
        select(Confirmation.id, Confirmation.job_id)
        .join(Job, Job.id == Confirmation.job_id)
        .where(Job.status == JobStatus.CONFIRMING, _claimable_task(cutoff, worker_id))
        .order_by(Confirmation.id)
        .limit(20)
    ).all()
    for task_id, job_id in candidates:
        job = lock_job(session, job_id, skip_locked=True)
        if job is None or job.status is not JobStatus.CONFIRMING:
            continue
        task = session.scalar(
            select(Confirmation)
            .where(Confirmation.id == task_id, _claimable_task(cutoff, worker_id))
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if task is None:
            continue
        if task.attempts >= max_attempts:
            close_confirmation(
                session,
                task,
                ConfirmationStatus.FAILED,
                now,
                error=f"the worker running it was lost {task.attempts} times",
            )
            continue
        task.status, task.worker_id = ConfirmationStatus.RUNNING, worker_id
        task.attempts += 1
        task.started_at = now
        return Work("confirm", task.job_id, task.id)
    return None


def _held(session: Session, holder: int | None, worker_id: int, cutoff: datetime) -> bool:
    """Is a one-off step held by another live worker? (A step held by the asking worker was
    interrupted: it asks for work only when it does none.)"""
    return holder not in (None, worker_id) and is_live(session.get(Worker, holder), cutoff)


def _job_work(session: Session, job: Job, worker_id: int, cutoff: datetime, now: datetime):
    if job.status is JobStatus.QUEUED:
        job.status, job.started_at = JobStatus.RUNNING, now
    if job.baselines_done_at is None and not _held(
        session, job.baselines_worker_id, worker_id, cutoff
    ):
        job.baselines_worker_id = worker_id
        return Work("baselines", job.id)
    slots = trial_slots(session, job, cutoff, now)
    if slots.free >= 1:
        return Work("trials", job.id)
    if (
        slots.settled
        and job.baselines_done_at is not None
        and not _held(session, job.finalize_worker_id, worker_id, cutoff)
    ):
        job.finalize_worker_id = worker_id
        return Work("finalize", job.id)
    return None


def next_work(
    *, session: Session, worker_id: int, lease_s: float, confirm_max_attempts: int
) -> Work | None:
    """The next thing this worker should do, already claimed; None when there is nothing."""
    now = utcnow()
    cutoff = live_cutoff(lease_s, now)
    work = _next_confirmation(session, worker_id, cutoff, confirm_max_attempts, now)
    if work is not None:
        return work
    job_ids = session.scalars(
        select(Job.id).where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))).order_by(Job.id)
    ).all()
    for job_id in job_ids:
        job = lock_job(session, job_id, skip_locked=True)
        if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            continue
        try:
            with session.begin_nested():
                work = _job_work(session, job, worker_id, cutoff, now)
        except DBAPIError:
            raise
        except Exception as err:  # a job that cannot be scheduled fails alone
            fail_job(session=session, job_id=job_id, error=f"{type(err).__name__}: {err}")
            continue
        if work is not None:
            return work
    return None


def finish_baselines(*, session: Session, job_id: int, worker_id: int) -> bool:
    """Record the baselines as done; False when this worker no longer held the step."""
    job = lock_job(session, job_id)
    if job is None or job.baselines_worker_id != worker_id or job.baselines_done_at:
        return False
    job.baselines_done_at = utcnow()
    return True


def finalize_job(
    *, session: Session, job_id: int, worker_id: int, members: list[int], samples: int
) -> Job | None:
    """Fix the front: queue a confirmation per member; the job then confirms, or is done."""
    job = lock_job(session, job_id)
    if job is None or job.finalize_worker_id != worker_id or job.status is not JobStatus.RUNNING:
        return None
    now = utcnow()
    job.finalized_at = now
    for number in members:
        session.add(Confirmation(job_id=job_id, trial_number=number, samples=samples))
    if members:
        job.status = JobStatus.CONFIRMING
    else:
        job.status, job.finished_at = JobStatus.DONE, now
    return job
