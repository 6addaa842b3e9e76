"""Pydantic schemas of the REST API: what goes in (`Create`) and what comes out (`Public`).

The request schema of a job is `search.spec.JobSpec` itself, so the CLI runner and the
service accept exactly the same documents (this module does not import it: workers' light
helpers use these schemas without loading torch).
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.core.security import Scope
from service.models import ConfirmationStatus, JobStatus


def _utc(value: datetime) -> datetime:
    """Every datetime goes out in UTC with its offset (RFC 3339, as the schema says). A naive
    one is local time: Optuna's RDB storage writes `datetime.now()`."""
    return value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class HealthPublic(BaseModel):
    status: str = Field(description="ok, or degraded when the database does not answer")
    database: str
    version: str


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


class ApiKeyPublic(_Public):
    id: int
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: Timestamp
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the secret; shown once, stored only as a SHA-256 digest")


class ConfirmationPublic(_Public):
    id: int
    job_id: int
    trial_number: int
    status: ConfirmationStatus
    samples: int
    attempts: int
    report: dict[str, Any] | None = Field(description="search.confirm.confirm_trial's report")
    error: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None


class ConfirmationsPublic(BaseModel):
    data: list[ConfirmationPublic]
    count: int


class JobProgress(BaseModel):
    trials_complete: int
    trials_running: int
    trials_failed: int
    trials_waiting: int = Field(description="failed trials of dead workers, queued for a retry")
    n_trials: int | None = Field(description="the budget; null for timeout-only jobs")
    timeout_s: float | None
    workers_active: int = Field(description="live workers currently on this job")
    claims_active: int = Field(description="trial slots held by live workers")
    baselines_done: bool
    front_size: int | None = Field(
        default=None, description="distinct designs on the feasible Pareto front"
    )
    confirmations: dict[ConfirmationStatus, int] = {}


class JobPublic(BaseModel):
    id: int
    name: str = Field(description="the job name, also its Optuna study name")
    status: JobStatus
    model: str
    device: str
    objectives: list[str]
    error: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    progress: JobProgress
    links: dict[str, str]


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class FrontMember(BaseModel):
    """One distinct front design as `search.report.front_rows` gives it (trials that built
    the same design are one member), plus its confirmation task."""

    trial: int = Field(description="the first trial that built the design (its candidate)")
    trials: list[int] = Field(description="every trial that built this same design")
    label: str
    objectives: dict[str, float]
    val_accuracy: float | None
    test_accuracy: float | None
    throughput_fps: float
    latency_us: float
    lut: int
    ff: int
    dsp: int
    bram: float
    fits: bool
    layers: str = Field(description="per layer: weight/activation sparsity, weight/input bits")
    confirmed: bool = Field(
        description="simulated in RTL bit-exact and in exactly the cycles the model predicts"
    )
    confirmation: ConfirmationStatus | None = Field(description="its RTL confirmation task")
    confirmation_summary: str | None = Field(
        description="bit-exactness and cycles against the model (search.report)"
    )
    links: dict[str, str]


class JobDetail(JobPublic):
    spec: dict[str, Any]
    front: list[FrontMember]


class FrontPublic(BaseModel):
    job_id: int
    name: str
    status: JobStatus
    objectives: list[str]
    directions: list[str]
    final: bool = Field(description="true once the budget is spent and the front is fixed")
    members: list[FrontMember]
    baselines: list[dict[str, Any]] = Field(
        description="search.report.baseline_rows: dense int8 and uniform reference designs"
    )
    accuracy_floor: float | None = Field(
        default=None, description="the useful region's lowest accuracy (search.front)"
    )
    gain: dict[str, Any] | None = Field(description="search.report.search_gain")


class TrialPublic(BaseModel):
    number: int
    state: str
    values: list[float] | None
    params: dict[str, Any]
    metrics: dict[str, float] | None
    throughput_fps: float | None
    fits: bool | None
    datetime_start: Timestamp | None
    datetime_complete: Timestamp | None


class TrialsPublic(BaseModel):
    data: list[TrialPublic]
    count: int


class CandidatePublic(BaseModel):
    """Everything the hardware team needs about one candidate, from its trial's user attrs."""

    job_id: int
    trial_number: int
    state: str
    on_front: bool
    objectives: dict[str, float] | None
    candidate: dict[str, Any] = Field(description="per-layer choices (search.transforms)")
    metrics: dict[str, float] = Field(description="validation metrics")
    test_metrics: dict[str, float] | None = Field(description="front members, once final")
    layers: dict[str, dict[str, Any]] = Field(
        description="per layer: config, widths, sparsity statistics, PE/SIMD, cycles, resources"
    )
    hardware: dict[str, Any] = Field(
        description="hw_models estimate: throughput, latency, resources, utilisation, fits"
    )
    device: str
    clock_mhz: float
    confirmation: ConfirmationPublic | None
    links: dict[str, str]


__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPublic",
    "CandidatePublic",
    "ConfirmationPublic",
    "ConfirmationsPublic",
    "FrontMember",
    "FrontPublic",
    "HealthPublic",
    "JobDetail",
    "JobProgress",
    "JobPublic",
    "JobsPublic",
    "TrialPublic",
    "TrialsPublic",
]
