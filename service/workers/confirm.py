"""One RTL confirmation task: `search.confirm.confirm_trial`, imported when first needed.

rtl/ provides the confirmation; builds without it end every task `failed` with
NOT_AVAILABLE, never with a made-up report.
"""

import importlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

NOT_AVAILABLE = "RTL confirmation is not available in this build"


class ConfirmationUnavailableError(RuntimeError):
    pass


def confirm_function() -> Callable[..., dict]:
    """`search.confirm.confirm_trial`, or ConfirmationUnavailableError."""
    try:
        module = importlib.import_module("search.confirm")
    except ModuleNotFoundError as err:
        if err.name in ("search.confirm", "rtl"):
            raise ConfirmationUnavailableError(NOT_AVAILABLE) from err
        raise
    confirm_trial = getattr(module, "confirm_trial", None)
    if confirm_trial is None:
        raise ConfirmationUnavailableError(NOT_AVAILABLE)
    return confirm_trial


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a report")


@contextmanager
def _working_directory(directory: Path | None) -> Iterator[None]:
    """Jobs with uploaded files name them relative to the job's file directory."""
    if directory is None:
        yield
        return
    previous = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


class ConfirmationFailedError(RuntimeError):
    """The simulation ran and failed; `report` is what it returned."""

    def __init__(self, report: dict):
        super().__init__(str(report["error"]))
        self.report = report


def run_confirmation(
    storage_url: str,
    study_name: str,
    trial_number: int,
    samples: int,
    files_dir: Path | None = None,
) -> dict:
    """The confirmation report (plain JSON values) of one trial; ConfirmationFailedError when
    the report says the simulation failed (`{"error": ...}`)."""
    confirm_trial = confirm_function()
    with _working_directory(files_dir):
        report = confirm_trial(storage_url, study_name, trial_number, samples)
    report = json.loads(json.dumps(report, default=_jsonable))
    if "error" in report:
        raise ConfirmationFailedError(report)
    return report
