"""Folding: the PE (lanes) and SIMD (multipliers per lane) of every engine layer, and the
pixels per cycle (px) of the stages that may handle several output pixels at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._contract import INPUT_NAME
from ._network import LayerSpec, Network


def pe_options(rows: int) -> np.ndarray:
    """Legal PE values for an engine with `rows` output channels: the divisors of M (SPEC 3)."""
    return shared_pe_options(int(rows)).copy()


def simd_options(fan_in: int) -> np.ndarray:
    """Legal SIMD values for fan-in K: powers of two up to K (SPEC 3)."""
    return shared_simd_options(int(fan_in)).copy()


@lru_cache(maxsize=4096)
def shared_pe_options(rows: int) -> np.ndarray:
    """`pe_options`, one read-only array per M (for the model's own tables)."""
    d = np.arange(1, rows + 1, dtype=np.int64)
    out = d[rows % d == 0]
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4096)
def shared_simd_options(fan_in: int) -> np.ndarray:
    """`simd_options`, one read-only array per K (for the model's own tables)."""
    out = 2 ** np.arange(fan_in.bit_length(), dtype=np.int64)
    out.flags.writeable = False
    return out


def check_fold(layer: LayerSpec, pe: int, simd: int) -> None:
    """Raise ValueError unless PE divides M and SIMD is a power of two <= K."""
    m, k = layer.rows, layer.fan_in
    if not isinstance(pe, int | np.integer) or pe < 1 or m % pe:
        raise ValueError(f"layer {layer.name!r}: PE={pe} must divide M={m}")
    if not isinstance(simd, int | np.integer) or simd < 1 or simd & (simd - 1) or simd > k:
        raise ValueError(f"layer {layer.name!r}: SIMD={simd} must be a power of two <= K={k}")


PIXEL_KINDS = ("conv2d", "maxpool")  # stage kinds that may take px > 1 (and the loader)


@dataclass(frozen=True)
class Folding:
    """(PE, SIMD) per engine layer, keyed by layer name, and pixels per cycle per stage.

    Build it with `Folding.from_dict({"conv1": (4, 8), ...}, pixels={"conv1": 2})` or
    `Folding.minimal(network)`. `pixels` lists the stages with px > 1 (the loader as "input").
    """

    layers: tuple[tuple[str, int, int], ...]
    pixels: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_dict(
        cls, mapping: Mapping[str, tuple[int, int]], pixels: Mapping[str, int] | None = None
    ) -> Folding:
        """Folding from `{layer_name: (pe, simd)}` and optionally `{stage_name: px}`."""
        return cls(
            tuple((name, int(pe), int(simd)) for name, (pe, simd) in mapping.items()),
            tuple((name, int(px)) for name, px in (pixels or {}).items()),
        )

    def px(self, name: str) -> int:
        """Output pixels per cycle of stage `name` ("input" for the loader); 1 when absent."""
        return next((px for stage, px in self.pixels if stage == name), 1)

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
        self._check_pixels(network)

    def _check_pixels(self, network: Network) -> None:
        """px > 1 only on the loader, conv2d and max-pool stages, dividing the stage's output
        width, and 1 on the last layer (its output stream is one pixel per beat)."""
        names = [stage for stage, _ in self.pixels]
        if len(set(names)) != len(names):
            raise ValueError(f"folding pixels must list each stage once, got {names}")
        layers = {layer.name: layer for layer in network.layers}
        for name, px in self.pixels:
            if name == INPUT_NAME:
                width, kind = network.layers[0].in_shape[2], "loader"
            elif name in layers:
                width, kind = layers[name].out_shape[2], layers[name].kind
            else:
                raise ValueError(f"folding pixels: network {network.name!r} has no stage {name!r}")
            if not isinstance(px, int | np.integer) or px < 1:
                raise ValueError(f"stage {name!r}: px={px} must be a positive integer")
            if px == 1:
                continue
            if kind not in (*PIXEL_KINDS, "loader"):
                raise ValueError(f"stage {name!r}: px={px} needs a loader, conv2d or maxpool")
            if width % px:
                raise ValueError(f"stage {name!r}: px={px} must divide the output width {width}")
            if name == network.layers[-1].name:
                raise ValueError(f"stage {name!r}: the last layer must have px=1, got {px}")
