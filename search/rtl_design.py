"""A candidate's RTL design: its one lowering (network, folding) plus the integer memory images.

    accelerator = describe_accelerator(scorer, candidate)
    accelerator.lowered      # hw_models network, folding and estimate, exactly as scored
    accelerator.design       # rtl.Design: that network and folding with the integer codes

The candidate is rebuilt and lowered exactly as the search scored it, once, so simulation,
exports and bundles all see the hardware whose numbers are in the database.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from torch import nn

import hw_models
import rtl
from rtl.generate import hdl_sources
from search.lowering import Lowered
from search.scoring import CandidateScorer
from search.transforms import Candidate, TransformedModel

RTL_IMPLEMENTER = "the RTL generator"


def check_rtl_supported(model: nn.Module, name: str) -> None:
    """Before lowering: only chain (nn.Sequential) models lower to chains the RTL builds."""
    if not isinstance(model, nn.Sequential):
        raise hw_models.NotAChainError(
            name, RTL_IMPLEMENTER, rtl.RTL_KINDS, f"{type(model).__name__} is not a chain model"
        )


def memory_images(transformed: TransformedModel) -> dict[str, rtl.MemoryImage]:
    """Each engine's integer weight and bias codes and requantization, from the integer
    reference model (the RTL must match it bit for bit)."""
    images = {}
    for op in transformed.integer_network.weighted:
        r = op.requant
        shift, threshold = (None, 0) if r is None else (r.shift, r.threshold)
        images[op.name] = rtl.MemoryImage(op.weight, op.bias, shift, threshold)
    return images


def rtl_design(transformed: TransformedModel, lowered: Lowered) -> rtl.Design:
    """The lowered network and folding with the candidate's memory images (rtl.Design
    checks that the network is a chain the RTL builds)."""
    return rtl.Design(lowered.network, lowered.folding, memory_images(transformed))


@dataclass(frozen=True, eq=False)
class Accelerator:
    """A candidate's hardware as scored: the transformed model, its lowering, its RTL design."""

    transformed: TransformedModel
    lowered: Lowered
    design: rtl.Design

    @property
    def hardware(self) -> dict:
        """The estimate as stored with a trial (`hw_models.Estimate.to_dict()`)."""
        return self.lowered.estimate.to_dict()


def describe_accelerator(scorer: CandidateScorer, candidate: Candidate) -> Accelerator:
    """Rebuild the candidate exactly as the search scored it and lower it once."""
    transformed = scorer.build(candidate)
    lowered = scorer.lower(transformed)
    return Accelerator(transformed, lowered, rtl_design(transformed, lowered))


def write_rtl(design: rtl.Design, out: Path) -> None:
    """The generated top, memory files and README, plus the hand-written modules it uses."""
    rtl.generate(design, out)
    (out / "hdl").mkdir(exist_ok=True)
    for source in hdl_sources():
        shutil.copy(source, out / "hdl" / source.name)
