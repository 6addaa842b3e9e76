"""Score one candidate: transform, measure accuracy, collect statistics, lower and estimate.

The same code scores search trials, baselines and stored candidates, so a number in the
database can always be reproduced from the candidate alone.
"""

import itertools
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import torch

import hw_models
from search.finetune import finetune_pruned
from search.lowering import Lowered, lower, stages_of
from search.spec import HARDWARE_OBJECTIVES, JobSpec
from search.transforms import (
    Candidate,
    LayerConfig,
    TransformedModel,
    collect_stats,
    relu_feeds,
    transform,
    weighted_layers,
)
from search.workload import Workload

RESOURCE_KEYS = {"bram": "bram18"}  # objective name -> hw_models resource name
# Tuned float models kept per scorer, by size: a job's front is re-built at its end for test
# metrics, and a member retuned there costs a whole fine-tuning (an fmnist-cnn model is ~120 kB).
TUNED_CACHE_BYTES = 256 * 2**20


@dataclass
class Score:
    """A scored candidate: its metrics and its lowered hardware (typed), plus the per-layer
    summary stored with a trial."""

    candidate: Candidate
    metrics: dict[str, float]  # on the validation split
    lowered: Lowered
    design: str  # `TransformedModel.digest`: equal for candidates that build the same design
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
            "design": self.design,
        }


def _folding_summary(stages: Mapping[str, hw_models.StageEstimate], layer: str) -> dict:
    """PE, SIMD and expected cycles of a layer's engine; lists, one per part, for a layer
    split across engines (a transformer's fused q/k/v projection)."""
    parts = [(stages[s].pe, stages[s].simd, stages[s].cycles) for s in stages_of(stages, layer)]
    keys = ("pe", "simd", "expected_cycles")
    if len(parts) == 1:
        return dict(zip(keys, parts[0], strict=True))
    return {k: [part[i] for part in parts] for i, k in enumerate(keys)}


def fine_tunes(spec: JobSpec, configs: Mapping[str, LayerConfig]) -> bool:
    """The fine-tuning policy, one for trials and baselines: tune when the job asks for it
    and the candidate prunes weights somewhere (tuning recovers pruning, not quantization)."""
    return spec.finetune.epochs > 0 and any(c.weight_sparsity > 0 for c in configs.values())


def _model_bytes(model: torch.nn.Module) -> int:
    tensors = itertools.chain(model.parameters(), model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


class CandidateScorer:
    """Built once per worker: holds the workload and calibration batch, and the fine-tuned
    float models of the most recent pruning patterns, up to `TUNED_CACHE_BYTES`."""

    def __init__(self, spec: JobSpec, workload: Workload):
        self.spec = spec
        self.workload = workload
        self.calibration = workload.calibration(spec.calibration_samples)
        self.device = hw_models.DEVICES[spec.device]
        self._tuned: OrderedDict[tuple, torch.nn.Module] = OrderedDict()
        self._tuned_bytes = 0

    def build(self, candidate: Candidate, tune: bool = True) -> TransformedModel:
        """The transformed candidate, fine-tuned by the policy (`fine_tunes`) unless `tune` is
        False."""
        transformed = transform(self.workload.model, candidate, self.calibration)
        if tune and fine_tunes(self.spec, transformed.configs):
            tuned = self._tuned_model(transformed, candidate.pruning)
            transformed = transform(tuned, candidate, self.calibration)
        return transformed

    def fine_tunes(self, candidate: Candidate) -> bool:
        """Whether `build` tunes this candidate (`fine_tunes` on its resolved layers)."""
        model = self.workload.model
        names = [name for name, _ in weighted_layers(model)]
        return fine_tunes(self.spec, candidate.resolve(names, set(relu_feeds(model).values())))

    def _tuned_model(self, transformed: TransformedModel, pruning: str) -> torch.nn.Module:
        """Tuning depends on the pruned weights and the thresholds, not on the bit widths:
        candidates that differ only in widths share one tuned model."""
        layers = ((n, c.weight_sparsity, c.act_sparsity) for n, c in transformed.configs.items())
        key = (pruning, *layers)
        if key in self._tuned:
            self._tuned.move_to_end(key)
            return self._tuned[key]
        tuned = finetune_pruned(transformed.float_model, self.workload, self.spec.finetune)
        self._tuned[key] = tuned
        self._tuned_bytes += _model_bytes(tuned)
        while self._tuned_bytes > TUNED_CACHE_BYTES and len(self._tuned) > 1:
            self._tuned_bytes -= _model_bytes(self._tuned.popitem(last=False)[1])
        return tuned

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
    def score(self, candidate: Candidate, split: str = "val", tune: bool = True) -> Score:
        transformed = self.build(candidate, tune)
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
        return Score(candidate, metrics, lowered, transformed.digest, layers)
