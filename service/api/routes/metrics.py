"""Prometheus metrics (scrape with a read key as bearer token)."""

from fastapi import APIRouter, Response

from service import crud
from service.api.deps import ReadKey, SessionDep, SettingsDep
from service.api.errors import error_responses
from service.metrics import CONTENT_TYPE, render_metrics

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=error_responses(401, 403))


@router.get("", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
def metrics(session: SessionDep, settings: SettingsDep, _key: ReadKey) -> Response:
    """Jobs by status, live workers, active claims, trials of unfinished jobs."""
    text = render_metrics(session, crud.live_cutoff(settings.lease_s))
    return Response(text, media_type=CONTENT_TYPE)
