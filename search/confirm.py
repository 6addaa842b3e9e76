"""Confirm a job's stored trials in simulation; each report is stored with the study.

    reports = confirm_trials(storage_url, study_name, [3, 7], samples=64)

One candidate's simulation and its comparison with the model (bit-exact outputs, cycles
simulated / exact / expected) are `search.simulation`'s; this module runs them for stored
trials in a process pool and records the reports (user attr `confirmation:<n>`).
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
