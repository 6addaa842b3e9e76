"""One candidate (trial): its hardware metadata and its bundle for the hardware team."""

from typing import Annotated

import optuna
from fastapi import APIRouter, Depends, HTTPException, Response, status

from service import artifacts, crud, results
from service.api.deps import (
    JobDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
    StudyDep,
    TrialNumber,
)
from service.api.errors import error_responses
from service.schemas import CandidatePublic

router = APIRouter(
    prefix="/jobs/{job_id}/candidates",
    tags=["candidates"],
    responses=error_responses(401, 403, 404, 422),
)


def get_trial(job: JobDep, study: StudyDep, number: TrialNumber) -> optuna.trial.FrozenTrial:
    trial = results.find_trial(study, number)
    if trial is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job.id} has no scored trial {number}")
    return trial


TrialDep = Annotated[optuna.trial.FrozenTrial, Depends(get_trial)]


@router.get("/{number}", response_model=CandidatePublic)
def read_candidate(
    job: JobDep, study: StudyDep, trial: TrialDep, session: SessionDep, settings: SettingsDep
) -> CandidatePublic:
    """Per-layer config, widths, sparsity, PE/SIMD, cycles, resources; confirmation report."""
    confirmation = crud.get_confirmation(session=session, job_id=job.id, trial_number=trial.number)
    return results.candidate_public(job, study, trial, confirmation, settings.api_prefix)


@router.get(
    "/{number}/bundle",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}},
        **error_responses(501, why={501: "the export does not cover this model yet"}),
    },
)
def read_bundle(
    job: JobDep, trial: TrialDep, sessions: SessionsDep, settings: SettingsDep
) -> Response:
    """The export (network, weights, masks, metadata, vectors, README) + simulation report."""
    try:
        bundle = artifacts.candidate_bundle(
            sessions=sessions, job=job, trial=trial, cache_dir=settings.cache_dir
        )
    except NotImplementedError as err:  # a model the export does not cover yet (char-gpt)
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, str(err)) from err
    disposition = f'attachment; filename="{bundle.filename}"'
    return Response(
        bundle.content, media_type=bundle.media_type, headers={"Content-Disposition": disposition}
    )
