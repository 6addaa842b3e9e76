"""What the generator builds: the contract network and folding, plus the engines' memory images.

    design = Design(network, folding, {"fc1": MemoryImage(weight, bias, shift=3), ...})

The accelerator is described once, by hw_models' contract types: `hw_models.Network` (stages,
shapes, widths, weight masks, activation skipping) and `hw_models.Folding` (PE, SIMD). rtl/ adds
only what the RTL needs beyond that description: each engine's `MemoryImage` (integer weight and
bias codes, requantization shift and threshold), a data payload keyed by layer name. Pixel
parallelism comes from the folding too (`Folding.px`: output pixels per cycle of the loader,
conv2d and max-pool stages).

From these, `Design` derives the RTL-specific quantities (accumulator widths, the weight memory
layout of SPEC section 6 and its data-dependent sizes, the RTL's weight column order) and the
hardware *shape* that decides the compiled RTL: `Design.shape_key()` hashes the network's dims,
widths, folding and memory layout (not the weight values nor the requantization constants), so
one Verilator build serves every weight set of a shape (its top takes the requantization
constants at run time; synthesis sees them as parameters, rtl.generate).

The RTL implements chains of linear, conv2d and max-pool stages (`hw_models.require_chain`);
only the network input may be signed; widths are limited to what hws_pkg supports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

import hw_models
from hw_models import LayerSpec, accumulator_bits, require_chain

RTL_KINDS = ("linear", "conv2d", "maxpool")
MAX_SHIFT = 64  # |requantization shift| limit (the RTL is exact far beyond it)
MAX_THRESHOLD = 2**31 - 1
MAX_BITS = 16  # weights, activations and requantized outputs


class DesignError(ValueError):
    """An invalid design; the message names the layer and the field."""


def _fail(layer: str, field_name: str, message: str) -> DesignError:
    return DesignError(f"layer {layer!r}: field {field_name!r}: {message}")


@dataclass(frozen=True, eq=False)
class MemoryImage:
    """The run-time memory contents of one engine (not a description of the engine).

    Attributes:
        weight: int64 codes in PyTorch layout, (M, K) for linear (columns in PyTorch's
            flatten order of the frame it reads), (M, Cin, kernel, kernel) for conv2d.
        bias: int64 codes (M,), in the accumulator's scale (w_frac + a_frac fractional bits).
        shift: requantization shift to the next layer's input (SPEC section 1); None for the
            last layer, whose accumulators are the outputs.
        threshold: thresholded-ReLU threshold in output codes (>= 0).
    """

    weight: np.ndarray
    bias: np.ndarray
    shift: int | None = None
    threshold: int = 0

    def __post_init__(self) -> None:
        for f in ("weight", "bias"):
            value = np.array(getattr(self, f), dtype=np.int64)
            value.flags.writeable = False
            object.__setattr__(self, f, value)


@dataclass(frozen=True, eq=False)
class Design:
    """A contract network with its folding and memory images; checked on construction.

    `eq=False`: designs hold numpy arrays (identity compare); compare `shape_key()`s instead.
    """

    network: hw_models.Network
    folding: hw_models.Folding
    memories: Mapping[str, MemoryImage] = field(repr=False)

    def __post_init__(self) -> None:
        network = self.network
        require_chain(network, RTL_KINDS, "the RTL generator")
        self.folding.check(network)
        object.__setattr__(self, "memories", dict(self.memories))
        engines = {layer.name for layer in network.engines}
        if set(self.memories) != engines:
            raise DesignError(
                f"network {network.name!r}: field 'memories': must hold exactly the engines "
                f"{sorted(engines)}, got {sorted(self.memories)}"
            )
        for i, layer in enumerate(network.layers):
            self._check_layer(layer, network.layers[i - 1] if i else None)

    def _check_layer(self, layer: LayerSpec, prev: LayerSpec | None) -> None:
        name = layer.name
        if not name.isidentifier():
            raise _fail(name, "name", "must be an identifier (it names RTL instances and files)")
        if layer.a_bits > MAX_BITS:
            raise _fail(name, "a_bits", f"must be in 1..{MAX_BITS}, got {layer.a_bits}")
        if prev is not None and layer.input_signed != (prev.input_signed and not prev.is_engine):
            raise _fail(
                name,
                "input_signed",
                f"must be {not layer.input_signed}: only the network input and max-pools of it "
                "are signed",
            )
        if not layer.is_engine:
            if layer.padding != 0:
                raise _fail(name, "padding", "max-pool padding is not supported (nor by search/)")
            return
        if layer.w_bits > MAX_BITS:
            raise _fail(name, "w_bits", f"must be in 2..{MAX_BITS}, got {layer.w_bits}")
        memory = self.memories[name]
        weight, bias = memory.weight, memory.bias
        expect = layer.weight_mask_shape
        if weight.shape != expect:
            raise _fail(name, "weight", f"shape must be {expect}, got {weight.shape}")
        w_max = 2 ** (layer.w_bits - 1) - 1
        if np.abs(weight).max(initial=0) > w_max:
            raise _fail(
                name, "weight", f"codes must be in [-{w_max}, {w_max}] (w_bits {layer.w_bits})"
            )
        # the cycle model reads the zeros from the network: they must be these weights' zeros
        mask = layer.weight_mask if layer.weight_mask is not None else np.ones(expect, bool)
        if not np.array_equal(weight != 0, mask):
            raise _fail(name, "weight", "its nonzeros must be the network's weight_mask")
        if bias.shape != (layer.rows,):
            raise _fail(name, "bias", f"shape must be ({layer.rows},), got {bias.shape}")
        if np.abs(bias).max(initial=0) > 2 ** (self.acc_bits(name) - 1) - 1:
            raise _fail(name, "bias", f"codes must fit the {self.acc_bits(name)}-bit accumulator")
        last = layer is self.network.layers[-1]
        if last != (memory.shift is None):
            raise _fail(
                name,
                "shift",
                "the last layer outputs its accumulators: None"
                if last
                else "every engine but the last requantizes",
            )
        if not last:
            if layer.out_bits > MAX_BITS:
                raise _fail(name, "out_bits", f"must be in 1..{MAX_BITS}, got {layer.out_bits}")
            if not 0 <= memory.threshold <= MAX_THRESHOLD:
                raise _fail(name, "threshold", f"must be in [0, {MAX_THRESHOLD}]")
            if abs(memory.shift) > MAX_SHIFT:
                raise _fail(name, "shift", f"|shift| must be <= {MAX_SHIFT}")

    # -- the network's ends -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def layers(self) -> tuple[LayerSpec, ...]:
        return self.network.layers

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of an input frame."""
        return self.network.layers[0].in_shape

    @property
    def in_bits(self) -> int:
        return self.network.layers[0].a_bits

    @property
    def input_signed(self) -> bool:
        return self.network.layers[0].input_signed

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """(M, H, W) of an output frame (accumulators)."""
        return self.network.layers[-1].out_shape

    @property
    def out_bits(self) -> int:
        return self.layer_out_bits(self.network.layers[-1])

    # -- per layer ------------------------------------------------------------------------------

    def stage_px(self, stage: int) -> int:
        """Pixels per cycle of pipeline stage `stage` (0 = the loader, `i` = layer i-1): what
        the stage writes per beat, and the windows a conv2d or max-pool reads per cycle."""
        name = hw_models.INPUT_NAME if stage == 0 else self.network.layers[stage - 1].name
        return self.folding.px(name)

    def stage_banks(self, stage: int) -> int:
        """Frames of the buffer pipeline stage `stage` writes for the next stage (2 or 3,
        `Folding.banks_of`)."""
        return self.folding.banks_of(self.network.stage_names[stage])

    def layer(self, name: str) -> LayerSpec:
        """The contract layer `name` (KeyError naming the known layers)."""
        return self.network.layers[self.network.index(name)]

    def frame_shape(self, layer: LayerSpec) -> tuple[int, int, int]:
        """(C, H, W) of the frame `layer` reads; a linear layer reads it as one vector."""
        return self.network.frame_of(self.network.source_of(layer))[0]

    def acc_bits(self, name: str) -> int:
        """Accumulator width of engine `name` (the contract's: the sum can never overflow)."""
        layer = self.layer(name)
        return accumulator_bits(layer.w_bits, layer.a_bits, layer.fan_in, layer.input_signed)

    def requantization(self, name: str) -> tuple[int, int] | None:
        """(shift, threshold) of engine `name`; None for the last layer, which outputs its
        accumulators."""
        memory = self.memories[name]
        return None if memory.shift is None else (int(memory.shift), int(memory.threshold))

    def layer_out_bits(self, layer: LayerSpec) -> int:
        """Bits per output channel: requantized width, the accumulator (last), or a_bits."""
        if not layer.is_engine:
            return layer.a_bits
        if self.memories[layer.name].shift is None:
            return self.acc_bits(layer.name)
        return layer.out_bits

    def weight_matrix(self, name: str) -> np.ndarray:
        """(M, K) int64 weights of engine `name` with columns in the RTL's vector order.

        conv2d: window order (kh, kw, cin). linear: the frame buffer's order (h, w, c), from
        PyTorch's flatten order (c, h, w).
        """
        return self._matrices[name]

    @cached_property
    def _matrices(self) -> dict[str, np.ndarray]:
        out = {}
        for layer in self.network.engines:
            weight, m = self.memories[layer.name].weight, layer.rows
            if layer.kind == "conv2d":
                out[layer.name] = weight.transpose(0, 2, 3, 1).reshape(m, layer.fan_in)
            else:
                c, h, w = self.frame_shape(layer)
                out[layer.name] = weight.reshape(m, c, h, w).transpose(0, 2, 3, 1).reshape(m, -1)
        return out

    def weight_store(self, name: str) -> str:
        """Weight memory layout of engine `name`: the contract's (`hw_models.weight_store`;
        the memory's zeros are the network's weight mask, checked on construction)."""
        return hw_models.weight_store(self.layer(name))

    def row_nnz(self, name: str) -> np.ndarray:
        """(M,) nonzero weights per row of engine `name` (the contract layer's)."""
        return self.layer(name).row_nnz

    def max_row_nnz(self, name: str) -> int:
        """Value slots of a "skip" row word: the longest row (at least 1)."""
        return max(1, int(self.row_nnz(name).max()))

    def lane_words(self, name: str) -> int:
        """Words of a "sparse" lane memory: the longest lane, max(1, ceil(z_o/SIMD)) per row."""
        pe, simd = self.folding[name]
        words = np.maximum(1, -(-self.row_nnz(name) // simd))
        return int(words.reshape(-1, pe).sum(axis=0).max())

    # -- the compiled shape ---------------------------------------------------------------------

    def layer_shape_dict(self, layer: LayerSpec) -> dict:
        """Everything of `layer` that is compiled into the shared simulation build (no weight,
        bias or requantization values)."""
        d = {
            "name": layer.name,
            "kind": layer.kind,
            "in_shape": list(self.frame_shape(layer)),
            "out_shape": list(layer.out_shape),
            "a_bits": layer.a_bits,
            "input_signed": layer.input_signed,
            "px": self.folding.px(layer.name),
            "in_banks": self.stage_banks(self.network.stage_of(layer.name) - 1),
        }
        if layer.kind != "linear":
            d |= {"kernel": layer.kernel, "stride": layer.stride, "padding": layer.padding}
        if layer.is_engine:
            name = layer.name
            store = self.weight_store(name)
            pe, simd = self.folding[name]
            d |= {
                "w_bits": layer.w_bits,
                "acc_bits": self.acc_bits(name),
                "out_bits": self.layer_out_bits(layer),
                "requant": self.requantization(name) is not None,
                "pe": pe,
                "simd": simd,
                "act_skip": layer.act_skip,
                "weight_store": store,
                # memory sizes of the data-dependent layouts (SPEC section 6)
                "max_row_nnz": self.max_row_nnz(name) if store == "skip" else 0,
                "lane_words": self.lane_words(name) if store == "sparse" else 0,
            }
        return d

    def shape_dict(self) -> dict:
        """The compiled hardware shape (JSON-able): dims, widths, folding, flags."""
        layers = [self.layer_shape_dict(layer) for layer in self.network.layers]
        return {"in_shape": list(self.in_shape), "in_px": self.stage_px(0), "layers": layers}

    def shape_key(self, extra: dict | None = None) -> str:
        """Hash of the hardware shape plus `extra` (contract constants, RTL sources)."""
        text = json.dumps({"shape": self.shape_dict(), "extra": extra or {}}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
