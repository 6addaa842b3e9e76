"""Confirm candidates in simulation: generated RTL, bit-exact outputs, cycles vs the model.

    report = confirm_candidate(scorer, candidate, samples=64)

The candidate is rebuilt exactly as the search scored it (same transform, same folding), its
accelerator is described to rtl/, simulated with Verilator on `samples` test inputs, and
compared twice: outputs against the integer reference model (bit-exact), and per-stage cycles
against hw_models' exact prediction for those inputs (must be equal) and expected prediction
from calibration statistics (the error the search lived with).
"""

from pathlib import Path

import optuna

import rtl
from search.scoring import CandidateScorer
from search.simulation import compare, prepare_confirmation
from search.stored import load_job_study
from search.transforms import parse_candidate


def confirmation_key(trial_number: int) -> str:
    return f"confirmation:{trial_number}"


def confirm_trials(
    storage_url: str,
    study_name: str,
    numbers: list[int],
    samples: int = 64,
    processes: int = 2,
    build_dir: str | Path | None = None,
) -> dict[int, dict]:
    """Confirm stored trials in a process pool; each report is stored with the study
    (user attr `confirmation:<n>`). A failed simulation gives `{"error": ...}`."""
    from search.study import load_workload

    study, spec = load_job_study(storage_url, study_name)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    scorer = CandidateScorer(spec, load_workload(spec))
    prepared = {}
    for number in numbers:
        trial = trials.get(number)
        if trial is None or "candidate" not in trial.user_attrs:
            raise ValueError(f"study {study_name!r} has no completed trial {number}")
        candidate = parse_candidate(trial.user_attrs["candidate"], f"trial {number}")
        prepared[number] = prepare_confirmation(scorer, candidate, samples)
    results = rtl.confirm_many([p.job for p in prepared.values()], processes, build_dir)
    reports = {}
    for (number, prep), result in zip(prepared.items(), results, strict=True):
        if isinstance(result, Exception):
            reports[number] = {"trial": number, "error": str(result)}
        else:
            reports[number] = {"trial": number, **compare(prep, result)}
        study.set_user_attr(confirmation_key(number), reports[number])
    return reports


def confirm_trial(storage_url: str, study_name: str, trial_number: int, samples: int = 64) -> dict:
    """One stored trial (the service's confirmation task)."""
    return confirm_trials(storage_url, study_name, [trial_number], samples, processes=1)[
        trial_number
    ]


def front_numbers(study: optuna.Study, limit: int | None = None) -> list[int]:
    """Front members, highest first objective first (the order the job confirms them in)."""
    front = sorted(study.best_trials, key=lambda t: t.values[0], reverse=True)
    return [t.number for t in front[:limit]]
