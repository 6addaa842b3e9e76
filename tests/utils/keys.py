"""API key factory."""

from service import crud
from service.core.db import make_engine, make_session_factory
from service.core.security import Scope


def make_key(url: str, *scopes: Scope, name: str = "test") -> str:
    """A new key's secret with these scopes, straight into the database at `url`."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            _key, secret = crud.create_api_key(session=session, name=name, scopes=list(scopes))
    finally:
        engine.dispose()
    return secret


def headers(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}
