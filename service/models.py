"""The service's own tables (SQLAlchemy 2). Optuna keeps its own schema in the same database.

Every table is prefixed `hws_`. Jobs link to their Optuna study by `study_name` (no foreign
key into Optuna's tables). A job's state is its row: `status`, plus who holds its one-off
steps (baselines, finalize) and the trial-slot claims of its workers.
"""

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way in and out, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use service.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class JobStatus(enum.StrEnum):
    QUEUED = "queued"  # submitted, study created, no worker yet
    RUNNING = "running"  # baselines and trials
    CONFIRMING = "confirming"  # front fixed, confirmation tasks pending
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class ClaimState(enum.StrEnum):
    ACTIVE = "active"  # the worker is running (or about to run) one trial
    DONE = "done"  # that trial completed
    RELEASED = "released"  # that trial did not complete; the slot went back
    EXPIRED = "expired"  # the worker stopped heartbeating; the slot went back


class ConfirmationStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ApiKey(Base):
    __tablename__ = "hws_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, shown in listings
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the key
    scopes: Mapped[list[str]] = mapped_column(JSON)  # service.core.security.Scope values
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Worker(Base):
    """One `hwsearch worker` process; alive while `last_seen` is younger than the lease."""

    __tablename__ = "hws_workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[int | None] = mapped_column(Integer)  # what it works on (no FK: informative)
    activity: Mapped[str] = mapped_column(String(32), default="idle")

    @property
    def name(self) -> str:
        return f"{self.hostname}:{self.pid}"


class Job(Base):
    __tablename__ = "hws_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_name: Mapped[str] = mapped_column(String(100), unique=True)  # == spec["name"]
    spec: Mapped[dict] = mapped_column(JSON)  # search.spec.JobSpec, as submitted
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"), default=JobStatus.QUEUED, index=True
    )
    n_trials: Mapped[int | None] = mapped_column(Integer)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    has_uploads: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[int | None] = mapped_column(
        ForeignKey("hws_api_keys.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One-off steps: held by one live worker at a time, done once.
    baselines_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("hws_workers.id", ondelete="SET NULL")
    )
    baselines_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalize_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("hws_workers.id", ondelete="SET NULL")
    )
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    confirmations: Mapped[list["Confirmation"]] = relationship(
        back_populates="job", order_by="Confirmation.trial_number"
    )


class TrialClaim(Base):
    """The right to run one trial of a job (search.budget.TrialBudget in the database)."""

    __tablename__ = "hws_trial_claims"
    __table_args__ = (Index(None, "job_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("hws_jobs.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("hws_workers.id", ondelete="CASCADE"))
    state: Mapped[ClaimState] = mapped_column(
        _enum(ClaimState, "claim_state"), default=ClaimState.ACTIVE
    )
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Confirmation(Base):
    """RTL confirmation of one front member: generate, simulate, compare with the model."""

    __tablename__ = "hws_confirmations"
    __table_args__ = (UniqueConstraint("job_id", "trial_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("hws_jobs.id", ondelete="CASCADE"))
    trial_number: Mapped[int] = mapped_column(Integer)
    samples: Mapped[int] = mapped_column(Integer)
    status: Mapped[ConfirmationStatus] = mapped_column(
        _enum(ConfirmationStatus, "confirmation_status"),
        default=ConfirmationStatus.QUEUED,
        index=True,
    )
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("hws_workers.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSON)  # search.confirm.confirm_trial's report
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    job: Mapped[Job] = relationship(back_populates="confirmations")


class Artifact(Base):
    """A file kept in the database, so API and workers on other machines share it.

    Keys: `upload/model`, `upload/dataset` (a job's uploaded files), `bundle/<trial>` and
    `plot/pareto.png` (built on request and cached while `source` still matches).
    """

    __tablename__ = "hws_artifacts"
    __table_args__ = (UniqueConstraint("job_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("hws_jobs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200), default="")  # what it was built from
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
