"""What a job learns about its model once, before sampling: per-layer sensitivity and stage share.

    knowledge = measure_sensitivity(spec, scorer, dense)   # a few probes per layer
    knowledge.drop("fc1.weight_sparsity", 0.6)             # accuracy lost, interpolated
    knowledge.share["fc1"]                                 # the layer's multiplier share

Sensitivity is the accuracy lost when *one* layer takes a value and every other layer stays
dense 8-bit, measured untuned on the validation split: cheap (a transform and an
evaluation per probe, no hardware model) and a good ranking of where the network tolerates
pruning and narrow widths (the premise of HAWQ- and AMC-style per-layer search).
The stage share is the fraction of the dense int8 design's multipliers (PE x SIMD, as the
folding gave them) in each layer: folding moves multipliers from a stage that needs fewer
cycles to the slowest one, so sparsity or precision spent on a layer with a large share buys
throughput and on a layer with a small share almost none.
It is stored with the study (user attr `sensitivity`) as JSON, so every worker of a job
shapes its sampling from the same numbers. A job whose probes would cost more than
`probe_allowance` (one per trial; char-gpt's 89 probes of 17 s each against 40 trials)
is sampled without it, and the attr says why.
"""

from dataclasses import dataclass

import numpy as np
from torch import nn

from search.spec import HARDWARE_OBJECTIVES, JobSpec, objective_direction
from search.transforms import Candidate, LayerOverride, relu_feeds, transform, weighted_layers

SPARSITY_PROBES = 4  # probe levels per sparsity range, its top included
REFERENCE_VALUES = (0, 8)  # sparsity 0 and 8 bits: the dense int8 reference itself
MAX_PROBE_SHARE = 1.0  # probe evaluations per trial of the job
MAX_PROBES = 200  # for a job bounded by time only
STUDY_ATTR = "sensitivity"


@dataclass(frozen=True)
class Sensitivity:
    """Per parameter `<layer>.<choice>`: probed values and the accuracy drop at each (sorted by
    value); per layer: its multiplier share of the dense design."""

    probes: dict[str, tuple[list[float], list[float]]]
    share: dict[str, float]

    def drop(self, param: str, value: float) -> float:
        """Accuracy lost at `value`; sparsities between probes are interpolated, bits exact."""
        values, drops = self.probes[param]
        return float(np.interp(value, values, drops))

    def to_dict(self) -> dict:
        return {
            "probes": {k: [list(v), list(d)] for k, (v, d) in self.probes.items()},
            "share": self.share,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Sensitivity":
        probes = {k: (list(v), list(d)) for k, (v, d) in data["probes"].items()}
        return cls(probes, dict(data["share"]))


def sensitivity_metric(spec: JobSpec) -> str | None:
    """The task metric sensitivity is measured on: the first objective that is one."""
    return next((o for o in spec.objectives if o not in HARDWARE_OBJECTIVES), None)


def probe_plan(spec: JobSpec, model: nn.Module) -> dict[str, list]:
    """`<layer>.<choice>` -> the values probed, for the choices the search varies. Values
    equal to the dense int8 reference (sparsity 0, 8 bits) are known to lose nothing."""
    relu_fed = set(relu_feeds(model).values())
    plan: dict[str, list] = {}
    for name, module in weighted_layers(model):
        space = spec.layer_space(name, "conv2d" if isinstance(module, nn.Conv2d) else "linear")
        ranges = {"weight_sparsity": space.weight_sparsity}
        if space.act_sparsity is not None and name in relu_fed:
            ranges["act_sparsity"] = space.act_sparsity
        for choice, r in ranges.items():
            if r.high > r.low:
                levels = np.linspace(r.low, r.high, SPARSITY_PROBES + 1)
                plan[f"{name}.{choice}"] = [round(float(v), 6) for v in levels]
        for choice in ("w_bits", "a_bits"):
            bits = sorted(set(getattr(space, choice)))
            if len(bits) > 1:
                plan[f"{name}.{choice}"] = bits
    return plan


def probe_count(plan: dict[str, list]) -> int:
    return sum(1 for values in plan.values() for v in values if v not in REFERENCE_VALUES)


def probe_allowance(spec: JobSpec) -> int:
    """How many probe evaluations a job may spend on sensitivity: a share of its trials (a
    probe costs less than a trial: no hardware model, no tuning), or MAX_PROBES."""
    n_trials = spec.budget.n_trials
    return int(n_trials * MAX_PROBE_SHARE) if n_trials is not None else MAX_PROBES


def measure_sensitivity(spec: JobSpec, scorer, dense_layers: dict[str, dict]) -> Sensitivity:
    """Probe every layer (see the module docstring); `dense_layers` is the dense int8
    baseline's per-layer summary (its `pe` and `simd` give the stage shares).

    Raises ValueError when the job has no task metric among its objectives.
    """
    metric = sensitivity_metric(spec)
    if metric is None:
        raise ValueError("sensitivity needs a task metric among the objectives")
    sign = 1.0 if objective_direction(metric) == "maximize" else -1.0
    workload = scorer.workload
    model = workload.model

    def accuracy(layer: str | None = None, **choice) -> float:
        overrides = {layer: LayerOverride(**choice)} if layer else {}
        candidate = Candidate(layers=overrides, pruning=spec.pruning)
        transformed = transform(model, candidate, scorer.calibration)
        return workload.task.evaluate(transformed.quantized, workload.dataset, "val")[metric]

    base = accuracy()
    probes: dict[str, tuple[list[float], list[float]]] = {}
    for key, values in probe_plan(spec, model).items():
        name, choice = key.rsplit(".", 1)
        drops = [
            0.0
            if v in REFERENCE_VALUES
            else round(sign * (base - accuracy(name, **{choice: v})), 6)
            for v in values
        ]
        probes[key] = ([float(v) for v in values], drops)
    multipliers = {
        name: float((info.get("pe") or 1) * (info.get("simd") or 1))
        for name, info in dense_layers.items()
        if not isinstance(info.get("pe"), list)
    }
    total = sum(multipliers.values()) or 1.0
    return Sensitivity(probes, {name: m / total for name, m in multipliers.items()})
