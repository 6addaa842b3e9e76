"""Factories for the RTL tests: random designs (contract network, folding, memory images) and
their integer reference.

A design is assembled from parts, one per stage: `(LayerSpec, MemoryImage or None, (PE, SIMD)
or None)`. `reference(design)` rebuilds a design as search's `IntegerNetwork`, so expected
outputs always come from the integer reference model (search.transforms), never from a
re-derivation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hw_models import Folding, LayerSpec, Network, accumulator_bits, sliding_window_size
from rtl import Design, MemoryImage
from search.transforms import FixedPoint, IntegerNetwork, IntLayer, Requantization
from search.transforms.integer_model import Flatten, MaxPool

Part = tuple[LayerSpec, MemoryImage | None, tuple[int, int] | None]


def random_weights(
    rng: np.random.Generator, shape: tuple[int, ...], w_bits: int, sparsity: float
) -> np.ndarray:
    """Symmetric codes, nonzero except for about `sparsity` of them (zero rows happen at high
    sparsity); `sparsity=0` gives a dense matrix."""
    w_max = 2 ** (w_bits - 1) - 1
    w = rng.integers(1, w_max + 1, size=shape) * rng.choice([-1, 1], size=shape)
    return np.where(rng.random(shape) < sparsity, 0, w).astype(np.int64)


def engine_part(
    name: str,
    kind: str,
    in_shape: tuple[int, int, int],
    weight: np.ndarray,
    bias: np.ndarray,
    *,
    w_bits: int = 8,
    a_bits: int = 8,
    signed: bool = False,
    out_bits: int | None = None,
    shift: int = 0,
    threshold: int = 0,
    pe: int = 1,
    simd: int = 1,
    act_skip: bool = False,
    kernel: int = 1,
    stride: int = 1,
    padding: int = 0,
) -> Part:
    """An engine reading an `in_shape` frame (a linear layer reads it flattened, `weight`
    (M, C*H*W) in PyTorch's flatten order); `out_bits=None` makes it a last layer."""
    m = weight.shape[0]
    if kind == "linear":
        spec_in, out_shape, geometry = (int(np.prod(in_shape)), 1, 1), (m, 1, 1), {}
    else:
        _, h, w = in_shape
        size = [sliding_window_size(x, kernel, stride, padding) for x in (h, w)]
        spec_in, out_shape = in_shape, (m, *size)
        geometry = {"kernel": kernel, "stride": stride, "padding": padding}
    last = out_bits is None
    fan_in = int(np.prod(weight.shape[1:]))
    spec = LayerSpec(
        name,
        kind,
        spec_in,
        out_shape,
        w_bits=w_bits,
        a_bits=a_bits,
        out_bits=accumulator_bits(w_bits, a_bits, fan_in, signed) if last else out_bits,
        input_signed=signed,
        act_skip=act_skip,
        weight_mask=weight != 0,
        **geometry,
    )
    memory = MemoryImage(weight, bias, None if last else shift, 0 if last else threshold)
    return spec, memory, (pe, simd)


def engine(
    rng: np.random.Generator,
    name: str,
    kind: str,
    in_shape: tuple[int, int, int],
    m: int,
    *,
    w_bits: int = 4,
    a_bits: int = 4,
    signed: bool = False,
    out_bits: int | None = 4,
    sparsity: float = 0.5,
    pe: int = 1,
    simd: int = 1,
    act_skip: bool = False,
    kernel: int = 3,
    stride: int = 1,
    padding: int = 1,
    shift: int | None = None,
    threshold: int | None = None,
) -> Part:
    """A random linear or conv2d layer; `out_bits=None` makes it a last layer."""
    c, h, w = in_shape
    shape = (m, c * h * w) if kind == "linear" else (m, c, kernel, kernel)
    weight = random_weights(rng, shape, w_bits, sparsity)
    fan_in = c * h * w if kind == "linear" else kernel * kernel * c
    scale = (2 ** (w_bits - 1)) * (2**a_bits) * max(1, int(np.sqrt(fan_in)))
    bias = rng.integers(-scale, scale + 1, size=m).astype(np.int64)
    if out_bits is not None:
        if shift is None:
            shift = int(rng.integers(0, w_bits + a_bits))
        if threshold is None:
            threshold = int(rng.integers(0, 3))
    geometry = {} if kind == "linear" else {"kernel": kernel, "stride": stride, "padding": padding}
    return engine_part(
        name,
        kind,
        in_shape,
        weight,
        bias,
        w_bits=w_bits,
        a_bits=a_bits,
        signed=signed,
        out_bits=out_bits,
        shift=shift or 0,
        threshold=threshold or 0,
        pe=pe,
        simd=simd,
        act_skip=act_skip,
        **geometry,
    )


def maxpool(
    name: str, in_shape: tuple[int, int, int], kernel: int, stride: int, a_bits: int
) -> Part:
    """A max-pool stage (no memory, no folding)."""
    c, h, w = in_shape
    out = (c, *(sliding_window_size(x, kernel, stride, 0) for x in (h, w)))
    spec = LayerSpec(
        name, "maxpool", in_shape, out, kernel=kernel, stride=stride, a_bits=a_bits, out_bits=a_bits
    )
    return spec, None, None


def design(
    name: str,
    parts: list[Part] | tuple[Part, ...],
    pixels: dict[str, int] | None = None,
    banks: dict[str, int] | None = None,
) -> Design:
    """The design of `parts` in pipeline order; `pixels` gives the px of stages ("input" for
    the loader) that handle several output pixels per cycle, `banks` the frames (3) of the
    buffers stages write for the next one (2 when absent)."""
    network = Network(name, tuple(spec for spec, _, _ in parts))
    folding = Folding.from_dict(
        {spec.name: fold for spec, _, fold in parts if fold is not None}, pixels, banks
    )
    memories = {spec.name: memory for spec, memory, _ in parts if memory is not None}
    return Design(network, folding, memories)


def reference(design: Design) -> IntegerNetwork:
    """The design as search's integer reference model (scales are irrelevant: frac 0)."""
    ops: list = []
    for layer in design.layers:
        if layer.kind == "maxpool":
            ops.append(MaxPool(layer.name, layer.kernel, layer.stride))
            continue
        if layer.kind == "linear" and design.frame_shape(layer)[1:] != (1, 1):
            ops.append(Flatten(f"{layer.name}_flatten"))
        w_fmt = FixedPoint(max(layer.w_bits, 2), 0, signed=True, symmetric=True)
        a_fmt = FixedPoint(max(layer.a_bits, 2), 0, signed=layer.input_signed)
        memory = design.memories[layer.name]
        requant = None
        if memory.shift is not None:
            out_fmt = FixedPoint(layer.out_bits, 0, False)
            requant = Requantization(memory.shift, memory.threshold, out_fmt)
        ops.append(
            IntLayer(
                layer.name,
                layer.kind,
                memory.weight,
                memory.bias,
                w_fmt,
                a_fmt,
                layer.stride,
                layer.padding,
                requant,
            )
        )
    in_fmt = FixedPoint(max(design.in_bits, 2), 0, signed=design.input_signed)
    return IntegerNetwork(in_fmt, tuple(ops))


def random_inputs(
    rng: np.random.Generator, design: Design, n: int, density: float = 1.0
) -> np.ndarray:
    """(N, C, H, W) input codes in the design's input range, about `density` nonzero."""
    bits = design.in_bits
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if design.input_signed else (0, 2**bits)
    x = rng.integers(lo, hi, size=(n, *design.in_shape))
    return np.where(rng.random(x.shape) < density, x, 0).astype(np.int64)


def _flat_inputs(design: Design, inputs: np.ndarray) -> np.ndarray:
    """(N, K) inputs of a design whose first layer is linear on a (K, 1, 1) frame."""
    first = design.layers[0]
    if first.kind == "linear" and design.in_shape[1:] == (1, 1) and inputs.ndim == 4:
        return inputs[:, :, 0, 0]
    return inputs


def golden(design: Design, inputs: np.ndarray) -> np.ndarray:
    """Expected outputs from the integer reference model, shaped like the RTL's outputs."""
    return reference(design).run(_flat_inputs(design, inputs))


def exact_schedule(design: Design, inputs: np.ndarray):
    """hw_models' exact start/done cycles (stages, N) for these inputs (SPEC sections 2-4)."""
    from hw_models import exact_network_cycles

    _, layer_inputs = reference(design).trace(_flat_inputs(design, inputs))
    masks = {
        layer.name: layer_inputs[layer.name] != 0
        for layer in design.layers
        if layer.is_engine and layer.act_skip
    }
    return exact_network_cycles(design.network, design.folding, masks, n_frames=len(inputs))


def from_integer_network(
    net: IntegerNetwork,
    in_shape: tuple[int, int, int],
    folds: dict[str, tuple[int, int]],
    act_skip: set[str],
    name: str = "net",
) -> Design:
    """Describe search's integer network as an accelerator (what search/ does).

    A leading Flatten is absorbed into the input frame: the first linear layer then reads a
    (K, 1, 1) frame, one loader pixel, as hw_models describes it.
    """
    parts: list[Part] = []
    shape, bits, signed = in_shape, net.input_format.bits, net.input_format.signed
    ops = list(net.ops)
    if ops and isinstance(ops[0], Flatten):
        shape = (int(np.prod(in_shape)), 1, 1)
        ops = ops[1:]
    for op in ops:
        if isinstance(op, Flatten):
            continue  # a linear layer reads its predecessor's frame as one vector
        if isinstance(op, MaxPool):
            part = maxpool(op.name, shape, op.kernel, op.stride, bits)
            if signed:
                part = (dataclasses.replace(part[0], input_signed=True), None, None)
        else:
            r = op.requant
            geometry = {}
            if op.kind == "conv2d":
                geometry = {
                    "kernel": op.weight.shape[-1],
                    "stride": op.stride,
                    "padding": op.padding,
                }
            part = engine_part(
                op.name,
                op.kind,
                shape,
                op.weight,
                op.bias,
                w_bits=op.weight_format.bits,
                a_bits=op.input_format.bits,
                signed=op.input_format.signed,
                out_bits=None if r is None else r.out_format.bits,
                shift=0 if r is None else r.shift,
                threshold=0 if r is None else r.threshold,
                pe=folds[op.name][0],
                simd=folds[op.name][1],
                act_skip=op.name in act_skip,
                **geometry,
            )
            signed = False
        parts.append(part)
        shape, bits = part[0].out_shape, part[0].out_bits
    return design(name, parts)
