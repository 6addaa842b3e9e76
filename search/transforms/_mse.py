"""Power-of-two scale with the least squared error among the few that avoid heavy clipping."""

import math

import torch

from search.transforms._base import BaseQuantizer
from search.transforms.fixed_point import FixedPoint

MAX_CALIBRATION_VALUES = 200_000  # a seeded subsample keeps calibration cheap on big tensors


class MSEQuantizer(BaseQuantizer):
    """Try `f0, f0+1, f0+2`, where `f0` is the largest frac that represents max|x| unclipped."""

    def choose_frac(self, values: torch.Tensor, bits: int, signed: bool, symmetric: bool) -> int:
        flat = values.detach().flatten().to(torch.float64)
        if flat.numel() > MAX_CALIBRATION_VALUES:
            pick = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))
            flat = flat[pick[:MAX_CALIBRATION_VALUES]]
        largest = flat.abs().max().item() if flat.numel() else 0.0
        probe = FixedPoint(bits, 0, signed, symmetric)
        if largest == 0.0:
            return bits - 1
        f0 = math.floor(math.log2(probe.qmax / largest))
        errors = []
        for frac in (f0, f0 + 1, f0 + 2):
            fmt = FixedPoint(bits, frac, signed, symmetric)
            errors.append(((fmt.fake_quant(flat) * fmt.step - flat) ** 2).mean().item())
        return f0 + min(range(3), key=errors.__getitem__)
