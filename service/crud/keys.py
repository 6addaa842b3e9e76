"""API keys: create (the secret is returned once), authenticate, list, revoke."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.security import Scope, display_prefix, generate_key, hash_key
from service.models import ApiKey, utcnow

TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is refreshed at most this often


def create_api_key(*, session: Session, name: str, scopes: list[Scope]) -> tuple[ApiKey, str]:
    """A new key row and its secret (shown once; only its digest is stored)."""
    secret = generate_key()
    key = ApiKey(
        name=name,
        prefix=display_prefix(secret),
        key_hash=hash_key(secret),
        scopes=sorted({Scope(s).value for s in scopes}),
    )
    session.add(key)
    session.flush()
    return key, secret


def authenticate(*, session: Session, secret: str) -> ApiKey | None:
    """The live (not revoked) key with this secret, or None."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def touch_api_key(*, session: Session, key_id: int) -> None:
    """Record use, at most once per TOUCH_EVERY (a write per request would serialize SQLite)."""
    key = session.get(ApiKey, key_id)
    now = utcnow()
    if key is not None and (key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY):
        key.last_used_at = now


def list_api_keys(*, session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(*, session: Session, key_id: int) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
