"""Score one candidate: transform, measure accuracy, collect statistics, lower and estimate.

The same code scores search trials, baselines and stored candidates, so a number in the
database can always be reproduced from the candidate alone.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import torch

import hw_models
from search.finetune import finetune_pruned
from search.lowering import Lowered, lower, stages_of
from search.spec import HARDWARE_OBJECTIVES, JobSpec
from search.transforms import Candidate, TransformedModel, collect_stats, transform
from search.workload import Workload

RESOURCE_KEYS = {"bram": "bram18"}  # objective name -> hw_models resource name


@dataclass
class Score:
    """A scored candidate: its metrics and its lowered hardware (typed), plus the per-layer
    summary stored with a trial."""

    candidate: Candidate
    metrics: dict[str, float]  # on the validation split
    lowered: Lowered
    layers: dict[str, dict] = field(default_factory=dict)

    @property
    def estimate(self) -> hw_models.Estimate:
        return self.lowered.estimate

    @cached_property
    def hardware(self) -> dict:
        """The estimate as stored with a trial (`hw_models.Estimate.to_dict()`, JSON)."""
        return self.estimate.to_dict()

    @property
    def fits(self) -> bool:
        return self.estimate.fits

    @property
    def max_utilisation(self) -> float:
        return max(self.estimate.utilisation.values())

    def objective(self, name: str) -> float:
        """The value of one job objective: a task metric or a hardware figure."""
        if name not in HARDWARE_OBJECTIVES:
            return self.metrics[name]
        if name == "utilisation":
            return self.max_utilisation
        if name == "throughput":
            return self.estimate.throughput_fps
        if name == "latency":
            return self.estimate.latency_us
        return float(self.estimate.resources[RESOURCE_KEYS.get(name, name)])

    def to_dict(self) -> dict:
        return {
            "candidate": self.candidate.model_dump(),
            "metrics": self.metrics,
            "hardware": self.hardware,
            "layers": self.layers,
        }


def _folding_summary(stages: Mapping[str, hw_models.StageEstimate], layer: str) -> dict:
    """PE, SIMD and expected cycles of a layer's engine; lists, one per part, for a layer
    split across engines (a transformer's fused q/k/v projection)."""
    parts = [(stages[s].pe, stages[s].simd, stages[s].cycles) for s in stages_of(stages, layer)]
    keys = ("pe", "simd", "expected_cycles")
    if len(parts) == 1:
        return dict(zip(keys, parts[0], strict=True))
    return {k: [part[i] for part in parts] for i, k in enumerate(keys)}


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

    def lower(self, transformed: TransformedModel) -> Lowered:
        """Statistics on the calibration batch, then the one lowering to the contract."""
        stats = collect_stats(transformed, self.calibration)
        spec = self.spec
        name = self.workload.model_name
        return lower(transformed, stats, name, spec.act_skip, self.device, spec.clock_mhz)

    def estimate(self, transformed: TransformedModel) -> tuple[dict, dict]:
        """(stored estimate dict, statistics), for callers that print or store the estimate."""
        lowered = self.lower(transformed)
        return lowered.estimate.to_dict(), lowered.stats

    @torch.no_grad()
    def score(self, candidate: Candidate, split: str = "val") -> Score:
        transformed = self.build(candidate)
        metrics = self.workload.task.evaluate(transformed.quantized, self.workload.dataset, split)
        lowered = self.lower(transformed)
        layers = {
            name: {
                **transformed.configs[name].model_dump(),
                **lowered.stats[name].summary(),
                **_folding_summary(lowered.stages, name),
            }
            for name in transformed.layers
        }
        return Score(candidate, metrics, lowered, layers)
