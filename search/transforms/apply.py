"""Apply a candidate to a float model: prune, threshold, quantize, and build both views.

    transformed = transform(model, candidate, calibration_inputs)
    transformed.quantized        # fake-quant torch model (float64), fast accuracy evaluation
    transformed.integer_network  # the integer reference model (chain models only)

Order matters and is fixed: (1) prune every weighted layer to its exact sparsity, by the
candidate's `pruning`; (2) set
each ReLU's threshold, in data-flow order, on the pruned model's calibration activations;
(3) choose weight and input scales on the pruned, thresholded float model; (4) build the
quantized modules.
"""

import copy
import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from search.transforms._balanced import RowBalancedPruner
from search.transforms._base import BasePruner, BaseQuantizer
from search.transforms._graph import (
    WEIGHTED,
    capture_inputs,
    relu_feeds,
    set_submodule,
    weighted_layers,
)
from search.transforms._magnitude import MagnitudePruner
from search.transforms._mse import MSEQuantizer
from search.transforms.candidate import Candidate, LayerConfig
from search.transforms.fake_quant import (
    QuantizedConv2d,
    QuantizedLinear,
    QuantizedReLU,
    ThresholdReLU,
)
from search.transforms.fixed_point import FixedPoint
from search.transforms.integer_model import (
    Flatten,
    IntegerNetwork,
    IntLayer,
    MaxPool,
    Requantization,
)

MAX_QUANTILE_VALUES = 1_000_000
PRUNERS: dict[str, type[BasePruner]] = {
    "unstructured": MagnitudePruner,
    "balanced": RowBalancedPruner,
}  # a candidate's `pruning` -> the pruner `transform` uses when none is given


class TransformError(ValueError):
    """The model has a layer or structure the transforms do not support."""


@dataclass(frozen=True)
class QuantizedLayer:
    """A weighted layer after the candidate: integer codes and formats, PyTorch layout."""

    name: str
    kind: str  # "linear" or "conv2d"
    config: LayerConfig
    weight: np.ndarray  # int64 codes
    bias: np.ndarray  # int64 codes, scale 2^-(weight_format.frac + input_format.frac)
    weight_format: FixedPoint
    input_format: FixedPoint
    input_threshold: float  # the float threshold of the ReLU feeding this layer (0 if none)
    stride: int = 1
    padding: int = 0


@dataclass
class TransformedModel:
    configs: dict[str, LayerConfig]
    float_model: nn.Module  # pruned and thresholded, float64
    quantized: nn.Module  # fake-quant, float64
    layers: dict[str, QuantizedLayer]
    relu_feeds: dict[str, str]

    @property
    def integer_network(self) -> IntegerNetwork:
        return build_integer_network(self)

    @cached_property
    def digest(self) -> str:
        """Identity of the design: equal digests mean the same float model (what fine-tuning
        starts from) and the same integer layers (what is built), whatever the candidate's
        nominal choices were; an activation target below a layer's natural sparsity, for one,
        changes nothing."""
        h = hashlib.sha256()
        for key, tensor in self.float_model.state_dict().items():
            h.update(key.encode())
            h.update(tensor.detach().cpu().numpy().tobytes())
        for name, q in self.layers.items():
            h.update(name.encode())
            h.update(np.ascontiguousarray(q.weight, np.int64).tobytes())
            h.update(np.ascontiguousarray(q.bias, np.int64).tobytes())
            formats = (q.weight_format.to_dict(), q.input_format.to_dict(), q.input_threshold)
            h.update(repr(formats).encode())
        return h.hexdigest()[:16]

    def integer_layers(self) -> dict[str, IntLayer]:
        """Each weighted layer's integer twin, returning accumulators: the layer-by-layer
        reference for models the integer chain does not cover (char-gpt)."""
        return {
            name: IntLayer(
                name, q.kind, q.weight, q.bias, q.weight_format, q.input_format, q.stride, q.padding
            )
            for name, q in self.layers.items()
        }


def _check_supported(name: str, module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d):
        square = len(set(module.kernel_size)) == 1 and len(set(module.stride)) == 1
        if not square or module.groups != 1 or module.dilation != (1, 1):
            raise TransformError(
                f"layer {name}: only square, ungrouped, undilated Conv2d is supported"
            )
        if isinstance(module.padding, str) or len(set(module.padding)) != 1:
            raise TransformError(f"layer {name}: padding must be one integer")


def transform(
    model: nn.Module,
    candidate: Candidate,
    calibration: torch.Tensor,
    pruner: BasePruner | None = None,
    quantizer: BaseQuantizer | None = None,
    source: str = "candidate",
) -> TransformedModel:
    pruner = pruner or PRUNERS[candidate.pruning]()
    quantizer = quantizer or MSEQuantizer()
    # float64 calibration: thresholds and scales must not depend on BLAS thread counts, so a
    # trial rebuilt in another process gives the same candidate bit for bit
    model = copy.deepcopy(model).double().eval()
    if calibration.is_floating_point():
        calibration = calibration.double()
    layers = weighted_layers(model)
    for name, module in layers:
        _check_supported(name, module)
    feeds = relu_feeds(model)
    feeding_relu = {layer: relu for relu, layer in feeds.items()}
    configs = candidate.resolve([n for n, _ in layers], set(feeding_relu), source)

    # (1) prune
    with torch.no_grad():
        for name, module in layers:
            module.weight.mul_(pruner.keep_mask(module.weight, configs[name].weight_sparsity))

    # (2) thresholds, in data-flow order: each sees the upstream thresholds already applied
    thresholds: dict[str, float] = {}
    for relu_name in feeds:
        set_submodule(model, relu_name, ThresholdReLU(0.0))
    for relu_name, layer_name in feeds.items():
        target = configs[layer_name].act_sparsity
        if target > 0:
            # measured at the consumer's input, so pooling between ReLU and layer counts:
            # max-pool commutes with the monotone thresholded ReLU
            seen = capture_inputs(model, [layer_name], calibration)[layer_name]
            model.get_submodule(relu_name).threshold = threshold_for_sparsity(seen, target)
        thresholds[layer_name] = model.get_submodule(relu_name).threshold

    # (3) scales
    inputs = capture_inputs(model, [n for n, _ in layers], calibration)
    quantized_layers: dict[str, QuantizedLayer] = {}
    for name, module in layers:
        cfg = configs[name]
        w = module.weight.detach()
        w_frac = quantizer.choose_frac(w, cfg.w_bits, signed=True, symmetric=True)
        w_fmt = FixedPoint(cfg.w_bits, w_frac, signed=True, symmetric=True)
        signed = name not in feeding_relu
        a_frac = quantizer.choose_frac(inputs[name], cfg.a_bits, signed=signed, symmetric=False)
        a_fmt = FixedPoint(cfg.a_bits, a_frac, signed=signed)
        bias = module.bias.detach() if module.bias is not None else torch.zeros(w.shape[0])
        quantized_layers[name] = QuantizedLayer(
            name=name,
            kind="conv2d" if isinstance(module, nn.Conv2d) else "linear",
            config=cfg,
            weight=w_fmt.to_int(w.numpy()),
            bias=bias_codes(bias.double().numpy(), w_fmt, a_fmt, fan_in=w[0].numel()),
            weight_format=w_fmt,
            input_format=a_fmt,
            input_threshold=thresholds.get(name, 0.0),
            stride=module.stride[0] if isinstance(module, nn.Conv2d) else 1,
            padding=module.padding[0] if isinstance(module, nn.Conv2d) else 0,
        )

    # (4) the fake-quant model
    quantized = copy.deepcopy(model)
    for name, q in quantized_layers.items():
        args = (
            torch.from_numpy(q.weight),
            torch.from_numpy(q.bias),
            q.weight_format,
            q.input_format,
        )
        module = (
            QuantizedConv2d(*args, stride=q.stride, padding=q.padding)
            if q.kind == "conv2d"
            else QuantizedLinear(*args)
        )
        set_submodule(quantized, name, module)
    for relu_name, layer_name in feeds.items():
        q = quantized_layers[layer_name]
        code = int(np.floor(q.input_threshold * 2.0**q.input_format.frac))
        set_submodule(quantized, relu_name, QuantizedReLU(max(code, 0), q.input_format))
    return TransformedModel(configs, model, quantized.eval(), quantized_layers, feeds)


def bias_codes(bias: np.ndarray, w_fmt: FixedPoint, a_fmt: FixedPoint, fan_in: int) -> np.ndarray:
    """Bias in the accumulator's scale, rounded half up and clamped to the products' bound.

    `|bias| <= fan_in * max|w| * max|x|` keeps `|acc| <= 2 * fan_in * max|w| * max|x|`, the
    bound `hw_models.accumulator_bits` sizes the hardware accumulator for.
    """
    bound = fan_in * w_fmt.qmax * max(-a_fmt.qmin, a_fmt.qmax)
    codes = np.floor(bias * 2.0 ** (w_fmt.frac + a_fmt.frac) + 0.5)
    return np.clip(codes, -bound, bound).astype(np.int64)


def threshold_for_sparsity(pre_activations: torch.Tensor, target: float) -> float:
    """The threshold t >= 0 with P(x <= t) = target on calibration values.

    `pre_activations` are ReLU outputs (with threshold 0), possibly pooled. A target below
    their natural sparsity keeps t = 0: a ReLU cannot make fewer zeros.
    """
    flat = pre_activations.flatten().double()
    if len(flat) > MAX_QUANTILE_VALUES:  # torch.quantile's input limit; a seeded subsample
        pick = torch.randperm(len(flat), generator=torch.Generator().manual_seed(0))
        flat = flat[pick[:MAX_QUANTILE_VALUES]]
    return max(torch.quantile(flat, target).item(), 0.0)


def build_integer_network(transformed: TransformedModel) -> IntegerNetwork:
    """The integer chain of a Sequential model (Linear, Conv2d, ReLU, MaxPool2d, Flatten)."""
    model = transformed.float_model
    if not isinstance(model, nn.Sequential):
        raise TransformError(
            "the integer reference model covers chain (nn.Sequential) models; "
            f"{type(model).__name__} is not one (its layers are checked one by one instead)"
        )
    ops: list = []
    twins = transformed.integer_layers()
    for name, module in model.named_children():
        if isinstance(module, WEIGHTED):
            ops.append(twins[name])
        elif isinstance(module, ThresholdReLU):
            consumer = transformed.layers[transformed.relu_feeds[name]]
            producer = ops[-1] if ops and isinstance(ops[-1], IntLayer) else None
            if producer is None:
                raise TransformError(f"{name}: a ReLU must directly follow a Linear or Conv2d")
            out = consumer.input_format
            code = max(int(np.floor(consumer.input_threshold * 2.0**out.frac)), 0)
            shift = producer.acc_frac - out.frac
            ops[-1] = IntLayer(**{**producer.__dict__, "requant": Requantization(shift, code, out)})
        elif isinstance(module, nn.MaxPool2d):
            if module.padding != 0 or module.dilation != 1:
                raise TransformError(f"{name}: max-pool padding/dilation is not supported")
            ops.append(MaxPool(name, _as_int(module.kernel_size), _as_int(module.stride)))
        elif isinstance(module, nn.Flatten):
            ops.append(Flatten(name))
        elif not isinstance(module, nn.Dropout | nn.Identity):
            raise TransformError(f"{name}: {type(module).__name__} has no integer implementation")
    first = next(op for op in ops if isinstance(op, IntLayer))
    return IntegerNetwork(first.input_format, tuple(ops))


def _as_int(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else value[0]
