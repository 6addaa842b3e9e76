"""Who is calling: an API key from `X-API-Key`, `Authorization: Bearer`, or HTTP Basic.

Basic (any user name, the key as password) is what a browser prompts for, so the dashboard
and links such as a bundle URL work from a browser once the key is entered.
"""

import base64
import binascii
from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from service import crud
from service.core.security import Scope, grants
from service.models import ApiKey

REALM = 'Basic realm="hwsearch: any user name, an API key as password"'


def secret_from_headers(headers: Mapping[str, str]) -> str | None:
    if key := headers.get("x-api-key"):
        return key.strip()
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic":
        try:
            _user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or None
    return None


def authenticate(sessions: sessionmaker[Session], secret: str | None) -> ApiKey | None:
    """The live key with this secret (detached from its session), or None."""
    if not secret:
        return None
    with sessions.begin() as session:
        key = crud.authenticate(session=session, secret=secret)
        if key is None:
            return None
        crud.touch_api_key(session=session, key_id=key.id)
        session.flush()
        session.expunge(key)
    return key


def has_scope(key: ApiKey, scope: Scope) -> bool:
    return grants({Scope(s) for s in key.scopes}, scope)
