"""Worker rows: registration, heartbeats, liveness.

A worker is live while its `last_seen` is younger than the lease (Settings.lease_s) and it
has not stopped. Times come from each machine's clock (UTC); the lease is tens of seconds, so
NTP-synchronised clocks are plenty.
"""

from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from service.models import Worker, utcnow


def live_cutoff(lease_s: float, now: datetime | None = None) -> datetime:
    """Workers last seen before this are dead."""
    return (now or utcnow()) - timedelta(seconds=lease_s)


def dead_worker_ids(cutoff: datetime) -> Select:
    return select(Worker.id).where(or_(Worker.last_seen < cutoff, Worker.stopped_at.is_not(None)))


def is_live(worker: Worker | None, cutoff: datetime) -> bool:
    return worker is not None and worker.stopped_at is None and worker.last_seen >= cutoff


def register_worker(*, session: Session, hostname: str, pid: int) -> Worker:
    worker = Worker(hostname=hostname, pid=pid)
    session.add(worker)
    session.flush()
    return worker


def beat(*, session: Session, worker_id: int) -> None:
    session.execute(update(Worker).where(Worker.id == worker_id).values(last_seen=utcnow()))


def set_activity(*, session: Session, worker_id: int, job_id: int | None, activity: str) -> None:
    session.execute(
        update(Worker)
        .where(Worker.id == worker_id)
        .values(job_id=job_id, activity=activity, last_seen=utcnow())
    )


def stop_worker(*, session: Session, worker_id: int) -> None:
    session.execute(
        update(Worker)
        .where(Worker.id == worker_id)
        .values(stopped_at=utcnow(), job_id=None, activity="stopped")
    )


def count_live_workers(*, session: Session, cutoff: datetime, job_id: int | None = None) -> int:
    query = (
        select(func.count())
        .select_from(Worker)
        .where(Worker.last_seen >= cutoff, Worker.stopped_at.is_(None))
    )
    if job_id is not None:
        query = query.where(Worker.job_id == job_id)
    return session.scalar(query) or 0
