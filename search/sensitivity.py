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
shapes its sampling from the same numbers.
"""

from dataclasses import dataclass

import numpy as np
from torch import nn

from search.spec import HARDWARE_OBJECTIVES, JobSpec, objective_direction
from search.transforms import Candidate, LayerOverride, relu_feeds, transform, weighted_layers

SPARSITY_PROBES = 4  # probe levels per sparsity range, its top included
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


def probe_values(spec: JobSpec, name: str, kind: str, relu_fed: set[str]) -> dict[str, list]:
    """The values probed for one layer, per choice (only choices the search varies)."""
    space = spec.layer_space(name, kind)
    ranges = {"weight_sparsity": space.weight_sparsity}
    if space.act_sparsity is not None and name in relu_fed:
        ranges["act_sparsity"] = space.act_sparsity
    out: dict[str, list] = {}
    for choice, r in ranges.items():
        if r.high > r.low:
            out[choice] = [
                round(float(v), 6) for v in np.linspace(r.low, r.high, SPARSITY_PROBES + 1)
            ]
    for choice in ("w_bits", "a_bits"):
        bits = sorted(set(getattr(space, choice)))
        if len(bits) > 1:
            out[choice] = bits
    return out


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
    relu_fed = set(relu_feeds(model).values())

    def accuracy(layer: str | None = None, **choice) -> float:
        overrides = {layer: LayerOverride(**choice)} if layer else {}
        transformed = transform(model, Candidate(layers=overrides), scorer.calibration)
        return workload.task.evaluate(transformed.quantized, workload.dataset, "val")[metric]

    base = accuracy()
    probes: dict[str, tuple[list[float], list[float]]] = {}
    for name, module in weighted_layers(model):
        kind = "conv2d" if isinstance(module, nn.Conv2d) else "linear"
        for choice, values in probe_values(spec, name, kind, relu_fed).items():
            drops = [
                round(sign * (base - accuracy(name, **{choice: v})), 6) if v else 0.0
                for v in values
            ]
            probes[f"{name}.{choice}"] = ([float(v) for v in values], drops)
    multipliers = {
        name: float((info.get("pe") or 1) * (info.get("simd") or 1))
        for name, info in dense_layers.items()
        if not isinstance(info.get("pe"), list)
    }
    total = sum(multipliers.values()) or 1.0
    return Sensitivity(probes, {name: m / total for name, m in multipliers.items()})
