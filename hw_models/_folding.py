"""Folding: the PE (lanes) and SIMD (multipliers per lane) of every engine layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

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


@dataclass(frozen=True)
class Folding:
    """(PE, SIMD) per engine layer, keyed by layer name.

    Build it with `Folding.from_dict({"conv1": (4, 8), ...})` or `Folding.minimal(network)`.
    """

    layers: tuple[tuple[str, int, int], ...]

    @classmethod
    def from_dict(cls, mapping: Mapping[str, tuple[int, int]]) -> Folding:
        """Folding from `{layer_name: (pe, simd)}`."""
        return cls(tuple((name, int(pe), int(simd)) for name, (pe, simd) in mapping.items()))

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
