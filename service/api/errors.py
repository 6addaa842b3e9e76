"""The error responses of the API, for the OpenAPI document: each status a route can return,
with the body it really sends.

Two shapes exist. `HTTPException`s (401, 403, 404, 409 on cancel, 501, and Starlette's 400
for a multipart body its parser refuses) send `{"detail": "a sentence"}`; validation
refusals (FastAPI's own 422 and every refusal of a submission,
`service.payloads.SubmissionError`: 409, 413, 415, 422) send
`{"detail": [{"type", "loc", "msg"}, ...]}`, the location naming the field.
"""

from typing import Any

from pydantic import BaseModel, Field


class Message(BaseModel):
    """An error that a sentence explains."""

    detail: str


class FieldError(BaseModel):
    type: str = Field(description="a short machine-readable kind, such as too_large")
    loc: list[str | int] = Field(description='where: ["body", "budget", "n_trials"], ...')
    msg: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class FieldErrors(BaseModel):
    """A refused request: each error names the field (its location) and why."""

    detail: list[FieldError]


# status -> (body model, when it happens)
_ERRORS: dict[int, tuple[type[BaseModel], str]] = {
    400: (
        Message,
        "a multipart body its parser refuses (too many fields or files, a part too large)",
    ),
    401: (Message, "no valid API key (X-API-Key, Bearer, or Basic with the key as password)"),
    403: (Message, "the key lacks the scope this route needs"),
    404: (Message, "no such job, trial or study"),
    409: (Message, "the job is already finished"),
    413: (FieldErrors, "a part of the request is larger than its limit"),
    415: (FieldErrors, "a media type the route does not read"),
    422: (FieldErrors, "a parameter or a field out of its bounds or of the wrong type"),
    501: (Message, "the export does not cover this model yet"),
}


def error_responses(
    *codes: int,
    why: dict[int, str] | None = None,
    models: dict[int, type[BaseModel]] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: these statuses with their bodies; `why` and
    `models` replace the default description or body model of a status."""
    why, models = why or {}, models or {}
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model, description = _ERRORS[code]
        out[code] = {"model": models.get(code, model), "description": why.get(code, description)}
    return out
