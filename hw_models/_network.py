"""Network description filled in by search/: one `LayerSpec` per stage, in pipeline order.

Specs are validated on construction; errors name the layer and the field. Shapes follow
PyTorch: `(C, H, W)` frames, weight masks `(out, in)` or `(cout, cin, kh, kw)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._contract import (
    ENGINE_KINDS,
    GROUPED_KINDS,
    INPUT_NAME,
    LAYER_KINDS,
    NORM_KINDS,
    TWO_INPUT_KINDS,
    WEIGHTED_KINDS,
    sliding_window_size,
)

MAX_BITS = 32
MAX_OUT_BITS = 64  # the last layer's out_bits may carry its accumulator width (ignored)
# (field, lowest, highest) of the integer fields; 1-bit symmetric weights could only be 0
_INT_FIELDS = (
    ("kernel", 1, 1 << 16),
    ("stride", 1, 1 << 16),
    ("padding", 0, 1 << 16),
    ("w_bits", 2, MAX_BITS),
    ("a_bits", 1, MAX_BITS),
    ("out_bits", 1, MAX_OUT_BITS),
    ("groups", 1, 1 << 16),
)


def _fail(layer: str, field_name: str, message: str) -> ValueError:
    return ValueError(f"layer {layer!r}: field {field_name!r}: {message}")


def _check_shape(name: str, field_name: str, shape: object) -> tuple[int, int, int]:
    ok = isinstance(shape, tuple) and len(shape) == 3
    ok = ok and all(isinstance(d, int | np.integer) and d >= 1 for d in shape)
    if not ok:
        raise _fail(
            name, field_name, f"must be a tuple of 3 positive ints (C, H, W), got {shape!r}"
        )
    return tuple(int(d) for d in shape)  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """One stage of the accelerator (see SPEC.md section 2).

    `eq=False`: specs hold numpy arrays, so they compare and hash by identity.
    `source` names the earlier layer (or "input", the network input) whose output frame this
    layer reads; None reads the previous layer's (a chain). `second_input` names the frame
    that is the second operand of an "add" (elementwise) or "matmul" (the stationary matrix B).
    A matmul or softmax with `groups` G > 1 works on G independent channel groups (attention
    heads); a matmul's `second_transposed` reads B[m, k] as channel m of pixel k.

    Calibration statistics of the input activations, for the expected cycles of an engine
    that skips zero activations (SPEC section 5): `act_density`, the fraction of nonzero
    inputs; `window_nnz_hist`, windows (vectors) by their nonzero count 0..K; and
    `column_density`, for each weight input (shaped like one output channel's weights, PyTorch
    order), the fraction of windows in which it is nonzero (padding counts as zero); and, for
    conv2d, `window_counts`, the nonzero count of every calibration window (N, H_out, W_out),
    from which the counts of groups of adjacent windows (pixel parallelism) are taken.
    """

    name: str
    kind: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    w_bits: int = 8
    a_bits: int = 8
    out_bits: int = 8
    input_signed: bool = False
    act_skip: bool = False
    weight_mask: np.ndarray | None = field(default=None, repr=False)
    act_density: float = 1.0
    window_nnz_hist: np.ndarray | None = field(default=None, repr=False)
    column_density: np.ndarray | None = field(default=None, repr=False)
    window_counts: np.ndarray | None = field(default=None, repr=False)
    second_input: str | None = None
    source: str | None = None
    groups: int = 1
    second_transposed: bool = False

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name:
            raise ValueError(f"layer {name!r}: field 'name': must be a non-empty string")
        if name == INPUT_NAME:
            raise _fail(name, "name", f"{INPUT_NAME!r} is reserved for the network input")
        if self.kind not in LAYER_KINDS:
            raise _fail(name, "kind", f"must be one of {LAYER_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "in_shape", _check_shape(name, "in_shape", self.in_shape))
        object.__setattr__(self, "out_shape", _check_shape(name, "out_shape", self.out_shape))
        for f, lo, hi in _INT_FIELDS:
            value = getattr(self, f)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise _fail(name, f, f"must be an int, got {value!r}")
            if not lo <= value <= hi:
                raise _fail(name, f, f"must be in [{lo}, {hi}], got {value}")
            object.__setattr__(self, f, int(value))
        density = self.act_density
        if not isinstance(density, float | int | np.floating) or not 0.0 <= density <= 1.0:
            raise _fail(name, "act_density", f"must be a number in [0, 1], got {density!r}")
        object.__setattr__(self, "act_density", float(density))
        self._check_geometry()
        self._check_operands()
        self._freeze_arrays()

    def _check_geometry(self) -> None:
        name, kind = self.name, self.kind
        c_in, h_in, w_in = self.in_shape
        c_out, h_out, w_out = self.out_shape
        if kind in ("conv2d", "maxpool"):
            if self.padding >= self.kernel:
                raise _fail(name, "padding", f"must be in [0, kernel), got {self.padding}")
            expect = tuple(
                sliding_window_size(s, self.kernel, self.stride, self.padding) for s in (h_in, w_in)
            )
            if expect != (h_out, w_out):
                raise _fail(
                    name,
                    "out_shape",
                    f"spatial size must be {expect} for in_shape "
                    f"{self.in_shape}, kernel {self.kernel}, stride {self.stride}, "
                    f"padding {self.padding}; got {(h_out, w_out)}",
                )
        elif (self.kernel, self.stride, self.padding) != (1, 1, 0):
            raise _fail(name, "kernel", f"a {kind} layer takes kernel=1, stride=1, padding=0")
        if kind == "linear" and (self.in_shape[1:] != (1, 1) or self.out_shape[1:] != (1, 1)):
            raise _fail(
                name,
                "in_shape",
                "a linear layer has in_shape (K, 1, 1) and out_shape "
                f"(M, 1, 1), got {self.in_shape} and {self.out_shape}",
            )
        if kind in ("maxpool", "add", *NORM_KINDS) and c_out != c_in:
            raise _fail(name, "out_shape", f"a {kind} layer keeps the channels ({c_in})")
        if kind in ("add", *NORM_KINDS) and self.out_shape != self.in_shape:
            raise _fail(name, "out_shape", f"must equal in_shape {self.in_shape}")
        if kind == "matmul" and (h_out, w_out) != (h_in, w_in):
            raise _fail(name, "out_shape", f"a matmul keeps the pixels ({h_in}, {w_in})")
        if self.groups > 1 and kind not in GROUPED_KINDS:
            raise _fail(name, "groups", f"only {GROUPED_KINDS} layers take groups")
        for f, channels in (("in_shape", c_in), ("out_shape", c_out)):
            if channels % self.groups:
                raise _fail(name, f, f"{channels} channels do not split into {self.groups} groups")
        if self.second_transposed and kind != "matmul":
            raise _fail(name, "second_transposed", "only a matmul reads a transposed operand")
        if kind == "maxpool" and self.out_bits != self.a_bits:
            raise _fail(
                name, "out_bits", f"a maxpool keeps the width: must equal a_bits {self.a_bits}"
            )

    def _check_operands(self) -> None:
        name, kind = self.name, self.kind
        if kind in TWO_INPUT_KINDS:
            if not isinstance(self.second_input, str) or not self.second_input:
                raise _fail(name, "second_input", f"a {kind} layer must name its second operand")
        elif self.second_input is not None:
            raise _fail(name, "second_input", f"only {TWO_INPUT_KINDS} layers take one")
        if kind not in WEIGHTED_KINDS:
            for f in ("weight_mask", "window_nnz_hist", "column_density"):
                if getattr(self, f) is not None:
                    raise _fail(name, f, f"must be None for a {kind} layer")
            if self.act_skip:
                raise _fail(name, "act_skip", f"zero skipping needs a weighted layer, not {kind}")
        if self.weight_mask is not None:
            mask = np.asarray(self.weight_mask)
            if mask.dtype != np.bool_:
                raise _fail(name, "weight_mask", f"must be a bool array, got dtype {mask.dtype}")
            if mask.shape != self.weight_mask_shape:
                raise _fail(
                    name, "weight_mask", f"shape must be {self.weight_mask_shape}, got {mask.shape}"
                )
        if self.window_nnz_hist is not None:
            hist = np.asarray(self.window_nnz_hist, dtype=np.float64)
            if hist.shape != (self.fan_in + 1,):
                raise _fail(
                    name,
                    "window_nnz_hist",
                    f"must have length K+1 = {self.fan_in + 1}, got shape {hist.shape}",
                )
            if not np.all(np.isfinite(hist)) or np.any(hist < 0) or hist.sum() <= 0:
                raise _fail(name, "window_nnz_hist", "must be finite, >= 0, with a positive sum")
        if self.column_density is not None:
            density = np.asarray(self.column_density, dtype=np.float64)
            if density.shape != self.weight_mask_shape[1:]:
                raise _fail(
                    name,
                    "column_density",
                    f"shape must be {self.weight_mask_shape[1:]}, got {density.shape}",
                )
            if not np.all((density >= 0.0) & (density <= 1.0)):
                raise _fail(name, "column_density", "must hold numbers in [0, 1]")
        if self.window_counts is not None:
            self._check_window_counts(np.asarray(self.window_counts))

    def _check_window_counts(self, counts: np.ndarray) -> None:
        name = self.name
        if self.kind != "conv2d":
            raise _fail(name, "window_counts", f"only conv2d layers take it, not {self.kind}")
        if counts.ndim != 3 or counts.shape[1:] != self.out_shape[1:] or not len(counts):
            raise _fail(
                name,
                "window_counts",
                f"shape must be (N, *{self.out_shape[1:]}) with N >= 1, got {counts.shape}",
            )
        if counts.dtype.kind not in "iu" or counts.min() < 0 or counts.max() > self.fan_in:
            raise _fail(name, "window_counts", f"must hold integers in [0, K = {self.fan_in}]")

    def _freeze_arrays(self) -> None:
        for f, dtype in (
            ("weight_mask", np.bool_),
            ("window_nnz_hist", np.float64),
            ("column_density", np.float64),
            ("window_counts", np.int32),
        ):
            value = getattr(self, f)
            if value is not None:
                frozen = np.array(value, dtype=dtype)
                frozen.flags.writeable = False
                object.__setattr__(self, f, frozen)

    @property
    def is_engine(self) -> bool:
        """True for matrix-vector engine stages (linear, conv2d, matmul): foldable."""
        return self.kind in ENGINE_KINDS

    @property
    def weight_mask_shape(self) -> tuple[int, ...]:
        """PyTorch weight shape: (out, in) for linear, (cout, cin, kh, kw) for conv2d."""
        if self.kind == "conv2d":
            return (self.out_shape[0], self.in_shape[0], self.kernel, self.kernel)
        return (self.out_shape[0], self.in_shape[0])

    @property
    def rows(self) -> int:
        """M: output channels of an engine (rows of its matrix)."""
        return self.out_shape[0]

    @property
    def fan_in(self) -> int:
        """K: columns of the engine matrix (`in_features`, `K*K*Cin`, or the matmul's depth,
        the channels of one group)."""
        k = self.kernel if self.kind in ("conv2d", "maxpool") else 1
        return k * k * self.in_shape[0] // self.groups

    @property
    def n_vectors(self) -> int:
        """Input vectors (windows / pixels) an engine processes per frame."""
        return self.out_shape[1] * self.out_shape[2]

    @cached_property
    def weight_matrix(self) -> np.ndarray:
        """(M, K) bool nonzero-weight matrix, columns in window order (kh, kw, cin)."""
        if self.kind == "matmul" or self.weight_mask is None:
            return np.ones((self.rows, self.fan_in), dtype=bool)
        if self.kind == "conv2d":
            return self.weight_mask.transpose(0, 2, 3, 1).reshape(self.rows, self.fan_in)
        return self.weight_mask

    @cached_property
    def row_nnz(self) -> np.ndarray:
        """(M,) int64 nonzero weights per row (all K for dense layers and matmul)."""
        if self.kind == "matmul" or self.weight_mask is None:
            return np.full(self.rows, self.fan_in, dtype=np.int64)
        # a row's count does not depend on the column order: no need to transpose a conv mask
        flat = self.weight_mask.reshape(self.rows, -1)
        if flat.shape[1] % 8 or not flat.flags.c_contiguous:
            bits = np.bitwise_count(np.packbits(flat, axis=1))
            return np.add.reduce(bits, axis=1, dtype=np.int64)
        # a bool is one byte, 0 or 1: the popcount of a uint64 counts 8 of them at once
        counts = np.bitwise_count(flat.view(np.uint64))  # (M, K/8) uint8, each <= 8
        if counts.shape[1] % 8:
            return np.add.reduce(counts, axis=1, dtype=np.int64)
        # ... and the top byte of a uint64 times 0x0101010101010101 sums its 8 bytes
        eights = (counts.view(np.uint64) * np.uint64(0x0101010101010101)) >> np.uint64(56)
        return np.add.reduce(eights, axis=1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Network:
    """Stages in pipeline order; the loader stage is implicit from `layers[0].in_shape`.

    A layer reads the previous layer's frame unless its `source` names an earlier one (a
    transformer's q, k and v projections all read one LayerNorm). Rules checked here (SPEC
    section 2, "Network rules"): frames match their source (a linear layer reads it
    flattened), `a_bits` equals the source's `out_bits` (they share one buffer), two-input
    layers name an earlier operand of matching shape, every frame but the last is read by a
    later layer, and the last layer is an engine (its accumulators are the outputs).
    """

    name: str
    layers: tuple[LayerSpec, ...]
    _index: dict[str, int] = field(init=False, repr=False)
    _readers: dict[str, tuple[tuple[LayerSpec, str], ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise ValueError(f"network {self.name!r}: field 'layers': must not be empty")
        index: dict[str, int] = {}
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, LayerSpec):
                raise ValueError(
                    f"network {self.name!r}: field 'layers': item {i} is not a LayerSpec"
                )
            if layer.name in index:
                raise _fail(layer.name, "name", "duplicate layer name")
            index[layer.name] = i
        object.__setattr__(self, "_index", index)
        readers: dict[str, list[tuple[LayerSpec, str]]] = {}
        for layer in self.layers:
            readers.setdefault(self._check_source(layer), []).append((layer, "source"))
            if layer.kind in TWO_INPUT_KINDS:
                second = self._check_second_input(layer)
                readers.setdefault(second, []).append((layer, "second_input"))
        object.__setattr__(self, "_readers", {k: tuple(v) for k, v in readers.items()})
        for layer in self.layers[:-1]:
            if layer.name not in readers:
                raise _fail(layer.name, "name", "no later layer reads this layer's frame")
        if not self.layers[-1].is_engine:
            raise _fail(
                self.layers[-1].name,
                "kind",
                f"the last layer must be one of {ENGINE_KINDS} (its accumulators are the outputs)",
            )

    def source_of(self, layer: LayerSpec) -> str:
        """Name of the layer (or `INPUT_NAME`) whose frame `layer` reads first."""
        if layer.source is not None:
            return layer.source
        here = self._index[layer.name]
        return INPUT_NAME if here == 0 else self.layers[here - 1].name

    def frame_of(self, name: str) -> tuple[tuple[int, int, int], int]:
        """(shape, bits) of the frame produced by layer `name` or the loader (`INPUT_NAME`)."""
        if name == INPUT_NAME:
            return self.layers[0].in_shape, self.layers[0].a_bits
        layer = self.layers[self.index(name)]
        return layer.out_shape, layer.out_bits

    def _earlier(self, layer: LayerSpec, field_name: str, src: str | None) -> str:
        here = self._index[layer.name]
        if src == INPUT_NAME or (src in self._index and self._index[src] < here):
            return src
        raise _fail(
            layer.name, field_name, f"must name an earlier layer or {INPUT_NAME!r}, got {src!r}"
        )

    def _check_source(self, layer: LayerSpec) -> str:
        """The checked name of the frame `layer` reads."""
        src = self._earlier(layer, "source", self.source_of(layer))
        if layer is self.layers[0]:
            return src  # the loader's frame is defined by this layer
        shape, bits = self.frame_of(src)
        if layer.kind == "linear":
            if layer.in_shape[0] != math.prod(shape):
                raise _fail(
                    layer.name,
                    "in_shape",
                    f"K must be {math.prod(shape)} (flattened {shape} of {src!r})",
                )
        elif layer.in_shape != shape:
            raise _fail(layer.name, "in_shape", f"must equal out_shape {shape} of {src!r}")
        if layer.a_bits != bits:
            raise _fail(
                layer.name, "a_bits", f"must equal out_bits {bits} of {src!r} (one frame buffer)"
            )
        return src

    def _check_second_input(self, layer: LayerSpec) -> str:
        """The checked name of the frame that is `layer`'s second operand."""
        src = self._earlier(layer, "second_input", layer.second_input)
        shape, bits = self.frame_of(src)
        if layer.kind == "add" and shape != layer.in_shape:
            raise _fail(
                layer.name,
                "second_input",
                f"{src!r} has shape {shape}, the add needs {layer.in_shape}",
            )
        if layer.kind == "matmul":
            g, rows, k = layer.groups, layer.rows // layer.groups, layer.fan_in
            channels, pixels = (g * rows, k) if layer.second_transposed else (g * k, rows)
            where = "channel m of pixel k" if layer.second_transposed else "channel k of pixel m"
            if shape[0] != channels or shape[1] * shape[2] != pixels:
                raise _fail(
                    layer.name,
                    "second_input",
                    f"B[m, k] = {src!r}[{where}] in each of {g} group(s) "
                    f"needs {channels} channels and {pixels} pixels, got {shape}",
                )
            if layer.w_bits != bits:
                raise _fail(layer.name, "w_bits", f"must equal the width {bits} of {src!r}")
        return src

    def consumers(self, name: str) -> tuple[tuple[LayerSpec, str], ...]:
        """Layers reading the frame of `name` (or `INPUT_NAME`), in pipeline order, each with
        the operand it reads it as: "source" or "second_input"."""
        return self._readers.get(name, ())

    def index(self, name: str) -> int:
        """Position of layer `name` in `layers` (raises KeyError naming the known layers)."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(
                f"network {self.name!r} has no layer {name!r}; layers: {list(self._index)}"
            ) from None

    def stage_of(self, name: str) -> int:
        """Pipeline stage index of layer `name` (or `INPUT_NAME`); stage 0 is the loader."""
        return 0 if name == INPUT_NAME else self.index(name) + 1

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Stage names in pipeline order: the loader ("input") then every layer."""
        return (INPUT_NAME, *(layer.name for layer in self.layers))

    @property
    def engines(self) -> tuple[LayerSpec, ...]:
        """The foldable layers (linear, conv2d, matmul), in pipeline order."""
        return tuple(layer for layer in self.layers if layer.is_engine)
