"""RTL confirmation tasks of a job's front members, with their reports."""

from fastapi import APIRouter

from service import crud
from service.api.deps import JobDep, SessionDep
from service.api.errors import error_responses
from service.schemas import ConfirmationPublic, ConfirmationsPublic

router = APIRouter(
    prefix="/jobs/{job_id}/confirmations",
    tags=["confirmations"],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("", response_model=ConfirmationsPublic)
def list_confirmations(job: JobDep, session: SessionDep) -> ConfirmationsPublic:
    """The job's confirmation tasks: status, attempts, report or error."""
    tasks = crud.list_confirmations(session=session, job_id=job.id)
    return ConfirmationsPublic(
        data=[ConfirmationPublic.model_validate(t) for t in tasks], count=len(tasks)
    )
