"""The two transform interfaces: what a pruner and a quantizer must do, and when."""

import abc

import torch


class BasePruner(abc.ABC):
    """Chooses which weights of one layer become zero.

    Called once per weighted layer per candidate, on the float weights, before activation
    thresholds and quantization are calibrated. `keep_mask` must keep exactly
    `numel - round(sparsity * numel)` weights, so the requested sparsity is met exactly.
    """

    @abc.abstractmethod
    def keep_mask(self, weight: torch.Tensor, sparsity: float) -> torch.Tensor:
        """A bool tensor shaped like `weight`, True where the weight survives."""


class BaseQuantizer(abc.ABC):
    """Chooses a power-of-two scale (fractional bits) for one tensor.

    Called once per layer for the weights (after pruning) and once per layer for its input
    activations (on calibration data, after activation thresholds are set). Power-of-two
    scales make requantization a shift, which is what the hardware implements.
    """

    @abc.abstractmethod
    def choose_frac(self, values: torch.Tensor, bits: int, signed: bool, symmetric: bool) -> int:
        """Fractional bits for `values` in a `bits`-wide format."""
