"""Reading a job submission off the request, refusing oversized parts before they are kept.

A submission is a job spec (`search.spec.JobSpec`) as a JSON or TOML body, or a
multipart/form-data request with the fields

    spec      the spec (JSON or TOML text); `model` may name a zoo model or be left out
    model     an ONNX file (.onnx) or a torch.export.save program (.pt2); needs `dataset`
    dataset   the data: .npz (x_/y_ train/val/test) for an uploaded model, or the file a zoo
              model without a shipped dataset reads (jsc-mlp: .csv or .parquet)

Every refusal is a `SubmissionError` whose `loc` names the field, as FastAPI's 422s do.
`service.submission` then validates what was read.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from service.core.config import Settings

Loc = list[str | int]
JSON_TYPES = ("application/json",)
TOML_TYPES = ("application/toml", "text/toml", "text/x-toml", "text/plain")
READ_CHUNK = 1 << 20


class SubmissionError(Exception):
    """A refused submission: HTTP status, the field's location and why."""

    def __init__(self, status_code: int, loc: Loc, msg: str, kind: str = "value_error"):
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}")
        self.status_code, self.loc, self.msg, self.kind = status_code, loc, msg, kind

    def detail(self) -> list[dict[str, Any]]:
        return [{"type": self.kind, "loc": self.loc, "msg": self.msg}]


@dataclass(frozen=True)
class Upload:
    field: Literal["model", "dataset"]
    filename: str  # as sent by the client
    content: bytes

    @property
    def suffix(self) -> str:
        return Path(self.filename).suffix.lower()

    @property
    def stored_name(self) -> str:
        """The name it gets on disk and in the spec (the client's name is not trusted)."""
        return f"{self.field}{self.suffix}"


@dataclass(frozen=True)
class Payload:
    """A submission as received: spec text, its format, and any uploaded files."""

    text: str
    fmt: Literal["json", "toml"]
    root: str  # where the spec sits in the request: "body", or the multipart field "spec"
    uploads: dict[str, Upload] = field(default_factory=dict)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_limited(upload: UploadFile, limit: int, loc: Loc) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise SubmissionError(413, loc, f"larger than the {limit:,} byte limit", "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(content: bytes, loc: Loc) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SubmissionError(422, loc, f"not UTF-8 text ({err.reason})") from err


async def read_payload(request: Request, settings: Settings) -> Payload:
    """Read a submission, refusing oversized parts before they are kept."""
    media_type = _media_type(request)
    declared = int(request.headers.get("content-length") or 0)
    if media_type == "multipart/form-data":
        if declared > settings.max_request_bytes:
            raise SubmissionError(
                413,
                ["body"],
                f"larger than the {settings.max_request_bytes:,} byte limit",
                "too_large",
            )
        return await _read_multipart(request, settings)
    if media_type not in JSON_TYPES + TOML_TYPES:
        raise SubmissionError(
            415,
            ["header", "content-type"],
            f"send application/json, application/toml or multipart/form-data, not "
            f"{media_type or 'nothing'}",
            "unsupported_media_type",
        )
    if declared > settings.max_spec_bytes:
        raise SubmissionError(
            413, ["body"], f"larger than the {settings.max_spec_bytes:,} byte limit", "too_large"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.max_spec_bytes:
            raise SubmissionError(
                413,
                ["body"],
                f"larger than the {settings.max_spec_bytes:,} byte limit",
                "too_large",
            )
    fmt = "json" if media_type in JSON_TYPES else "toml"
    return Payload(_decode(bytes(body), ["body"]), fmt, "body")


async def _read_multipart(request: Request, settings: Settings) -> Payload:
    try:
        form = await request.form(max_files=3, max_fields=3, max_part_size=settings.max_spec_bytes)
    except MultiPartException as err:
        raise SubmissionError(413 if "size" in str(err) else 422, ["body"], str(err)) from err
    unknown = sorted(set(form) - {"spec", "model", "dataset"})
    if unknown:
        raise SubmissionError(
            422,
            ["body", unknown[0]],
            "unknown field; the fields are spec, model and dataset",
            "extra_forbidden",
        )
    spec = form.get("spec")
    if spec is None:
        raise SubmissionError(422, ["body", "spec"], "field required", "missing")
    if isinstance(spec, UploadFile):
        text = _decode(
            await _read_limited(spec, settings.max_spec_bytes, ["body", "spec"]), ["body", "spec"]
        )
        json_name = (spec.filename or "").lower().endswith(".json")
    else:
        text, json_name = spec, False
    fmt = "json" if json_name or text.lstrip().startswith("{") else "toml"
    uploads = {}
    limits = {"model": settings.max_model_bytes, "dataset": settings.max_dataset_bytes}
    for name, limit in limits.items():
        part = form.get(name)
        if part is None:
            continue
        if not isinstance(part, UploadFile):
            raise SubmissionError(422, ["body", name], "must be a file upload")
        content = await _read_limited(part, limit, ["body", name])
        uploads[name] = Upload(name, part.filename or name, content)
    return Payload(text, fmt, "spec", uploads)
