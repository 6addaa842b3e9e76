"""Score one candidate: transform, measure accuracy, collect statistics, fold and estimate.

The same code scores search trials, baselines and stored candidates, so a number in the
database can always be reproduced from the candidate alone.
"""

from dataclasses import dataclass, field

import torch

import hw_models
from search.finetune import finetune_pruned
from search.hardware import network_from_transformed, stages_of
from search.spec import HARDWARE_OBJECTIVES, JobSpec
from search.transforms import Candidate, TransformedModel, collect_stats, transform
from search.workload import Workload

RESOURCE_KEYS = {"bram": "bram18"}  # objective name -> hw_models resource name


@dataclass
class Score:
    candidate: Candidate
    metrics: dict[str, float]  # on the validation split
    hardware: dict  # hw_models.Estimate.to_dict()
    layers: dict[str, dict] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        return bool(self.hardware["fits"])

    @property
    def max_utilisation(self) -> float:
        return max(self.hardware["utilisation"].values())

    def objective(self, name: str) -> float:
        """The value of one job objective: a task metric or a hardware figure."""
        if name not in HARDWARE_OBJECTIVES:
            return self.metrics[name]
        if name == "utilisation":
            return self.max_utilisation
        if name in ("throughput", "latency"):
            return self.hardware[{"throughput": "throughput_fps", "latency": "latency_us"}[name]]
        return float(self.hardware["resources"][RESOURCE_KEYS.get(name, name)])

    def to_dict(self) -> dict:
        return {
            "candidate": self.candidate.model_dump(),
            "metrics": self.metrics,
            "hardware": self.hardware,
            "layers": self.layers,
        }


def _folding_summary(stages: dict[str, dict], layer: str) -> dict:
    """PE, SIMD and expected cycles of a layer's engine; lists, one per part, for a layer
    split across engines (a transformer's fused q/k/v projection)."""
    parts = [stages[s] for s in stages_of(stages, layer)]
    keys = {"pe": "pe", "simd": "simd", "expected_cycles": "cycles"}
    if len(parts) == 1:
        return {k: parts[0][v] for k, v in keys.items()}
    return {k: [part[v] for part in parts] for k, v in keys.items()}


class CandidateScorer:
    """Built once per worker: holds the workload and calibration batch."""

    def __init__(self, spec: JobSpec, workload: Workload):
        self.spec = spec
        self.workload = workload
        self.calibration = workload.calibration(spec.calibration_samples)
        self.device = hw_models.DEVICES[spec.device]

    def build(self, candidate: Candidate) -> TransformedModel:
        transformed = transform(self.workload.model, candidate, self.calibration)
        if self.spec.finetune.epochs:
            tuned = finetune_pruned(transformed.float_model, self.workload, self.spec.finetune)
            transformed = transform(tuned, candidate, self.calibration)
        return transformed

    def estimate(self, transformed: TransformedModel) -> tuple[dict, dict]:
        stats = collect_stats(transformed, self.calibration)
        network = network_from_transformed(
            transformed, stats, self.workload.model_name, self.spec.act_skip
        )
        try:
            estimate = hw_models.estimate(network, self.device, self.spec.clock_mhz)
        except hw_models.DoesNotFitError:
            # still report the real numbers of the smallest design, marked as not fitting
            estimate = hw_models.estimate(
                network, self.device, self.spec.clock_mhz, hw_models.Folding.minimal(network)
            )
        return estimate.to_dict(), stats

    @torch.no_grad()
    def score(self, candidate: Candidate, split: str = "val") -> Score:
        transformed = self.build(candidate)
        metrics = self.workload.task.evaluate(transformed.quantized, self.workload.dataset, split)
        hardware, stats = self.estimate(transformed)
        layers = {
            name: {
                **transformed.configs[name].model_dump(),
                **stats[name].summary(),
                **_folding_summary(hardware["layers"], name),
            }
            for name in transformed.layers
        }
        return Score(candidate, metrics, hardware, layers)
