"""The trials of a job's study, with their scores."""

from typing import Literal

from fastapi import APIRouter, Query
from optuna.trial import TrialState

from service import results
from service.api.deps import StudyDep
from service.schemas import TrialsPublic

router = APIRouter(prefix="/jobs/{job_id}/trials", tags=["trials"])

States = Literal["RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"]


@router.get("", response_model=TrialsPublic)
def list_trials(
    study: StudyDep,
    state: States | None = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> TrialsPublic:
    """List a job's trials in order, optionally of one state."""
    return results.trials_page(study, None if state is None else TrialState[state], offset, limit)
