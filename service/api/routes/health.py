"""Liveness and database reachability; needs no key."""

from fastapi import APIRouter, Response, status
from sqlalchemy import text

from service import __version__
from service.api.deps import SessionDep
from service.schemas import HealthPublic

router = APIRouter(prefix="/health", tags=["health"])


@router.get(
    "",
    response_model=HealthPublic,
    responses={503: {"model": HealthPublic, "description": "the database does not answer"}},
)
def health(session: SessionDep, response: Response) -> HealthPublic:
    """ok when the database answers; 503 otherwise."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means "not reachable"
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return HealthPublic(
            status="degraded", database=f"error: {type(err).__name__}", version=__version__
        )
    return HealthPublic(status="ok", database="ok", version=__version__)
