"""Job spec factories: small digits-mlp jobs that finish in seconds."""

import json
import uuid

TOML_TYPE = {"Content-Type": "application/toml"}
JSON_TYPE = {"Content-Type": "application/json"}


def unique_name(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def job_dict(
    name: str | None = None, n_trials: int = 6, front_members: int = 0, **overrides
) -> dict:
    """digits-mlp on the xc7a100t with one baseline point; `overrides` replace top-level keys."""
    spec = {
        "name": name or unique_name(),
        "model": "digits-mlp",
        "device": "xc7a100t",
        "objectives": ["accuracy", "throughput"],
        "budget": {"n_trials": n_trials},
        "confirm": {"front_members": front_members, "samples": 16},
        "baselines": {"weight_sparsity": [0.0, 0.5], "bits": [8]},
        "calibration_samples": 128,
    }
    spec.update(overrides)
    return spec


def job_json(**kwargs) -> str:
    return json.dumps(job_dict(**kwargs))


def job_toml(**kwargs) -> str:
    """The same spec as TOML (the tables this factory uses, nothing more)."""
    spec = job_dict(**kwargs)
    lines = []
    tables = {k: v for k, v in spec.items() if isinstance(v, dict)}
    for key, value in spec.items():
        if key not in tables:
            lines.append(f"{key} = {json.dumps(value)}")
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"
