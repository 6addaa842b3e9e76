"""The trials of a job's study, with their scores."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from optuna.trial import TrialState

from service import results
from service.api.deps import Offset, StudyDep
from service.api.errors import error_responses
from service.schemas import TrialsPublic

router = APIRouter(
    prefix="/jobs/{job_id}/trials", tags=["trials"], responses=error_responses(401, 403, 404, 422)
)

States = Literal["RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"]


@router.get("", response_model=TrialsPublic)
def list_trials(
    study: StudyDep,
    state: States | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TrialsPublic:
    """List a job's trials in order, optionally of one state."""
    return results.trials_page(study, None if state is None else TrialState[state], offset, limit)
