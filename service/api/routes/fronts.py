"""A job's Pareto front: members beside the uniform baselines, and its plot."""

from fastapi import APIRouter, Response

from service import artifacts, crud, results
from service.api.deps import JobDep, SessionDep, SessionsDep, SettingsDep, StudyDep
from service.api.errors import error_responses
from service.schemas import FrontPublic

router = APIRouter(
    prefix="/jobs/{job_id}", tags=["fronts"], responses=error_responses(401, 403, 404, 422)
)


@router.get("/front", response_model=FrontPublic)
def read_front(
    job: JobDep, session: SessionDep, settings: SettingsDep, study: StudyDep
) -> FrontPublic:
    """The current (or, once `final`, fixed) Pareto front with baselines and the search gain."""
    result = results.job_result(job, study, settings.database_url)
    confirmations = crud.list_confirmations(session=session, job_id=job.id)
    return results.front_public(job, result, confirmations, settings.api_prefix)


@router.get("/front.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def read_front_plot(
    job: JobDep, sessions: SessionsDep, settings: SettingsDep, study: StudyDep
) -> Response:
    """The front over all trials and the baselines, first two objectives (PNG)."""
    plot = artifacts.front_plot(
        sessions=sessions,
        job=job,
        study=study,
        storage_url=settings.database_url,
    )
    return Response(plot.content, media_type=plot.media_type)
