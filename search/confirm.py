"""Confirm one candidate: simulate its RTL design and compare it with the model that scored it.

    report = confirm_candidate(scorer, candidate, samples=64)

The candidate is rebuilt and lowered exactly as the search scored it (same transform, same
folding), its design (`search.rtl_design`) is simulated with Verilator on `samples` test
inputs, and compared twice: outputs against the integer reference model (bit-exact), and
per-stage cycles against hw_models' exact prediction for those inputs (must be equal) and the
expected prediction from calibration statistics (the error the search lived with).

A job's confirmation of stored front members (`search.phases.confirm_trials`) runs these.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import hw_models
import rtl
from search.lowering import Lowered
from search.rtl_design import describe_accelerator
from search.scoring import CandidateScorer
from search.transforms import Candidate


@dataclass
class PreparedConfirmation:
    """A candidate ready to simulate, with what its report is compared against."""

    job: rtl.ConfirmationJob
    lowered: Lowered
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
        rtl.ConfirmationJob(acc.design, rtl_inputs, golden), acc.lowered, masks
    )


def compare(prepared: PreparedConfirmation, report: rtl.ConfirmationReport) -> dict:
    """The JSON-ready confirmation report: exactness, the simulated start and done cycles
    against the exact model, and the expected (search-time) work and interval against them."""
    lowered = prepared.lowered
    exact = hw_models.exact_network_cycles(lowered.network, lowered.folding, prepared.masks)
    stages = {}
    for i, stage in enumerate(report.stage_names):
        exact_work = float(exact.stage_cycles[i].mean())
        expected = lowered.stages[stage].cycles
        stages[stage] = {
            "exact_mean": exact_work,
            "expected": expected,
            "expected_error_pct": 100.0 * abs(expected - exact_work) / exact_work,
            "cycles_equal": bool(
                np.array_equal(report.start_cycles[i], exact.start[i])
                and np.array_equal(report.done_cycles[i], exact.done[i])
            ),
        }
    interval = report.interval_cycles
    expected_interval = lowered.estimate.interval_cycles
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
            and np.array_equal(report.start_cycles, exact.start)
            and np.array_equal(report.done_cycles, exact.done)
        ),
        "simulated_cycles_per_sample": report.cycles_per_sample,
        "expected_interval_cycles": expected_interval,
        "simulated_interval_cycles": interval,
        "expected_interval_error_pct": 100.0 * abs(expected_interval - interval) / interval,
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
    return compare(prepared, rtl.confirm(job.design, job.inputs, job.golden, build_dir=build_dir))
