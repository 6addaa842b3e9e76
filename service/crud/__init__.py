"""Database operations, keyword-only (`crud.create_job(session=..., spec=...)`).

The API, the workers and the CLI change state only through these functions. Functions that
change a job take its row lock first (`lock_job`), so status transitions, trial-slot claims
and one-off steps are decided atomically on PostgreSQL and SQLite alike.
"""

from service.crud.artifacts import get_artifact, put_artifact
from service.crud.claims import (
    Slots,
    Work,
    claim_trial,
    end_claim,
    finalize_job,
    finish_baselines,
    next_work,
    trial_slots,
)
from service.crud.confirmations import (
    finish_confirmation,
    get_confirmation,
    list_confirmations,
)
from service.crud.jobs import (
    JobConflictError,
    cancel_job,
    create_job,
    fail_job,
    get_job,
    get_job_by_name,
    job_deadline,
    job_progress,
    list_jobs,
    lock_job,
)
from service.crud.keys import (
    authenticate,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    touch_api_key,
)
from service.crud.workers import (
    beat,
    count_live_workers,
    live_cutoff,
    register_worker,
    set_activity,
    stop_worker,
)

__all__ = [
    "JobConflictError",
    "Slots",
    "Work",
    "authenticate",
    "beat",
    "cancel_job",
    "claim_trial",
    "count_live_workers",
    "create_api_key",
    "create_job",
    "end_claim",
    "fail_job",
    "finalize_job",
    "finish_baselines",
    "finish_confirmation",
    "get_artifact",
    "get_confirmation",
    "get_job",
    "get_job_by_name",
    "job_deadline",
    "job_progress",
    "list_api_keys",
    "list_confirmations",
    "list_jobs",
    "live_cutoff",
    "lock_job",
    "next_work",
    "put_artifact",
    "register_worker",
    "revoke_api_key",
    "set_activity",
    "stop_worker",
    "touch_api_key",
    "trial_slots",
]
