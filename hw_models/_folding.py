"""Folding: the PE (lanes) and SIMD (multipliers per lane) of every engine layer, the pixel
parallelism (output pixels per cycle) of the stages that have it, and the frames of the
buffers between neighbouring stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._contract import BANK_OPTIONS, DEFAULT_BANKS, INPUT_NAME
from ._network import LayerSpec, Network

# Stage kinds that may handle several output pixels per cycle (SPEC section 2, "Pixel
# parallelism"); the loader (INPUT_NAME) may too.
PIXEL_KINDS = ("conv2d", "maxpool")
# The largest pixel parallelism offered to the folding search (a bound on the search space,
# not on the hardware: any divisor of the output width is legal). 32 covers a whole row of
# the 28- and 32-pixel images we fold (at 8, fmnist-cnn's loader bound its fastest designs at
# 31% of a zcu102); each option is a column of the fold's cycle and resource tables.
MAX_PIXEL_OPTION = 32


def pe_options(rows: int) -> np.ndarray:
    """Legal PE values for an engine with `rows` output channels: the divisors of M (SPEC 3)."""
    return shared_pe_options(int(rows)).copy()


# Exact fits of a sparse engine's longest row: SIMD = ceil(z_max / c) for c up to this many
# cycles per row. Rows pruned alike all have z_max nonzeros, so a power of two would leave
# up to half its multipliers idle (75% of 150 weights kept: 38 in SIMD 64).
ROW_FIT_CYCLES = 4


def simd_options(fan_in: int, longest_row: int | None = None) -> np.ndarray:
    """Legal SIMD values for fan-in K, ascending: powers of two up to K, K itself (a whole
    row per cycle), and, for weights with zeros whose longest row has `longest_row` < K
    nonzeros, the values that take it in exactly 1 .. `ROW_FIT_CYCLES` cycles (SPEC 3)."""
    return shared_simd_options(int(fan_in), _longest_row(fan_in, longest_row)).copy()


def layer_simd_options(layer: LayerSpec) -> np.ndarray:
    """`simd_options` of an engine layer (from its weights' longest row), read-only."""
    rows = layer.row_nnz
    return shared_simd_options(layer.fan_in, _longest_row(layer.fan_in, rows.max(initial=0)))


def _longest_row(fan_in: int, longest_row: int | None) -> int:
    """The longest row, as the option cache keys it: K when dense or not given."""
    if longest_row is None or not 0 < longest_row < fan_in:
        return int(fan_in)
    return int(longest_row)


@lru_cache(maxsize=4096)
def shared_pe_options(rows: int) -> np.ndarray:
    """`pe_options`, one read-only array per M (for the model's own tables)."""
    d = np.arange(1, rows + 1, dtype=np.int64)
    out = d[rows % d == 0]
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4096)
def shared_simd_options(fan_in: int, longest_row: int) -> np.ndarray:
    """`simd_options`, one read-only array per (K, longest row) (for the model's own tables)."""
    options = {1 << i for i in range(fan_in.bit_length())} | {fan_in}
    if longest_row < fan_in:
        options |= {-(-longest_row // c) for c in range(1, ROW_FIT_CYCLES + 1)}
    out = np.array(sorted(options), dtype=np.int64)
    out.flags.writeable = False
    return out


def pixel_width(network: Network, name: str) -> int | None:
    """Output width whose divisors are the legal pixel parallelisms of stage `name`, or None
    when the stage handles one pixel per cycle only: the last layer (its output stream) and
    kinds other than conv2d and max-pool."""
    if name == INPUT_NAME:
        return network.layers[0].in_shape[2]
    layer = network.layers[network.stage_of(name) - 1]
    if layer.kind not in PIXEL_KINDS or layer is network.layers[-1]:
        return None
    return layer.out_shape[2]


def pixel_options(network: Network, name: str) -> np.ndarray:
    """Pixel parallelisms the folding search considers for stage `name`: divisors of its
    output width up to `MAX_PIXEL_OPTION` ([1] for stages without pixel parallelism)."""
    width = pixel_width(network, name)
    if width is None:
        return np.ones(1, dtype=np.int64)
    d = np.arange(1, min(width, MAX_PIXEL_OPTION) + 1, dtype=np.int64)
    return d[width % d == 0]


def bankable(network: Network) -> np.ndarray:
    """(stages - 1,) whether the buffer between stage i and i + 1 may hold a third frame: no
    skip buffer spans it (a skip buffer's depth follows from the banks it spans, and stays
    `2 * (a - s)` frames; SPEC section 2)."""
    ok = np.ones(max(len(network.stage_names) - 1, 0), dtype=bool)
    for name in network.stage_names:
        s = network.stage_of(name)
        for reader, operand in network.consumers(name):
            a = network.stage_of(reader.name)
            if operand != "source" or a != s + 1:
                ok[s:a] = False
    return ok


def check_fold(layer: LayerSpec, pe: int, simd: int) -> None:
    """Raise ValueError unless PE divides M and SIMD is one of `layer_simd_options`."""
    m, k = layer.rows, layer.fan_in
    if not isinstance(pe, int | np.integer) or pe < 1 or m % pe:
        raise ValueError(f"layer {layer.name!r}: PE={pe} must divide M={m}")
    options = layer_simd_options(layer)
    if not isinstance(simd, int | np.integer) or simd not in options:
        longest = _longest_row(k, layer.row_nnz.max(initial=0))
        fits = f", or ceil({longest} / c) for c <= {ROW_FIT_CYCLES}" if longest < k else ""
        raise ValueError(
            f"layer {layer.name!r}: SIMD={simd} must be a power of two <= K={k}, or K{fits}"
        )


@dataclass(frozen=True)
class Folding:
    """(PE, SIMD) per engine layer, keyed by layer name, the pixel parallelism `px` of
    stages handling several output pixels per cycle (absent: 1), and the frames `banks` of
    the buffer a stage writes for the next one (absent: 2, ping-pong; 3 lets a short stage
    run a frame further ahead, SPEC section 4).

    Build it with `Folding.from_dict({"conv1": (4, 8), ...}, pixels={"conv1": 2},
    banks={"conv1": 3})` or `Folding.minimal(network)`.
    """

    layers: tuple[tuple[str, int, int], ...]
    pixels: tuple[tuple[str, int], ...] = ()
    banks: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_dict(
        cls,
        mapping: Mapping[str, tuple[int, int]],
        pixels: Mapping[str, int] | None = None,
        banks: Mapping[str, int] | None = None,
    ) -> Folding:
        """Folding from `{layer_name: (pe, simd)}`, `{stage_name: px}` (px 1 is left out) and
        `{stage_name: frames}` (2 is left out)."""
        px = tuple((name, int(v)) for name, v in (pixels or {}).items() if int(v) != 1)
        frames = tuple(
            (name, int(v)) for name, v in (banks or {}).items() if int(v) != DEFAULT_BANKS
        )
        layers = tuple((name, int(pe), int(simd)) for name, (pe, simd) in mapping.items())
        return cls(layers, px, frames)

    def px(self, name: str) -> int:
        """Output pixels per cycle of stage `name` (1 unless set)."""
        return dict(self.pixels).get(name, 1)

    def banks_of(self, name: str) -> int:
        """Frames of the buffer stage `name` writes for the next stage (2 unless set)."""
        return dict(self.banks).get(name, DEFAULT_BANKS)

    def bank_counts(self, network: Network) -> np.ndarray:
        """(stages - 1,) frames of the buffer between stage i and i + 1."""
        names = network.stage_names[:-1]
        return np.array([self.banks_of(name) for name in names], dtype=np.int64)

    @classmethod
    def minimal(cls, network: Network) -> Folding:
        """PE = SIMD = 1 everywhere: the slowest and (nearly) smallest accelerator."""
        return cls(tuple((layer.name, 1, 1) for layer in network.engines))

    def as_dict(self) -> dict[str, tuple[int, int]]:
        """`{layer_name: (pe, simd)}`."""
        return {name: (pe, simd) for name, pe, simd in self.layers}

    def __getitem__(self, name: str) -> tuple[int, int]:
        for layer, pe, simd in self.layers:
            if layer == name:
                return pe, simd
        raise KeyError(f"folding has no layer {name!r}")

    def check(self, network: Network) -> None:
        """Raise ValueError unless this folds exactly the engines of `network`, legally."""
        given = self.as_dict()
        engines = {layer.name: layer for layer in network.engines}
        missing = sorted(set(engines) - set(given))
        extra = sorted(set(given) - set(engines))
        if missing or extra or len(given) != len(self.layers):
            raise ValueError(
                f"folding for network {network.name!r} must list each engine layer "
                f"once; missing {missing}, unexpected {extra}"
            )
        for name, (pe, simd) in given.items():
            check_fold(engines[name], pe, simd)
        stages = set(network.stage_names)
        for name, px in self.pixels:
            if name not in stages:
                raise ValueError(
                    f"folding sets pixels of {name!r}, not a stage of {network.name!r}"
                )
            width = pixel_width(network, name)
            if width is None and px != 1:
                raise ValueError(
                    f"stage {name!r}: only conv2d and max-pool stages (not the last layer) and "
                    f"the loader handle several pixels per cycle, got px={px}"
                )
            if not isinstance(px, int | np.integer) or px < 1 or (width and width % px):
                raise ValueError(f"stage {name!r}: px={px} must divide its output width {width}")
        if len(dict(self.pixels)) != len(self.pixels):
            raise ValueError("folding sets the pixels of a stage twice")
        may_bank = dict(zip(network.stage_names, bankable(network), strict=False))
        for name, frames in self.banks:
            if name not in may_bank:
                raise ValueError(
                    f"folding sets the buffer frames of {name!r}, not a stage of "
                    f"{network.name!r} with a next stage"
                )
            if frames not in BANK_OPTIONS:
                raise ValueError(f"stage {name!r}: banks={frames} must be one of {BANK_OPTIONS}")
            if frames != DEFAULT_BANKS and not may_bank[name]:
                raise ValueError(
                    f"stage {name!r}: a skip buffer spans its output buffer, which keeps "
                    f"{DEFAULT_BANKS} frames"
                )
        if len(dict(self.banks)) != len(self.banks):
            raise ValueError("folding sets the buffer frames of a stage twice")
