"""Authentication and scopes, as every route sees them."""

import base64

from service import crud
from service.core.db import make_engine, make_session_factory
from service.core.security import Scope
from tests.utils.keys import make_key


def test_no_key_is_refused_with_a_basic_challenge(client):
    response = client.get("/v1/jobs")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


def test_unknown_key_is_refused(client):
    assert client.get("/v1/jobs", headers={"X-API-Key": "hws_nope"}).status_code == 401


def test_key_in_header_bearer_or_basic(client, settings):
    secret = make_key(settings.database_url, Scope.READ)
    basic = base64.b64encode(f"anyone:{secret}".encode()).decode()
    for auth in (
        {"X-API-Key": secret},
        {"Authorization": f"Bearer {secret}"},
        {"Authorization": f"Basic {basic}"},
    ):
        assert client.get("/v1/jobs", headers=auth).status_code == 200, auth


def test_revoked_key_stops_working(client, settings):
    secret = make_key(settings.database_url, Scope.SUBMIT)
    assert client.get("/v1/jobs", headers={"X-API-Key": secret}).status_code == 200
    engine = make_engine(settings.database_url)
    with make_session_factory(engine).begin() as session:
        key = crud.authenticate(session=session, secret=secret)
        crud.revoke_api_key(session=session, key_id=key.id)
    engine.dispose()
    assert client.get("/v1/jobs", headers={"X-API-Key": secret}).status_code == 401


def test_keys_are_stored_as_digests_only(settings):
    secret = make_key(settings.database_url, Scope.READ)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine).begin() as session:
        (key,) = crud.list_api_keys(session=session)
        assert secret not in (key.key_hash, key.prefix) and secret.startswith(key.prefix)
    engine.dispose()
