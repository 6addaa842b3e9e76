"""Service tables: API keys, workers, jobs, trial claims, confirmations, artifacts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)  # service.models.UTCDateTime stores this


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "hws_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hws_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_hws_api_keys_key_hash")),
    )
    op.create_table(
        "hws_workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("last_seen", UTC_DATETIME, nullable=False),
        sa.Column("stopped_at", UTC_DATETIME, nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("activity", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hws_workers")),
    )
    op.create_index(op.f("ix_hws_workers_last_seen"), "hws_workers", ["last_seen"])
    op.create_table(
        "hws_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            _enum("job_status", "queued", "running", "confirming", "done", "failed", "cancelled"),
            nullable=False,
        ),
        sa.Column("n_trials", sa.Integer(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("has_uploads", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=True),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("baselines_worker_id", sa.Integer(), nullable=True),
        sa.Column("baselines_done_at", UTC_DATETIME, nullable=True),
        sa.Column("finalize_worker_id", sa.Integer(), nullable=True),
        sa.Column("finalized_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["baselines_worker_id"],
            ["hws_workers.id"],
            name=op.f("fk_hws_jobs_baselines_worker_id_hws_workers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["finalize_worker_id"],
            ["hws_workers.id"],
            name=op.f("fk_hws_jobs_finalize_worker_id_hws_workers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["hws_api_keys.id"],
            name=op.f("fk_hws_jobs_submitted_by_hws_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hws_jobs")),
        sa.UniqueConstraint("study_name", name=op.f("uq_hws_jobs_study_name")),
    )
    op.create_index(op.f("ix_hws_jobs_status"), "hws_jobs", ["status"])
    op.create_table(
        "hws_artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["hws_jobs.id"],
            name=op.f("fk_hws_artifacts_job_id_hws_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hws_artifacts")),
        sa.UniqueConstraint("job_id", "key", name=op.f("uq_hws_artifacts_job_id_key")),
    )
    op.create_table(
        "hws_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("trial_number", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            _enum("confirmation_status", "queued", "running", "done", "failed", "cancelled"),
            nullable=False,
        ),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=True),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["hws_jobs.id"],
            name=op.f("fk_hws_confirmations_job_id_hws_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["hws_workers.id"],
            name=op.f("fk_hws_confirmations_worker_id_hws_workers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hws_confirmations")),
        sa.UniqueConstraint(
            "job_id", "trial_number", name=op.f("uq_hws_confirmations_job_id_trial_number")
        ),
    )
    op.create_index(op.f("ix_hws_confirmations_status"), "hws_confirmations", ["status"])
    op.create_table(
        "hws_trial_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column(
            "state", _enum("claim_state", "active", "done", "released", "expired"), nullable=False
        ),
        sa.Column("claimed_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["hws_jobs.id"],
            name=op.f("fk_hws_trial_claims_job_id_hws_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["hws_workers.id"],
            name=op.f("fk_hws_trial_claims_worker_id_hws_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hws_trial_claims")),
    )
    op.create_index(
        op.f("ix_hws_trial_claims_job_id_state"), "hws_trial_claims", ["job_id", "state"]
    )


def downgrade() -> None:
    op.drop_table("hws_trial_claims")
    op.drop_table("hws_confirmations")
    op.drop_table("hws_artifacts")
    op.drop_table("hws_jobs")
    op.drop_table("hws_workers")
    op.drop_table("hws_api_keys")
