"""A candidate's accelerator, described once for the cost model and for the RTL.

    accelerator = describe_accelerator(scorer, candidate)
    accelerator.hardware     # hw_models estimate (folding, cycles, resources)
    accelerator.design       # rtl.Network: integer codes, requantization, the same folding

The candidate is rebuilt exactly as the search scored it, so simulation, exports and bundles
all see the hardware whose numbers are in the database.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from torch import nn

import hw_models
import rtl
from rtl.generate import hdl_sources
from search.hardware import network_from_transformed
from search.scoring import CandidateScorer
from search.transforms import Candidate, TransformedModel
from search.transforms._graph import WEIGHTED


def check_rtl_supported(model: nn.Module, name: str) -> None:
    """The RTL generator builds chain (nn.Sequential) models; say so for any other."""
    if not isinstance(model, nn.Sequential):
        raise NotImplementedError(
            f"{name}: the RTL generator builds chain models (linear, conv2d, max-pool); "
            f"{type(model).__name__} needs norm, softmax, matmul or add stages, which only "
            "the analytic hardware model (hw_models) implements so far"
        )


def rtl_network(
    transformed: TransformedModel,
    hw_network: hw_models.Network,
    folding: hw_models.Folding,
    name: str,
) -> rtl.Network:
    """The chain model as rtl's description: integer codes, requantization, folding."""
    check_rtl_supported(transformed.float_model, name)
    integer = transformed.integer_network
    ops = {op.name: op for op in integer.weighted}
    specs = {layer.name: layer for layer in hw_network.layers}
    layers, frame = [], None
    for child, module in transformed.float_model.named_children():
        if isinstance(module, WEIGHTED):
            op, spec = ops[child], specs[child]
            in_shape = frame or spec.in_shape
            r = op.requant
            pe, simd = folding[child]
            geometry = {"kernel": spec.kernel, "stride": op.stride, "padding": op.padding}
            layers.append(
                rtl.Layer(
                    child,
                    op.kind,
                    in_shape,
                    op.weight,
                    op.bias,
                    **(geometry if op.kind == "conv2d" else {}),
                    w_bits=op.weight_format.bits,
                    a_bits=op.input_format.bits,
                    input_signed=op.input_format.signed,
                    requant=None
                    if r is None
                    else rtl.Requant(r.shift, r.threshold, r.out_format.bits),
                    pe=pe,
                    simd=simd,
                    act_skip=spec.act_skip,
                )
            )
            frame = layers[-1].out_shape
        elif isinstance(module, nn.MaxPool2d):
            spec = specs[child]
            layers.append(
                rtl.Layer(
                    child,
                    "maxpool",
                    frame,
                    kernel=spec.kernel,
                    stride=spec.stride,
                    a_bits=spec.a_bits,
                )
            )
            frame = layers[-1].out_shape
    return rtl.Network(name, tuple(layers))


@dataclass
class Accelerator:
    """A candidate's hardware as scored: estimate, hw_models network and folding, rtl design."""

    transformed: TransformedModel
    hardware: dict
    hw_network: hw_models.Network
    folding: hw_models.Folding
    design: rtl.Network


def describe_accelerator(scorer: CandidateScorer, candidate: Candidate) -> Accelerator:
    """Rebuild the candidate exactly as the search scored it, folding included."""
    workload = scorer.workload
    transformed = scorer.build(candidate)
    hardware, stats = scorer.estimate(transformed)
    hw_network = network_from_transformed(
        transformed, stats, workload.model_name, scorer.spec.act_skip
    )
    folding = hw_models.Folding.from_dict(
        {name: (f["pe"], f["simd"]) for name, f in hardware["folding"].items()}
    )
    design = rtl_network(transformed, hw_network, folding, workload.model_name.replace("-", "_"))
    return Accelerator(transformed, hardware, hw_network, folding, design)


def write_rtl(design: rtl.Network, out: Path) -> None:
    """The generated top, memory files and README, plus the hand-written modules it uses."""
    rtl.generate(design, out)
    (out / "hdl").mkdir(exist_ok=True)
    for source in hdl_sources():
        shutil.copy(source, out / "hdl" / source.name)
