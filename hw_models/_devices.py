"""Target FPGA devices: resource budgets and DSP geometry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._resources import RESOURCE_NAMES

# Default utilisation cap for folding: at most 80% of every resource. Dataflow designs route
# poorly and miss timing above ~80% LUT use; the same cap on DSP/BRAM leaves room for the
# shell (DMA, AXI interconnect) and the estimates' error (they are calibrated, not exact).
DEFAULT_MAX_UTILISATION = 0.8


@dataclass(frozen=True)
class Device:
    """An FPGA part: capacities and the DSP multiplier port widths (signed bits).

    DSP48E1 (7-series) multiplies 25 x 18, DSP48E2 (UltraScale/UltraScale+) 27 x 18.
    BRAM is counted in RAMB18 halves (one RAMB36 = two RAMB18); UltraRAM is not used.
    """

    name: str
    part: str
    lut: int
    ff: int
    dsp: int
    bram18: int
    dsp_port_a: int
    dsp_port_b: int = 18

    @property
    def capacity(self) -> np.ndarray:
        """(4,) capacities in `RESOURCE_NAMES` order."""
        return np.array([self.lut, self.ff, self.dsp, self.bram18], dtype=np.float64)

    def budget(self, max_utilisation: float = DEFAULT_MAX_UTILISATION) -> np.ndarray:
        """(4,) usable resources under the utilisation cap."""
        if not 0.0 < max_utilisation <= 1.0:
            raise ValueError(f"max_utilisation must be in (0, 1], got {max_utilisation}")
        return self.capacity * max_utilisation

    def utilisation(self, resources: np.ndarray) -> dict[str, float]:
        """Fraction of each resource of the whole device that `resources` (4,) use."""
        frac = np.asarray(resources, dtype=np.float64) / self.capacity
        return {name: float(f) for name, f in zip(RESOURCE_NAMES, frac, strict=True)}

    def fits(self, resources: np.ndarray, max_utilisation: float = DEFAULT_MAX_UTILISATION) -> bool:
        """True when every resource is within the utilisation cap."""
        return bool(np.all(np.asarray(resources) <= self.budget(max_utilisation)))


# Capacities from the Xilinx data sheets (DS891 Zynq UltraScale+, DS962 Alveo U250, DS190 Zynq-7000,
# DS180 7-series, DS987 Kria K26); BRAM18 = 2 x RAMB36.
DEVICES: dict[str, Device] = {
    device.name: device
    for device in (
        Device("zcu102", "xczu9eg-ffvb1156-2-e", 274_080, 548_160, 2_520, 1_824, 27),
        Device("u250", "xcu250-figd2104-2L-e", 1_728_000, 3_456_000, 12_288, 5_376, 27),
        Device("kv260", "xck26-sfvc784-2LV-c", 117_120, 234_240, 1_248, 288, 27),
        Device("zc706", "xc7z045-ffg900-2", 218_600, 437_200, 900, 1_090, 25),
        Device("pynq-z2", "xc7z020-clg400-1", 53_200, 106_400, 220, 280, 25),
        Device("xc7a100t", "xc7a100t-csg324-1", 63_400, 126_800, 240, 270, 25),
    )
}
_ALIASES = {
    "xczu9eg": "zcu102",
    "xcu250": "u250",
    "xck26": "kv260",
    "xc7z045": "zc706",
    "xc7z020": "pynq-z2",
    "arty-a7-100": "xc7a100t",
}


def get_device(device: str | Device) -> Device:
    """Device by board or part name (case-insensitive); raises ValueError listing known ones."""
    if isinstance(device, Device):
        return device
    key = str(device).lower()
    key = _ALIASES.get(key, key)
    if key not in DEVICES:
        known = sorted([*DEVICES, *_ALIASES])
        raise ValueError(f"unknown device {device!r}; known devices: {', '.join(known)}")
    return DEVICES[key]
