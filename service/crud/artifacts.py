"""Files kept in the database (uploads, bundles, plots), addressed by (job, key)."""

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Artifact, utcnow


def get_artifact(*, session: Session, job_id: int, key: str) -> Artifact | None:
    return session.scalar(select(Artifact).where(Artifact.job_id == job_id, Artifact.key == key))


def put_artifact(
    *,
    session: Session,
    job_id: int,
    key: str,
    filename: str,
    media_type: str,
    content: bytes,
    source: str = "",
) -> Artifact:
    """Insert or replace the artifact `key` of a job."""
    artifact = get_artifact(session=session, job_id=job_id, key=key)
    if artifact is None:
        artifact = Artifact(job_id=job_id, key=key)
        session.add(artifact)
    artifact.filename, artifact.media_type, artifact.source = filename, media_type, source
    artifact.content, artifact.size = content, len(content)
    artifact.sha256 = hashlib.sha256(content).hexdigest()
    artifact.created_at = utcnow()
    session.flush()
    return artifact
