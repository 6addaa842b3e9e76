"""One RTL confirmation task: `search.confirm_trial`, its report made plain JSON.

rtl/ provides the simulation; builds without it end every task `failed` with NOT_AVAILABLE,
never with a made-up report.
"""

import json
from pathlib import Path

import numpy as np
import optuna

import search

NOT_AVAILABLE = "RTL confirmation is not available in this build"


class ConfirmationUnavailableError(RuntimeError):
    pass


class ConfirmationFailedError(RuntimeError):
    """The simulation ran and failed; `report` is what it returned."""

    def __init__(self, report: dict):
        super().__init__(str(report["error"]))
        self.report = report


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a report")


def run_confirmation(
    study: optuna.Study, job: "search.JobRun", trial_number: int, samples: int
) -> dict:
    """The confirmation report (plain JSON values) of one trial; ConfirmationFailedError when
    the report says the simulation failed (`{"error": ...}`), ConfirmationUnavailableError in
    a build without RTL confirmation."""
    try:
        report = search.confirm_trial(study, job, trial_number, samples)
    except ModuleNotFoundError as err:
        if err.name in ("search.confirm", "rtl"):
            raise ConfirmationUnavailableError(NOT_AVAILABLE) from err
        raise
    report = json.loads(json.dumps(report, default=_jsonable))
    if "error" in report:
        raise ConfirmationFailedError(report)
    return report
