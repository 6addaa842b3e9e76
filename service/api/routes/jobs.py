"""Jobs: submit, list, read (with progress and the current front), cancel."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from service import crud, payloads, results, submission
from service.api.deps import (
    JobDep,
    JobId,
    Offset,
    ReadKey,
    SessionDep,
    SessionsDep,
    SettingsDep,
    StorageDep,
    StudyDep,
    SubmitKey,
)
from service.api.errors import FieldErrors, error_responses
from service.core.config import Settings
from service.models import Job, JobStatus
from service.schemas import JobDetail, JobPublic, JobsPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])

SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A job spec as JSON or TOML; or multipart/form-data with `spec`, an "
        "ONNX or torch.export .pt2 `model` and its `.npz` `dataset` (or just a `dataset` "
        "file for a zoo model that reads one, such as jsc-mlp's CSV).",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/JobSubmission"}},
            "application/toml": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["spec"],
                    "additionalProperties": False,
                    "properties": {
                        "spec": {"type": "string", "description": "the job spec, JSON or TOML"},
                        "model": {"type": "string", "format": "binary"},
                        "dataset": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


def _public(session, job: Job, settings: Settings) -> JobPublic:
    cutoff = crud.live_cutoff(settings.lease_s)
    progress = crud.job_progress(session=session, jobs=[job], cutoff=cutoff)[job.id]
    return results.job_public(job, progress, settings.api_prefix)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=JobPublic,
    openapi_extra=SUBMIT_BODY,
    responses=error_responses(
        400,
        401,
        403,
        409,
        413,
        415,
        422,
        why={409: "a job or an Optuna study of this name exists"},
        models={409: FieldErrors},
    ),
)
async def submit_job(
    request: Request,
    settings: SettingsDep,
    sessions: SessionsDep,
    storage: StorageDep,
    key: SubmitKey,
) -> JobPublic:
    """Submit a job (JSON or TOML spec, or multipart with an ONNX or .pt2 model and dataset)."""
    payload = await payloads.read_payload(request, settings)
    job = await run_in_threadpool(
        submission.submit_job,
        sessions=sessions,
        storage=storage,
        payload=payload,
        key_id=key.id,
    )
    with sessions() as session:
        return _public(session, job, settings)


@router.get("", response_model=JobsPublic, responses=error_responses(401, 403, 422))
def list_jobs(
    session: SessionDep,
    settings: SettingsDep,
    _key: ReadKey,
    job_status: Annotated[JobStatus | None, Query(alias="status")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobsPublic:
    """List jobs, newest first, with their progress."""
    jobs, count = crud.list_jobs(session=session, status=job_status, offset=offset, limit=limit)
    progress = crud.job_progress(
        session=session, jobs=jobs, cutoff=crud.live_cutoff(settings.lease_s)
    )
    return JobsPublic(
        data=[results.job_public(j, progress[j.id], settings.api_prefix) for j in jobs],
        count=count,
    )


@router.get("/{job_id}", response_model=JobDetail, responses=error_responses(401, 403, 404, 422))
def read_job(job: JobDep, study: StudyDep, session: SessionDep, settings: SettingsDep) -> JobDetail:
    """A job with its progress (trials done/total, workers active) and current front."""
    cutoff = crud.live_cutoff(settings.lease_s)
    progress = crud.job_progress(session=session, jobs=[job], cutoff=cutoff)[job.id]
    result = results.job_result(job, study, settings.database_url)
    confirmations = crud.list_confirmations(session=session, job_id=job.id)
    return results.job_detail(job, progress, result, confirmations, settings.api_prefix)


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def cancel_job(
    job_id: JobId, sessions: SessionsDep, settings: SettingsDep, _key: SubmitKey
) -> JobPublic:
    """Cancel a job: no trial or confirmation starts again."""
    with sessions.begin() as session:
        try:
            job = crud.cancel_job(session=session, job_id=job_id)
        except crud.JobConflictError as err:
            raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
        return _public(session, job, settings)
