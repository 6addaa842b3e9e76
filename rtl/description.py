"""The plain description of one accelerator the generator turns into RTL.

A `Network` is a chain of `Layer`s (linear, conv2d, maxpool) in pipeline order; the loader stage
is implicit from the first layer's input frame. Each engine layer carries its integer weight and
bias codes (PyTorch layout), its widths, its requantization (None for the last layer, whose
accumulators are the outputs) and its folding (PE lanes, SIMD multipliers, activation skipping).

Two parts of a description matter to different consumers:
- the hardware *shape* decides the compiled RTL: dims, widths, folding, flags, and the weight
  memory layout of SPEC section 6 with its sizes (dense / sparse with its longest lane / skip
  with its longest row); `Network.shape_key()` hashes it, so one Verilator build serves every
  weight set of a shape;
- the *data* (weights, biases, shift, threshold) goes into run-time memory files.

Frames are (C, H, W) like PyTorch. A linear layer reads its predecessor's frame buffer as one
vector: its `in_shape` is the predecessor's (C, H, W) frame (a plain vector is (K, 1, 1)) and its
weight columns use PyTorch's flatten order c*H*W + h*W + w.

This module does not import search/ (search adapts into it); accumulator widths come from
`hw_models`' contract, the same function the cost model uses.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hw_models import accumulator_bits

KINDS = ("linear", "conv2d", "maxpool")
ENGINE_KINDS = ("linear", "conv2d")
NOT_IMPLEMENTED_KINDS = ("add", "matmul")  # in hw_models' contract, not in the RTL yet
MAX_SHIFT = 64  # |requantization shift| limit (the RTL is exact far beyond it)
MAX_THRESHOLD = 2**31 - 1
MAX_OUT_BITS = 16
MAX_W_BITS = 16
MAX_A_BITS = 16


class DescriptionError(ValueError):
    """An invalid accelerator description; the message names the layer and the field."""


def _fail(layer: str, field: str, message: str) -> DescriptionError:
    return DescriptionError(f"layer {layer!r}: field {field!r}: {message}")


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output rows/cols of a sliding window (PyTorch Conv2d / MaxPool2d, dilation 1)."""
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Requant:
    """Requantization of a layer's accumulators to the next layer's unsigned input codes.

    `shift = w_frac + a_frac - next_a_frac` (round half up when > 0, left shift when < 0),
    `threshold >= 0` in output codes (thresholded ReLU), `out_bits` the next layer's a_bits.
    """

    shift: int
    threshold: int
    out_bits: int


@dataclass(frozen=True, eq=False)
class Layer:
    """One stage of the accelerator. `eq=False`: layers hold numpy arrays (identity compare).

    Attributes:
        name: unique, a valid identifier (it names the memory files and RTL instances).
        kind: "linear", "conv2d" or "maxpool".
        in_shape: (C, H, W) of the frame the layer reads.
        weight: int64 codes, (M, C*H*W) for linear, (M, C, kernel, kernel) for conv2d.
        bias: int64 codes (M,), in the accumulator's scale (w_frac + a_frac fractional bits).
        kernel, stride, padding: window geometry (conv2d, maxpool; padding 0 for maxpool).
        w_bits: weight width; weights are symmetric, |w| <= 2^(w_bits-1) - 1.
        a_bits: width of the input activations (the width of the input frame buffer).
        input_signed: input codes are signed (only the network input and layers reading it).
        requant: requantization to the next layer's input, None for the last layer.
        pe: lanes (divides M); simd: multipliers per lane (power of two <= fan-in).
        act_skip: skip zero activations as well as zero weights.
    """

    name: str
    kind: str
    in_shape: tuple[int, int, int]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    w_bits: int = 8
    a_bits: int = 8
    input_signed: bool = False
    requant: Requant | None = None
    pe: int = 1
    simd: int = 1
    act_skip: bool = False

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.isidentifier():
            raise DescriptionError(f"layer {name!r}: field 'name': must be an identifier")
        if self.kind in NOT_IMPLEMENTED_KINDS:
            raise NotImplementedError(
                f"layer {name!r}: {self.kind!r} stages (SPEC section 2) "
                f"have no RTL yet; rtl/ implements {KINDS}"
            )
        if self.kind not in KINDS:
            raise _fail(name, "kind", f"must be one of {KINDS}, got {self.kind!r}")
        shape = self.in_shape
        if not (isinstance(shape, tuple) and len(shape) == 3 and all(int(d) >= 1 for d in shape)):
            raise _fail(name, "in_shape", f"must be (C, H, W) positive ints, got {shape!r}")
        object.__setattr__(self, "in_shape", tuple(int(d) for d in shape))
        if not 1 <= self.a_bits <= MAX_A_BITS:
            raise _fail(name, "a_bits", f"must be in 1..{MAX_A_BITS}, got {self.a_bits}")
        if self.kind == "linear" and (self.kernel, self.stride, self.padding) != (1, 1, 0):
            raise _fail(name, "kernel", "a linear layer takes kernel=1, stride=1, padding=0")
        if self.kind != "linear":
            self._check_window()
        if self.is_engine:
            self._check_engine()
        else:
            self._check_pool()

    def _check_window(self) -> None:
        name, (_, h, w) = self.name, self.in_shape
        if self.kernel < 1 or self.stride < 1 or not 0 <= self.padding < self.kernel:
            raise _fail(
                name,
                "kernel",
                f"need kernel >= 1, stride >= 1, 0 <= padding < kernel; "
                f"got {self.kernel}, {self.stride}, {self.padding}",
            )
        if h + 2 * self.padding < self.kernel or w + 2 * self.padding < self.kernel:
            raise _fail(name, "kernel", f"window {self.kernel} exceeds the padded frame {h}x{w}")

    def _check_pool(self) -> None:
        name = self.name
        if self.padding != 0:
            raise _fail(name, "padding", "max-pool padding is not supported (nor by search/)")
        for f in ("weight", "bias", "requant"):
            if getattr(self, f) is not None:
                raise _fail(name, f, "must be None for a maxpool layer")
        if self.act_skip or self.pe != 1 or self.simd != 1:
            raise _fail(name, "pe", "a maxpool layer takes pe=1, simd=1, act_skip=False")

    def _check_engine(self) -> None:
        name = self.name
        if not 2 <= self.w_bits <= MAX_W_BITS:
            raise _fail(name, "w_bits", f"must be in 2..{MAX_W_BITS}, got {self.w_bits}")
        if self.weight is None or self.bias is None:
            raise _fail(name, "weight", "an engine layer needs weight and bias codes")
        weight = np.array(self.weight, dtype=np.int64)
        bias = np.array(self.bias, dtype=np.int64)
        c, h, w = self.in_shape
        m = weight.shape[0] if weight.ndim else 0
        expect = (m, c * h * w) if self.kind == "linear" else (m, c, self.kernel, self.kernel)
        if weight.shape != expect or m < 1:
            raise _fail(name, "weight", f"shape must be {expect} with M >= 1, got {weight.shape}")
        w_max = 2 ** (self.w_bits - 1) - 1
        if np.abs(weight).max(initial=0) > w_max:
            raise _fail(
                name,
                "weight",
                f"codes must be in [-{w_max}, {w_max}] (w_bits {self.w_bits}, symmetric)",
            )
        if bias.shape != (m,):
            raise _fail(name, "bias", f"shape must be ({m},), got {bias.shape}")
        b_max = 2 ** (self.acc_bits - 1) - 1
        if np.abs(bias).max(initial=0) > b_max:
            raise _fail(name, "bias", f"codes must fit the {self.acc_bits}-bit accumulator")
        if self.pe < 1 or m % self.pe:
            raise _fail(name, "pe", f"PE={self.pe} must divide M={m}")
        simd = self.simd
        if simd < 1 or simd & (simd - 1) or simd > self.fan_in:
            raise _fail(name, "simd", f"SIMD={simd} must be a power of two <= K={self.fan_in}")
        if self.requant is not None:
            r = self.requant
            if not 1 <= r.out_bits <= MAX_OUT_BITS:
                raise _fail(name, "requant", f"out_bits must be in 1..{MAX_OUT_BITS}")
            if not 0 <= r.threshold <= MAX_THRESHOLD:
                raise _fail(name, "requant", f"threshold must be in [0, {MAX_THRESHOLD}]")
            if abs(r.shift) > MAX_SHIFT:
                raise _fail(name, "requant", f"|shift| must be <= {MAX_SHIFT}")
        for f, value in (("weight", weight), ("bias", bias)):
            value.flags.writeable = False
            object.__setattr__(self, f, value)

    @property
    def is_engine(self) -> bool:
        """True for matrix-vector engines (linear, conv2d)."""
        return self.kind in ENGINE_KINDS

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the frame the layer writes."""
        c, h, w = self.in_shape
        if self.kind == "linear":
            return (self.rows, 1, 1)
        ho = out_size(h, self.kernel, self.stride, self.padding)
        wo = out_size(w, self.kernel, self.stride, self.padding)
        return (self.rows if self.kind == "conv2d" else c, ho, wo)

    @property
    def rows(self) -> int:
        """M: output channels of an engine."""
        assert self.weight is not None, "rows of a maxpool layer"
        return int(self.weight.shape[0])

    @property
    def fan_in(self) -> int:
        """K: elements of one input vector (C*H*W for linear, kernel*kernel*C for conv2d)."""
        c, h, w = self.in_shape
        return c * h * w if self.kind == "linear" else self.kernel * self.kernel * c

    @property
    def n_vectors(self) -> int:
        """Input vectors (windows) per frame: output pixels."""
        return self.out_shape[1] * self.out_shape[2]

    @property
    def acc_bits(self) -> int:
        """Accumulator width (hw_models' contract: the sum can never overflow)."""
        return accumulator_bits(self.w_bits, self.a_bits, self.fan_in, self.input_signed)

    @property
    def out_bits(self) -> int:
        """Bits per output channel: requantized width, the accumulator (last), or a_bits."""
        if not self.is_engine:
            return self.a_bits
        return self.requant.out_bits if self.requant is not None else self.acc_bits

    @property
    def weight_store(self) -> str:
        """Weight memory layout (SPEC section 6): "skip" with activation skipping, else
        "sparse" when some weight is zero, else "dense" (FINN's lockstep layout)."""
        if self.act_skip:
            return "skip"
        return "sparse" if bool((self.weight_matrix == 0).any()) else "dense"

    @property
    def row_nnz(self) -> np.ndarray:
        """(M,) nonzero weights per row."""
        return (self.weight_matrix != 0).sum(axis=1)

    @property
    def max_row_nnz(self) -> int:
        """Value slots of a "skip" row word: the longest row (at least 1)."""
        return max(1, int(self.row_nnz.max()))

    @property
    def lane_words(self) -> int:
        """Words of a "sparse" lane memory: the longest lane, max(1, ceil(z_o/SIMD)) per row."""
        words = np.maximum(1, -(-self.row_nnz // self.simd))
        return int(words.reshape(-1, self.pe).sum(axis=0).max())

    @cached_property
    def weight_matrix(self) -> np.ndarray:
        """(M, K) int64 weights with columns in the RTL's vector order.

        conv2d: window order (kh, kw, cin). linear: the frame buffer's order (h, w, c), from
        PyTorch's flatten order (c, h, w).
        """
        assert self.weight is not None, "weight_matrix of a maxpool layer"
        m, (c, h, w) = self.rows, self.in_shape
        if self.kind == "conv2d":
            return self.weight.transpose(0, 2, 3, 1).reshape(m, self.fan_in)
        return self.weight.reshape(m, c, h, w).transpose(0, 2, 3, 1).reshape(m, self.fan_in)

    def shape_dict(self) -> dict:
        """Everything that is compiled into the RTL (no weight, bias or requant values)."""
        d = {
            "name": self.name,
            "kind": self.kind,
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "a_bits": self.a_bits,
            "input_signed": self.input_signed,
        }
        if self.kind != "linear":
            d |= {"kernel": self.kernel, "stride": self.stride, "padding": self.padding}
        if self.is_engine:
            d |= {
                "w_bits": self.w_bits,
                "acc_bits": self.acc_bits,
                "out_bits": self.out_bits,
                "requant": self.requant is not None,
                "pe": self.pe,
                "simd": self.simd,
                "act_skip": self.act_skip,
                "weight_store": self.weight_store,
                # memory sizes of the data-dependent layouts (SPEC section 6)
                "max_row_nnz": self.max_row_nnz if self.weight_store == "skip" else 0,
                "lane_words": self.lane_words if self.weight_store == "sparse" else 0,
            }
        return d


@dataclass(frozen=True, eq=False)
class Network:
    """A chain of layers; rules are checked on construction (errors name layer and field).

    Frames chain (`in_shape` equals the predecessor's `out_shape`), widths chain (`a_bits`
    equals the predecessor's `out_bits`: they share a frame buffer), only layers before the
    first engine read signed codes, every engine but the last requantizes, and the last layer is
    an engine without requantization (its accumulators are the outputs).
    """

    name: str
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise DescriptionError(f"network {self.name!r}: field 'layers': must not be empty")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise DescriptionError(f"network {self.name!r}: duplicate layer names in {names}")
        prev: Layer | None = None
        for layer in self.layers:
            if prev is not None:
                if layer.in_shape != prev.out_shape:
                    raise _fail(
                        layer.name,
                        "in_shape",
                        f"must equal out_shape {prev.out_shape} of {prev.name!r}",
                    )
                if layer.a_bits != prev.out_bits:
                    raise _fail(
                        layer.name,
                        "a_bits",
                        f"must equal out_bits {prev.out_bits} of {prev.name!r} (one frame buffer)",
                    )
                signed = prev.input_signed and not prev.is_engine
                if layer.input_signed != signed:
                    raise _fail(
                        layer.name,
                        "input_signed",
                        f"must be {signed}: only the network input and max-pools of it are signed",
                    )
            last = layer is self.layers[-1]
            if layer.is_engine and last and layer.requant is not None:
                raise _fail(layer.name, "requant", "the last layer outputs its accumulators: None")
            if layer.is_engine and not last and layer.requant is None:
                raise _fail(layer.name, "requant", "every engine but the last requantizes")
            prev = layer
        if not self.layers[-1].is_engine:
            raise _fail(self.layers[-1].name, "kind", "the last layer must be linear or conv2d")

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of an input frame."""
        return self.layers[0].in_shape

    @property
    def in_bits(self) -> int:
        return self.layers[0].a_bits

    @property
    def input_signed(self) -> bool:
        return self.layers[0].input_signed

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """(M, H, W) of an output frame (accumulators)."""
        return self.layers[-1].out_shape

    @property
    def out_bits(self) -> int:
        return self.layers[-1].out_bits

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Stage names in pipeline order: "input" (the loader), then every layer."""
        return ("input", *(layer.name for layer in self.layers))

    def shape_dict(self) -> dict:
        """The compiled hardware shape (JSON-able): dims, widths, folding, flags."""
        return {"in_shape": list(self.in_shape), "layers": [x.shape_dict() for x in self.layers]}

    def shape_key(self, extra: dict | None = None) -> str:
        """Hash of the hardware shape plus `extra` (contract constants, RTL sources)."""
        text = json.dumps({"shape": self.shape_dict(), "extra": extra or {}}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def input_frame_pixels(self) -> int:
        return self.in_shape[1] * self.in_shape[2]

    def output_frame_pixels(self) -> int:
        return math.prod(self.out_shape[1:])
