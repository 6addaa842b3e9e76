"""The one-call summary search/ stores per candidate: `estimate(network, device, ...)`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._buffers import extra_bank_resources
from ._devices import DEFAULT_MAX_UTILISATION, Device, get_device
from ._folding import Folding
from ._folding_search import fold
from ._network import Network
from ._prepared import prepare
from ._resources import RESOURCE_NAMES


@dataclass(frozen=True)
class StageEstimate:
    """One pipeline stage: its folding (PE and SIMD of engines; pixels per cycle), expected
    cycles and resources."""

    name: str
    kind: str  # "loader", or the layer kind
    pe: int | None
    simd: int | None
    px: int  # output pixels per cycle (SPEC 2, "Pixel parallelism")
    cycles: float  # expected work per frame
    lut: int
    ff: int
    dsp: int
    bram18: int


@dataclass(frozen=True)
class Estimate:
    """Expected performance and resources of a folded network on a device."""

    network: str
    device: str
    clock_mhz: float
    max_utilisation: float
    folding: Folding
    stages: tuple[StageEstimate, ...]
    interval_cycles: float  # steady-state cycles per frame (SPEC 4)
    throughput_fps: float  # clock / interval
    latency_cycles: float  # one frame through the empty pipeline
    latency_us: float
    bottleneck: str  # name of the slowest stage
    resources: dict[str, int]
    utilisation: dict[str, float]  # fraction of the whole device
    fits: bool  # every resource within max_utilisation of the device

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain ints, floats, strings, None, lists and dicts). Stages appear
        under "layers", keyed by name in pipeline order (the loader is "input")."""
        out = asdict(self)
        out["folding"] = {
            name: {"pe": pe, "simd": simd, "px": self.folding.px(name)}
            for name, pe, simd in self.folding.layers
        }
        out["folding"] |= {
            name: {"px": px} for name, px in self.folding.pixels if name not in out["folding"]
        }
        for name, frames in self.folding.banks:  # buffers of 3 frames (2 when not listed)
            out["folding"].setdefault(name, {})["banks"] = frames
        del out["stages"]
        out["layers"] = {
            s.name: {k: v for k, v in asdict(s).items() if k != "name"} for s in self.stages
        }
        return out


def estimate(
    network: Network,
    device: str | Device,
    clock_mhz: float = 200.0,
    folding: Folding | None = None,
    max_utilisation: float = DEFAULT_MAX_UTILISATION,
) -> Estimate:
    """Expected cycles, throughput, latency and resources of `network` on `device`.

    Args:
        network: the network.
        device: device name or Device.
        clock_mhz: accelerator clock.
        folding: PE/SIMD per engine; when None, `fold(..., mode="max_throughput")` chooses it.
        max_utilisation: the cap used for `fits` (and for folding when `folding` is None).
    """
    if clock_mhz <= 0:
        raise ValueError(f"clock_mhz must be > 0, got {clock_mhz}")
    dev = get_device(device)
    if folding is None:
        folding = fold(network, dev, clock_mhz, max_utilisation=max_utilisation)
    p = prepare(network, dev)
    indices = p.indices(folding)
    ev = p.evaluate(*indices, banks=folding.bank_counts(network))
    cycles = ev.stage_cycles[0]
    banked = extra_bank_resources(network, dict(folding.pixels), dict(folding.banks))
    stage_res = (p.stage_resources(*indices) + banked).astype(np.int64)
    kinds = ("loader", *(layer.kind for layer in network.layers))
    fold_of = folding.as_dict()
    stages = tuple(
        StageEstimate(
            name,
            kind,
            *fold_of.get(name, (None, None)),
            folding.px(name),
            float(cycles[s]),
            *(int(v) for v in stage_res[s]),
        )
        for s, (name, kind) in enumerate(zip(p.stage_names, kinds, strict=True))
    )
    interval = float(ev.interval_cycles[0])
    latency = float(ev.latency_cycles[0])
    total = stage_res.sum(axis=0)
    return Estimate(
        network=network.name,
        device=dev.name,
        clock_mhz=float(clock_mhz),
        max_utilisation=float(max_utilisation),
        folding=folding,
        stages=stages,
        interval_cycles=interval,
        throughput_fps=clock_mhz * 1e6 / interval,
        latency_cycles=latency,
        latency_us=latency / clock_mhz,
        bottleneck=p.stage_names[int(np.argmax(cycles))],
        resources={name: int(v) for name, v in zip(RESOURCE_NAMES, total, strict=True)},
        utilisation=dev.utilisation(total),
        fits=dev.fits(total, max_utilisation),
    )
