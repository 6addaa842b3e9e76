"""Files made from a job: the per-candidate bundle, the front plot, and local copies of uploads.

The bundle is `search.export.export_from_candidate`'s directory (network.json, weights.npz,
masks.npz, metadata.json, vectors.npz, README.md), zipped, plus `simulation_report.json` when
the candidate was confirmed in RTL simulation. Bundles and plots are built on request and
kept in hws_artifacts while what they were built from (`source`) is unchanged.
"""

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import optuna
from sqlalchemy.orm import Session, sessionmaker

from search import JobSpec
from service import crud
from service.models import Confirmation, ConfirmationStatus, Job
from service.results import job_result, job_spec
from service.submission import with_local_files

SIMULATION_README = """
## simulation_report.json
The RTL confirmation of this candidate: the generated accelerator was simulated with
Verilator on the test vectors above, checked bit-exact against the integer reference model,
and its measured cycles compared with the analytic model's prediction.
"""


@dataclass(frozen=True)
class File:
    filename: str
    media_type: str
    content: bytes


def job_files_dir(cache_dir: Path, job_id: int) -> Path:
    """Where a machine keeps a job's uploaded files."""
    return cache_dir.resolve() / f"job-{job_id}"


def local_spec(*, session: Session, job: Job, cache_dir: Path) -> JobSpec:
    """The job's spec, with uploaded files written under `cache_dir` and named there."""
    spec = job_spec(job)
    if not job.has_uploads:
        return spec
    directory = job_files_dir(cache_dir, job.id)
    directory.mkdir(parents=True, exist_ok=True)
    for key in ("upload/model", "upload/dataset"):
        artifact = crud.get_artifact(session=session, job_id=job.id, key=key)
        if artifact is None:
            continue
        path = directory / artifact.filename
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == artifact.sha256:
            continue
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_bytes(artifact.content)
        partial.replace(path)  # atomic: a concurrent reader sees the old file or the new one
    return with_local_files(spec, directory)


def bundle_source(confirmation: Confirmation | None) -> str:
    """What a bundle depends on besides its (immutable) trial: its simulation report."""
    if confirmation is None or confirmation.status is not ConfirmationStatus.DONE:
        return "unconfirmed"
    return f"confirmation {confirmation.id} {confirmation.finished_at.isoformat()}"


def _zip_directory(directory: Path, root: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, f"{root}/{path.relative_to(directory)}")
    return buffer.getvalue()


def build_bundle(spec: JobSpec, candidate: dict, number: int, report: dict | None) -> File:
    """Export one candidate (search.export) and zip it with its simulation report."""
    from search import export_from_candidate, load_workload
    from search.transforms import parse_candidate

    root = f"{spec.name}-trial{number}"
    with tempfile.TemporaryDirectory(prefix="hwsearch-bundle-") as tmp:
        out = Path(tmp) / root
        export_from_candidate(
            load_workload(spec),
            parse_candidate(candidate, f"trial {number}"),
            out,
            spec.device,
            spec.clock_mhz,
            spec.confirm.samples,
            spec=spec,
        )
        if report is not None:
            (out / "simulation_report.json").write_text(json.dumps(report, indent=1))
            with (out / "README.md").open("a") as readme:
                readme.write(SIMULATION_README)
        return File(f"{root}.zip", "application/zip", _zip_directory(out, root))


def candidate_bundle(
    *,
    sessions: sessionmaker[Session],
    job: Job,
    trial: optuna.trial.FrozenTrial,
    cache_dir: Path,
) -> File:
    """The cached bundle of a trial, rebuilt when its confirmation changed."""
    key = f"bundle/{trial.number}"
    with sessions.begin() as session:
        confirmation = crud.get_confirmation(
            session=session, job_id=job.id, trial_number=trial.number
        )
        source = bundle_source(confirmation)
        cached = _cached(session, job.id, key, source)
        if cached is not None:
            return cached
        spec = local_spec(session=session, job=job, cache_dir=cache_dir)
    report = confirmation.report if source != "unconfirmed" else None
    built = build_bundle(spec, trial.user_attrs["candidate"], trial.number, report)
    _store(sessions, job.id, key, built, source)
    return built


def front_plot(
    *,
    sessions: sessionmaker[Session],
    job: Job,
    study: optuna.Study,
    storage_url: str,
) -> File:
    """pareto.png of the job (search.report.write_plots); cached once the job has finished."""
    from search import write_plots

    key, source = "plot/pareto.png", f"final {job.status.value}"
    if job.status.finished:
        with sessions.begin() as session:
            cached = _cached(session, job.id, key, source)
        if cached is not None:
            return cached
    with tempfile.TemporaryDirectory(prefix="hwsearch-plot-") as tmp:
        png, _html = write_plots(job_result(job, study, storage_url), tmp)
        plot = File(f"{job.study_name}-pareto.png", "image/png", png.read_bytes())
    if job.status.finished:
        _store(sessions, job.id, key, plot, source)
    return plot


def _cached(session: Session, job_id: int, key: str, source: str) -> File | None:
    """The stored artifact `key`, if it was built from `source` (else it is stale)."""
    cached = crud.get_artifact(session=session, job_id=job_id, key=key)
    if cached is None or cached.source != source:
        return None
    return File(cached.filename, cached.media_type, cached.content)


def _store(sessions: sessionmaker[Session], job_id: int, key: str, file: File, source: str) -> None:
    with sessions.begin() as session:
        crud.put_artifact(
            session=session,
            job_id=job_id,
            key=key,
            filename=file.filename,
            media_type=file.media_type,
            content=file.content,
            source=source,
        )
