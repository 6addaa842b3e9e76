"""Dependencies as `Annotated` aliases: a route's signature lists exactly what it needs."""

from collections.abc import Iterator
from threading import Lock
from typing import Annotated

import optuna
from fastapi import Depends, HTTPException, Path, Query, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer
from optuna.storages import BaseStorage
from sqlalchemy.orm import Session, sessionmaker

from service import auth, crud
from service.core.config import Settings
from service.core.security import Scope
from service.models import ApiKey, Job

_storage_lock = Lock()

# Ids, trial numbers, offsets and limits are bounded here, at the edge: a number beyond the
# database's INTEGER never reaches it (PostgreSQL would raise NumericValueOutOfRange).
MAX_ID = 2**31 - 1

JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="a job's id")]
TrialNumber = Annotated[int, Path(ge=0, le=MAX_ID, description="a trial's number in its study")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="how many items to skip")]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    """For routes that write: they open short transactions (`with sessions.begin()`)."""
    return request.app.state.sessions


def get_db(request: Request) -> Iterator[Session]:
    """A read-only session; on SQLite it neither waits for nor blocks writers (WAL)."""
    with request.app.state.read_sessions() as session:
        yield session


def get_storage(request: Request) -> BaseStorage:
    """Optuna's storage for reading studies, made once per app (it checks the schema)."""
    state = request.app.state
    with _storage_lock:
        if getattr(state, "storage", None) is None:
            from search import make_storage

            state.storage = make_storage(state.settings.database_url, heartbeat=False)
    return state.storage


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SessionDep = Annotated[Session, Depends(get_db)]
StorageDep = Annotated[BaseStorage, Depends(get_storage)]

# Declared for the OpenAPI page (its Authorize button); the header parsing is auth's.
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_bearer = HTTPBearer(auto_error=False, description="an API key as bearer token")
_basic = HTTPBasic(auto_error=False, description="any user name, an API key as password")


def get_current_key(
    request: Request,
    _header: Annotated[str | None, Security(_key_header)],
    _token: Annotated[object, Security(_bearer)],
    _login: Annotated[object, Security(_basic)],
) -> ApiKey:
    key = auth.authenticate(request.app.state.sessions, auth.secret_from_headers(request.headers))
    if key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required (X-API-Key header, "
            "Authorization: Bearer, or Basic with the key as password)",
            headers={"WWW-Authenticate": auth.REALM},
        )
    return key


CurrentKey = Annotated[ApiKey, Depends(get_current_key)]


def _require(scope: Scope):
    def check(key: CurrentKey) -> ApiKey:
        if not auth.has_scope(key, scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this key has scopes {key.scopes}; {scope.value} is needed",
            )
        return key

    return check


ReadKey = Annotated[ApiKey, Depends(_require(Scope.READ))]
SubmitKey = Annotated[ApiKey, Depends(_require(Scope.SUBMIT))]


def get_job(job_id: JobId, session: SessionDep, _key: ReadKey) -> Job:
    job = crud.get_job(session=session, job_id=job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
    return job


JobDep = Annotated[Job, Depends(get_job)]


def get_study(job: JobDep, storage: StorageDep) -> optuna.Study:
    try:
        return optuna.load_study(study_name=job.study_name, storage=storage)
    except KeyError as err:  # deleted behind the service's back (e.g. from the dashboard)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the Optuna study {job.study_name!r} of job {job.id} is gone",
        ) from err


StudyDep = Annotated[optuna.Study, Depends(get_study)]
