"""Factories for the RTL tests: random accelerator descriptions and their integer reference.

`reference(network)` rebuilds a description as search's `IntegerNetwork`, so expected outputs
always come from the integer reference model (search.transforms), never from a re-derivation.
"""

from __future__ import annotations

import numpy as np

from rtl.description import Layer, Network, Requant
from search.transforms import FixedPoint, IntegerNetwork, IntLayer, Requantization
from search.transforms.integer_model import Flatten, MaxPool


def random_weights(
    rng: np.random.Generator, shape: tuple[int, ...], w_bits: int, sparsity: float
) -> np.ndarray:
    """Symmetric codes, nonzero except for about `sparsity` of them (zero rows happen at high
    sparsity); `sparsity=0` gives a dense matrix."""
    w_max = 2 ** (w_bits - 1) - 1
    w = rng.integers(1, w_max + 1, size=shape) * rng.choice([-1, 1], size=shape)
    return np.where(rng.random(shape) < sparsity, 0, w).astype(np.int64)


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
) -> Layer:
    """A random linear or conv2d layer; `out_bits=None` makes it a last layer."""
    c, h, w = in_shape
    shape = (m, c * h * w) if kind == "linear" else (m, c, kernel, kernel)
    weight = random_weights(rng, shape, w_bits, sparsity)
    fan_in = c * h * w if kind == "linear" else kernel * kernel * c
    scale = (2 ** (w_bits - 1)) * (2**a_bits) * max(1, int(np.sqrt(fan_in)))
    bias = rng.integers(-scale, scale + 1, size=m).astype(np.int64)
    requant = None
    if out_bits is not None:
        if shift is None:
            shift = int(rng.integers(0, w_bits + a_bits))
        if threshold is None:
            threshold = int(rng.integers(0, 3))
        requant = Requant(shift, threshold, out_bits)
    geometry = {} if kind == "linear" else {"kernel": kernel, "stride": stride, "padding": padding}
    return Layer(
        name,
        kind,
        in_shape,
        weight,
        bias,
        w_bits=w_bits,
        a_bits=a_bits,
        input_signed=signed,
        requant=requant,
        pe=pe,
        simd=simd,
        act_skip=act_skip,
        **geometry,
    )


def reference(network: Network) -> IntegerNetwork:
    """The description as search's integer reference model (scales are irrelevant: frac 0)."""
    ops: list = []
    for layer in network.layers:
        if layer.kind == "maxpool":
            ops.append(MaxPool(layer.name, layer.kernel, layer.stride))
            continue
        if layer.kind == "linear" and layer.in_shape[1:] != (1, 1):
            ops.append(Flatten(f"{layer.name}_flatten"))
        w_fmt = FixedPoint(max(layer.w_bits, 2), 0, signed=True, symmetric=True)
        a_fmt = FixedPoint(max(layer.a_bits, 2), 0, signed=layer.input_signed)
        requant = None
        if layer.requant is not None:
            r = layer.requant
            requant = Requantization(r.shift, r.threshold, FixedPoint(r.out_bits, 0, False))
        ops.append(
            IntLayer(
                layer.name,
                layer.kind,
                layer.weight,
                layer.bias,
                w_fmt,
                a_fmt,
                layer.stride,
                layer.padding,
                requant,
            )
        )
    first = network.layers[0]
    in_fmt = FixedPoint(max(first.a_bits, 2), 0, signed=first.input_signed)
    return IntegerNetwork(in_fmt, tuple(ops))


def random_inputs(
    rng: np.random.Generator, network: Network, n: int, density: float = 1.0
) -> np.ndarray:
    """(N, C, H, W) input codes in the network's input range, about `density` nonzero."""
    bits = network.in_bits
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if network.input_signed else (0, 2**bits)
    x = rng.integers(lo, hi, size=(n, *network.in_shape))
    return np.where(rng.random(x.shape) < density, x, 0).astype(np.int64)


def golden(network: Network, inputs: np.ndarray) -> np.ndarray:
    """Expected outputs from the integer reference model, shaped like the RTL's outputs."""
    x = inputs
    if network.layers[0].kind == "linear" and network.in_shape[1:] == (1, 1) and x.ndim == 4:
        x = x[:, :, 0, 0]
    out = reference(network).run(x)
    return out


def hw_network(network: Network):
    """The description as hw_models' `Network` plus its `Folding` (for the cycle model)."""
    from hw_models import Folding, LayerSpec
    from hw_models import Network as HwNetwork

    specs, folds = [], {}
    for layer in network.layers:
        in_shape = layer.in_shape
        if layer.kind == "linear":
            in_shape = (layer.fan_in, 1, 1)
        kw = {}
        if layer.kind != "linear":
            kw = {"kernel": layer.kernel, "stride": layer.stride, "padding": layer.padding}
        if layer.is_engine:
            kw |= {
                "w_bits": layer.w_bits,
                "act_skip": layer.act_skip,
                "weight_mask": layer.weight != 0,
            }
            folds[layer.name] = (layer.pe, layer.simd)
        specs.append(
            LayerSpec(
                layer.name,
                layer.kind,
                in_shape,
                layer.out_shape,
                a_bits=layer.a_bits,
                out_bits=layer.out_bits,
                input_signed=layer.input_signed,
                **kw,
            )
        )
    return HwNetwork(network.name, tuple(specs)), Folding.from_dict(folds)


def exact_schedule(network: Network, inputs: np.ndarray):
    """hw_models' exact start/done cycles (stages, N) for these inputs (SPEC sections 2-4)."""
    from hw_models import exact_stage_cycles, pipeline_schedule

    x = inputs
    if network.layers[0].kind == "linear" and network.in_shape[1:] == (1, 1) and x.ndim == 4:
        x = x[:, :, 0, 0]
    _, layer_inputs = reference(network).trace(x)
    masks = {
        layer.name: layer_inputs[layer.name] != 0
        for layer in network.layers
        if layer.is_engine and layer.act_skip
    }
    hw, folding = hw_network(network)
    stage_cycles = exact_stage_cycles(hw, folding, masks, n_frames=len(inputs))
    return pipeline_schedule(stage_cycles)


def from_integer_network(
    net: IntegerNetwork,
    in_shape: tuple[int, int, int],
    folds: dict[str, tuple[int, int]],
    act_skip: set[str],
    name: str = "net",
) -> Network:
    """Describe search's integer network as an accelerator (what search/ will do).

    A leading Flatten is absorbed into the input frame: the first linear layer then reads a
    (K, 1, 1) frame, one loader pixel, as hw_models describes it.
    """
    layers: list[Layer] = []
    shape = in_shape
    ops = list(net.ops)
    if ops and isinstance(ops[0], Flatten):
        shape = (int(np.prod(in_shape)), 1, 1)
        ops = ops[1:]
    for op in ops:
        if isinstance(op, Flatten):
            continue  # a linear layer reads its predecessor's frame as one vector
        if isinstance(op, MaxPool):
            layer = Layer(
                op.name,
                "maxpool",
                shape,
                kernel=op.kernel,
                stride=op.stride,
                a_bits=layers[-1].out_bits if layers else net.input_format.bits,
                input_signed=not layers and net.input_format.signed,
            )
        else:
            r = op.requant
            pe, simd = folds[op.name]
            geometry = {}
            if op.kind == "conv2d":
                geometry = {
                    "kernel": op.weight.shape[-1],
                    "stride": op.stride,
                    "padding": op.padding,
                }
            layer = Layer(
                op.name,
                op.kind,
                shape,
                op.weight,
                op.bias,
                w_bits=op.weight_format.bits,
                a_bits=op.input_format.bits,
                input_signed=op.input_format.signed,
                requant=None if r is None else Requant(r.shift, r.threshold, r.out_format.bits),
                pe=pe,
                simd=simd,
                act_skip=op.name in act_skip,
                **geometry,
            )
        layers.append(layer)
        shape = layer.out_shape
    return Network(name, tuple(layers))
