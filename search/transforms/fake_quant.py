"""Modules of the transformed float models.

`ThresholdReLU` is the activation-sparsity transform in float. The `Quantized*` modules run
the integer arithmetic of `fixed_point` in float64 tensors: inputs are rounded to integer
codes, multiplied by integer weight codes with exact accumulation, and rescaled by a power
of two, so a layer's output is exactly `acc * 2^-(w_frac + a_frac)`. Tests prove the result
equal to the integer reference model, bit for bit.
"""

import torch
import torch.nn.functional as F
from torch import nn

from search.transforms.fixed_point import FixedPoint, fake_requantize


class ThresholdReLU(nn.ReLU):
    """x if x > threshold else 0 (threshold >= 0; 0 is a plain ReLU).

    A ReLU subclass, so a transformed float model (fine-tuned, say) can be transformed again.
    """

    def __init__(self, threshold: float = 0.0):
        super().__init__()
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > self.threshold, x, torch.zeros_like(x))

    def extra_repr(self) -> str:
        return f"threshold={self.threshold:.4g}"


class QuantizedReLU(nn.Module):
    """Requantize to the consumer's input format, threshold, saturate (fixed_point steps 1-3)."""

    def __init__(self, threshold_code: int, out_format: FixedPoint):
        super().__init__()
        self.threshold_code = threshold_code
        self.out_format = out_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = fake_requantize(x, self.threshold_code, self.out_format)
        return codes * self.out_format.step

    def extra_repr(self) -> str:
        return f"threshold_code={self.threshold_code}, out={self.out_format}"


class _QuantizedWeighted(nn.Module):
    def __init__(
        self,
        weight_codes: torch.Tensor,
        bias_codes: torch.Tensor,
        weight_format: FixedPoint,
        input_format: FixedPoint,
    ):
        super().__init__()
        self.register_buffer("weight_codes", weight_codes.to(torch.float64))
        self.register_buffer("bias_codes", bias_codes.to(torch.float64))
        self.weight_format = weight_format
        self.input_format = input_format
        self.out_scale = 2.0 ** -(weight_format.frac + input_format.frac)

    def extra_repr(self) -> str:
        return f"weights={self.weight_format}, inputs={self.input_format}"


class QuantizedLinear(_QuantizedWeighted):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = self.input_format.fake_quant(x)
        return F.linear(codes, self.weight_codes, self.bias_codes) * self.out_scale


class QuantizedConv2d(_QuantizedWeighted):
    def __init__(self, *args, stride: int, padding: int):
        super().__init__(*args)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = self.input_format.fake_quant(x)
        acc = F.conv2d(codes, self.weight_codes, self.bias_codes, self.stride, self.padding)
        return acc * self.out_scale
