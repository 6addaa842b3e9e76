"""Scored designs without scoring: studies and baselines shaped like a job's, for reports."""

import optuna

from search.front import StoredJob
from search.spec import JobSpec
from tests.utils.jobs import job_dict


def design_attrs(accuracy: float, throughput: float, lut: int = 1000, w_bits: int = 4) -> dict:
    """What a trial stores (metrics, hardware, layers) for a one-layer design."""
    return {
        "metrics": {"accuracy": accuracy},
        "hardware": {
            "throughput_fps": throughput,
            "latency_us": 2e6 / throughput,
            "resources": {"lut": lut, "ff": 2 * lut, "dsp": 4, "bram18": 2.0},
            "fits": True,
        },
        "layers": {
            "fc1": {"weight_sparsity": 0.5, "act_sparsity": 0.0, "w_bits": w_bits, "a_bits": 8}
        },
    }


def baseline(label: str, accuracy: float, throughput: float, **attrs) -> dict:
    """A baseline as `search.phases.evaluate_baselines` stores it."""
    return {
        "label": label,
        "values": [accuracy, throughput],
        **design_attrs(accuracy, throughput, **attrs),
    }


def front_study(designs: list[dict]) -> optuna.Study:
    """An in-memory (accuracy, throughput) study with one completed trial per design, in order
    (trial numbers 0, 1, ...)."""
    study = optuna.create_study(directions=["maximize", "maximize"])
    for attrs in designs:
        hardware = attrs["hardware"]
        values = [attrs["metrics"]["accuracy"], hardware["throughput_fps"]]
        study.add_trial(optuna.trial.create_trial(values=values, user_attrs=attrs))
    return study


def stored_job(study: optuna.Study, baselines: list[dict]) -> StoredJob:
    study.set_user_attr("baselines", baselines)
    return StoredJob(JobSpec.model_validate(job_dict(name="front")), study, baselines)


def confirmed_report(number: int) -> dict:
    return {
        "trial": number,
        "bit_exact": True,
        "mismatches": 0,
        "cycles_equal": True,
        "expected_interval_error_pct": 1.5,
    }
