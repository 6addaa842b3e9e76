"""The one definition of hwsearch's fixed-point arithmetic.

A value `v` in format (bits, frac, signed) is the integer `q = v * 2^frac`, with
`q` in `[-2^(bits-1), 2^(bits-1) - 1]` (signed activations), `[0, 2^bits - 1]` (unsigned
activations, the output of a ReLU) or `[-(2^(bits-1) - 1), 2^(bits-1) - 1]` (weights:
symmetric, so 2-bit weights are ternary).

Rounding is *round half up*: `floor(x + 1/2)`. Saturation clamps to the format's range.

Requantization of an exact accumulator `acc` (scale `2^-in_frac`) to an activation format
with `out_frac` fractional bits, `shift = in_frac - out_frac`:

    1. y = (acc + 2^(shift-1)) >> shift     if shift > 0   (arithmetic shift: floor)
       y = acc << -shift                    if shift <= 0
    2. y = y if y > threshold else 0        (thresholded ReLU; threshold >= 0)
    3. y = clamp(y, 0, 2^bits - 1)

Biases are stored in the accumulator's scale (`w_frac + a_frac` fractional bits), rounded half
up and clamped to `fan_in * max|w| * max|x|`, so an accumulator of `hw_models.accumulator_bits`
never overflows.

Each rule exists twice, for numpy int64 (the integer reference model) and for float64 torch
tensors holding integers (the fake-quant path). Float64 is exact here because every value
stays far below 2^53; tests prove the two paths equal.
"""

from dataclasses import dataclass

import numpy as np
import torch

MIN_BITS, MAX_BITS = 2, 16


@dataclass(frozen=True)
class FixedPoint:
    """A fixed-point format: `bits` wide, `frac` fractional bits (may be negative)."""

    bits: int
    frac: int
    signed: bool
    symmetric: bool = False  # weights drop the most negative code

    def __post_init__(self):
        if not MIN_BITS <= self.bits <= MAX_BITS:
            raise ValueError(f"bits must be in {MIN_BITS}..{MAX_BITS}, got {self.bits}")

    @property
    def qmin(self) -> int:
        if not self.signed:
            return 0
        return -(2 ** (self.bits - 1)) + (1 if self.symmetric else 0)

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    @property
    def step(self) -> float:
        return 2.0**-self.frac

    def to_int(self, x: np.ndarray) -> np.ndarray:
        """Quantize real values to integer codes (numpy int64)."""
        scaled = np.asarray(x, dtype=np.float64) * 2.0**self.frac
        return np.clip(np.floor(scaled + 0.5), self.qmin, self.qmax).astype(np.int64)

    def fake_quant(self, x: torch.Tensor) -> torch.Tensor:
        """Quantize to integer codes kept in a float64 tensor (exactly `to_int`)."""
        q = torch.floor(x.to(torch.float64) * 2.0**self.frac + 0.5)
        return q.clamp(self.qmin, self.qmax)

    def to_dict(self) -> dict:
        return {"bits": self.bits, "frac": self.frac, "signed": self.signed}


def requantize(acc: np.ndarray, shift: int, threshold: int, out: FixedPoint) -> np.ndarray:
    """Integer requantization (module docstring, steps 1-3) on int64 accumulators."""
    acc = np.asarray(acc, dtype=np.int64)
    y = (acc + (1 << (shift - 1))) >> shift if shift > 0 else acc << -shift
    y = np.where(y > threshold, y, 0)
    return np.clip(y, out.qmin, out.qmax)


def fake_requantize(x: torch.Tensor, threshold: int, out: FixedPoint) -> torch.Tensor:
    """The same rule on the real value `x = acc * 2^-in_frac` (float64), returning codes.

    `x * 2^out.frac` equals `acc * 2^-shift` exactly (power-of-two scales), so flooring it
    after adding one half is step 1 of `requantize`.
    """
    y = torch.floor(x * 2.0**out.frac + 0.5)
    y = torch.where(y > threshold, y, torch.zeros_like(y))
    return y.clamp(out.qmin, out.qmax)
