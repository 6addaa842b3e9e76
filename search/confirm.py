"""Confirm candidates in simulation: generated RTL, bit-exact outputs, cycles vs the model.

    report = confirm_candidate(scorer, candidate, samples=64)

The candidate is rebuilt exactly as the search scored it (same transform, same folding), its
accelerator is described to rtl/, simulated with Verilator on `samples` test inputs, and
compared twice: outputs against the integer reference model (bit-exact), and per-stage cycles
against hw_models' exact prediction for those inputs (must be equal) and expected prediction
from calibration statistics (the error the search lived with).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna

import hw_models
import rtl
from search.accelerator import describe_accelerator
from search.scoring import CandidateScorer
from search.stored import load_job_study
from search.transforms import Candidate, parse_candidate


@dataclass
class PreparedConfirmation:
    """A candidate ready to simulate, with what its report is compared against."""

    job: rtl.ConfirmationJob
    hw_network: hw_models.Network
    folding: hw_models.Folding
    hardware: dict
    masks: dict[str, np.ndarray]


def prepare_confirmation(
    scorer: CandidateScorer, candidate: Candidate, samples: int = 64
) -> PreparedConfirmation:
    """Describe the candidate's accelerator and its test vectors with golden outputs."""
    acc = describe_accelerator(scorer, candidate)
    workload = scorer.workload
    integer = acc.transformed.integer_network
    x = workload.task.inputs(workload.dataset, "test", samples).numpy()
    codes = integer.quantize_input(x)
    golden, layer_inputs = integer.trace(codes)
    rtl_inputs = codes.reshape(len(codes), *acc.design.in_shape)  # flattened input: (K, 1, 1)
    masks = {name: layer_inputs[name] != 0 for name in acc.transformed.layers}
    return PreparedConfirmation(
        rtl.ConfirmationJob(acc.design, rtl_inputs, golden),
        acc.hw_network,
        acc.folding,
        acc.hardware,
        masks,
    )


def compare(prepared: PreparedConfirmation, report: rtl.ConfirmationReport) -> dict:
    """The JSON-ready confirmation report: exactness, cycles simulated / exact / expected."""
    exact = hw_models.exact_network_cycles(prepared.hw_network, prepared.folding, prepared.masks)
    simulated, hardware = report.stage_cycles, prepared.hardware
    stages = {}
    for i, stage in enumerate(report.stage_names):
        sim_mean = float(simulated[i].mean())
        expected = float(hardware["layers"][stage]["cycles"])
        stages[stage] = {
            "simulated_mean": sim_mean,
            "exact_mean": float(exact.stage_cycles[i].mean()),
            "expected": expected,
            "expected_error_pct": 100.0 * abs(expected - sim_mean) / sim_mean,
            "cycles_equal": bool(np.array_equal(simulated[i], exact.stage_cycles[i])),
        }
    interval = float(simulated.max(axis=0).mean())
    mismatch = report.first_mismatch
    return {
        "samples": report.n_samples,
        "bit_exact": bool(report.bit_exact),
        "mismatches": report.mismatches,
        "first_mismatch": None
        if mismatch is None
        else {
            "sample": mismatch.sample,
            "index": list(mismatch.index),
            "expected": mismatch.expected,
            "got": mismatch.got,
        },
        "simulated_total_cycles": report.total_cycles,
        "exact_total_cycles": int(exact.total_cycles),
        "cycles_equal": bool(
            report.total_cycles == exact.total_cycles
            and np.array_equal(simulated, exact.stage_cycles)
        ),
        "simulated_cycles_per_sample": report.cycles_per_sample,
        "expected_interval_cycles": hardware["interval_cycles"],
        "simulated_interval_cycles": interval,
        "expected_interval_error_pct": 100.0
        * abs(hardware["interval_cycles"] - interval)
        / interval,
        "stages": stages,
        "shape_key": report.shape_key,
        "build_seconds": report.build_seconds,
        "sim_seconds": report.sim_seconds,
    }


def confirm_candidate(
    scorer: CandidateScorer,
    candidate: Candidate,
    samples: int = 64,
    build_dir: str | Path | None = None,
) -> dict:
    """Simulate one candidate (raises rtl.ConfirmationError when simulation fails)."""
    prepared = prepare_confirmation(scorer, candidate, samples)
    job = prepared.job
    return compare(prepared, rtl.confirm(job.network, job.inputs, job.golden, build_dir=build_dir))


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
