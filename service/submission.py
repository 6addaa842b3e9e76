"""Validate a job submission (untrusted input), then create the study and the job row.

Nothing uploaded is unpickled: pickles, and zip archives (torch.save) posted as a model
other than a .pt2, are refused by their first bytes, before any parser sees them; ONNX is
protobuf, a torch.export .pt2 is read as JSON and raw tensor bytes without opening its pickled
entries (`search.user_models.sequential_from_pt2`), and .npz is read with
`allow_pickle=False`. Specs naming server paths (`model.path`, `dataset_path`) are refused:
files come only as uploads (`service.payloads`), and are stored in the database (hws_artifacts)
so workers on any machine can read them.

A submission is atomic: the Optuna study and the job row (with its files) are created
together or not at all. The job row holds the spec; the study holds only trials and results.
"""

import json
import logging
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from sqlalchemy.orm import Session, sessionmaker

import search
from search import JobSpec, JobSpecError, parse_job
from service import crud
from service.documents import load_document
from service.models import Job
from service.payloads import Loc, Payload, SubmissionError, Upload

log = logging.getLogger("hwsearch.api")
MODEL_SUFFIXES = (".onnx", ".pt2")
DATASET_SUFFIXES = (".npz", ".csv", ".parquet")
MEDIA_TYPES = {
    ".onnx": "application/onnx",
    ".pt2": "application/zip",
    ".npz": "application/zip",
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class ValidSubmission:
    spec: JobSpec
    uploads: dict[str, Upload]


def _spec_error(err: JobSpecError, root: str) -> SubmissionError:
    """The spec's error as a 422 whose loc is the field inside the request."""
    base: Loc = ["body"] if root == "body" else ["body", root]
    return SubmissionError(422, base + list(err.loc or ()), err.msg, "job_spec")


def _load_text(payload: Payload) -> dict:
    loc: Loc = ["body"] if payload.root == "body" else ["body", payload.root]
    try:
        data = load_document(payload.text, payload.fmt, loc)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise SubmissionError(
            422, loc, f"not valid {payload.fmt.upper()} ({err})", f"{payload.fmt}_invalid"
        ) from err
    if not isinstance(data, dict):
        raise SubmissionError(422, loc, f"a job spec is a {payload.fmt.upper()} object/table")
    return data


def _check_upload(upload: Upload, allowed: tuple[str, ...]) -> None:
    loc: Loc = ["body", upload.field]
    head = upload.content[:4]
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise SubmissionError(
            422,
            loc,
            "this is a Python pickle; pickled files are never loaded. Upload the model "
            "as ONNX (torch.onnx.export) or as a torch.export.save .pt2 file",
            "pickle_refused",
        )
    if upload.field == "model" and head == b"PK\x03\x04" and upload.suffix != ".pt2":
        raise SubmissionError(
            422,
            loc,
            "this is a zip archive (torch.save files unpickle their contents when loaded); "
            "upload an ONNX file, or a torch.export.save program named .pt2",
            "pickle_refused",
        )
    if upload.suffix not in allowed:
        raise SubmissionError(
            422, loc, f"{upload.filename!r}: expected a {' or '.join(allowed)} file", "file_type"
        )
    if not upload.content:
        raise SubmissionError(422, loc, "the file is empty")


def _with_uploads(data: dict, payload: Payload) -> dict:
    """Point the spec at the uploaded files (by their stored names), refusing server paths."""
    uploads = payload.uploads
    if isinstance(data.get("model"), dict):
        raise SubmissionError(
            422,
            ["body", "model"],
            "server paths are not accepted: upload the model as the multipart field 'model'",
        )
    if "dataset_path" in data:
        raise SubmissionError(
            422,
            ["body", "dataset_path"],
            "server paths are not accepted: upload the file as the multipart field 'dataset'",
        )
    if "model" in uploads:
        _check_upload(uploads["model"], MODEL_SUFFIXES)
        if "dataset" not in uploads:
            raise SubmissionError(
                422,
                ["body", "dataset"],
                "an uploaded model needs its dataset (.npz with x_/y_ train/val/test)",
                "missing",
            )
        _check_upload(uploads["dataset"], (".npz",))
        data = {
            **data,
            "model": {
                "path": uploads["model"].stored_name,
                "format": "pt2" if uploads["model"].suffix == ".pt2" else "onnx",
                "dataset": uploads["dataset"].stored_name,
            },
        }
    elif "dataset" in uploads:
        _check_upload(uploads["dataset"], DATASET_SUFFIXES)
        data = {**data, "dataset_path": uploads["dataset"].stored_name}
    return data


def with_local_files(spec: JobSpec, directory: Path) -> JobSpec:
    """`spec` with its uploaded files' names resolved inside `directory`."""
    update: dict[str, Any] = {}
    if not isinstance(spec.model, str):
        update["model"] = spec.model.model_copy(
            update={
                "path": str(directory / spec.model.path),
                "dataset": str(directory / spec.model.dataset),
            }
        )
    if spec.dataset_path is not None:
        update["dataset_path"] = str(directory / spec.dataset_path)
    return spec.model_copy(update=update)


def _check_workload(spec: JobSpec, uploads: dict[str, Upload], root: str) -> None:
    """Layer overrides must name layers of the model, and a job confirming its front needs a
    model the RTL supports (the model built, never trained or fed data); uploaded files must
    load (parsed, never unpickled) and fit together."""
    from search.data import DatasetError, load_dataset, load_npz_dataset
    from search.models import zoo_entry
    from search.user_models import UserModelError

    with tempfile.TemporaryDirectory(prefix="hwsearch-upload-") as tmp:
        for upload in uploads.values():
            (Path(tmp) / upload.stored_name).write_bytes(upload.content)
        local = with_local_files(spec, Path(tmp))
        if "model" in uploads:  # the dataset first, so its errors name it
            try:
                load_npz_dataset(Path(tmp) / uploads["dataset"].stored_name)
            except Exception as err:  # any parser error of an untrusted file
                raise SubmissionError(
                    422, ["body", "dataset"], f"cannot be used: {_strip(str(err), tmp)}"
                ) from err
        try:
            if "model" in uploads:  # both files parse, and the model takes the data's inputs
                workload = search.load_workload(local)
                model, model_name = workload.model, workload.model_name
            else:
                if "dataset" in uploads:  # the data file of a zoo model's dataset (jsc)
                    load_dataset(zoo_entry(spec.model).dataset, local.dataset_path)
                model, model_name = search.job_model(local)
        except DatasetError as err:
            raise SubmissionError(422, ["body", "dataset"], _strip(str(err), tmp)) from err
        except UserModelError as err:
            raise SubmissionError(422, ["body", "model"], _strip(str(err), tmp)) from err
        except Exception as err:  # any parser error of an untrusted file
            field_name = "model" if "model" in uploads else "dataset"
            raise SubmissionError(
                422, ["body", field_name], f"cannot be used: {_strip(str(err), tmp)}"
            ) from err
    try:
        search.check_model(spec, model, model_name, root)
    except JobSpecError as err:
        raise _spec_error(err, root) from err


def _strip(message: str, tmp: str) -> str:
    """Error messages name the file as uploaded, not the server's temporary path."""
    return re.sub(re.escape(tmp) + r"/?", "", message)


def validate_payload(payload: Payload) -> ValidSubmission:
    """The job spec and files of a submission, or a SubmissionError naming the field."""
    data = _with_uploads(_load_text(payload), payload)
    try:
        spec = parse_job(data, payload.root)
    except JobSpecError as err:
        raise _spec_error(err, payload.root) from err
    _check_workload(spec, payload.uploads, payload.root)
    return ValidSubmission(spec, payload.uploads)


def _name_taken(message: str) -> SubmissionError:
    return SubmissionError(409, ["body", "name"], message, "conflict")


def submit_job(
    *,
    sessions: sessionmaker[Session],
    storage: BaseStorage,
    payload: Payload,
    key_id: int | None,
) -> Job:
    """Validate, create the Optuna study (once, here, before any worker sees the job), then
    the job row and its uploaded files; if that fails, the study is deleted again. 409 when
    the name is taken."""
    valid = validate_payload(payload)
    name = valid.spec.name
    with sessions.begin() as session:
        if crud.get_job_by_name(session=session, name=name) is not None:
            raise _name_taken(f"a job named {name!r} exists; choose another name")
    try:
        search.create_new_study(valid.spec, storage)
    except optuna.exceptions.DuplicatedStudyError as err:
        raise _name_taken(
            f"an Optuna study named {name!r} exists in this database; choose another name"
        ) from err
    try:
        with sessions.begin() as session:  # Optuna has committed: SQLite's write lock is free
            job = _create_job_row(session, valid, key_id)
    except BaseException:
        _delete_study(storage, name)
        raise
    return job


def _create_job_row(session: Session, valid: ValidSubmission, key_id: int | None) -> Job:
    try:
        job = crud.create_job(
            session=session,
            spec=valid.spec,
            submitted_by=key_id,
            has_uploads=bool(valid.uploads),
        )
    except crud.JobConflictError as err:
        raise _name_taken(str(err)) from err
    for upload in valid.uploads.values():
        crud.put_artifact(
            session=session,
            job_id=job.id,
            key=f"upload/{upload.field}",
            filename=upload.stored_name,
            content=upload.content,
            media_type=MEDIA_TYPES.get(upload.suffix, "application/octet-stream"),
        )
    return job


def _delete_study(storage: BaseStorage, name: str) -> None:
    """Undo the study of a submission that failed after creating it."""
    try:
        optuna.delete_study(study_name=name, storage=storage)
    except Exception:  # the original error is the one to report
        log.exception("could not delete the study %r of a failed submission", name)
