"""The integer reference model: the definition the RTL is checked against, bit for bit.

A chain of operations on numpy int64 tensors (N, C, H, W) or (N, K). Weighted layers
accumulate exactly (int64), add the bias (already in the accumulator's scale) and, unless
last, requantize with `fixed_point.requantize`. Max-pool and flatten move integers around.
Nothing here is floating point.
"""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from search.transforms.fixed_point import FixedPoint, requantize


@dataclass(frozen=True)
class Requantization:
    """How a weighted layer's accumulators become the next layer's input codes."""

    shift: int
    threshold: int
    out_format: FixedPoint


@dataclass(frozen=True)
class IntLayer:
    """One weighted layer: weights (PyTorch layout) and bias as int64 codes."""

    name: str
    kind: str  # "linear" or "conv2d"
    weight: np.ndarray
    bias: np.ndarray
    weight_format: FixedPoint
    input_format: FixedPoint
    stride: int = 1
    padding: int = 0
    requant: Requantization | None = None  # None for the last layer: it outputs accumulators

    @property
    def acc_frac(self) -> int:
        return self.weight_format.frac + self.input_format.frac

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "linear":
            return x @ self.weight.T + self.bias  # (N, M)
        p, k = self.padding, self.weight.shape[-1]
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        windows = sliding_window_view(padded, (k, k), axis=(2, 3))  # (N, C, H', W', k, k)
        windows = windows[:, :, :: self.stride, :: self.stride]
        acc = np.einsum("nchwij,ocij->nohw", windows, self.weight)  # (N, M, Ho, Wo)
        return acc + self.bias[None, :, None, None]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        acc = self.accumulate(x)
        if self.requant is None:
            return acc
        r = self.requant
        return requantize(acc, r.shift, r.threshold, r.out_format)


@dataclass(frozen=True)
class MaxPool:
    name: str
    kernel: int
    stride: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        windows = sliding_window_view(x, (self.kernel, self.kernel), axis=(2, 3))
        return windows[:, :, :: self.stride, :: self.stride].max(axis=(-2, -1))


@dataclass(frozen=True)
class Flatten:
    name: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)


@dataclass(frozen=True)
class IntegerNetwork:
    """A chain of integer operations; `input_format` quantizes real inputs to codes."""

    input_format: FixedPoint
    ops: tuple[IntLayer | MaxPool | Flatten, ...]

    @property
    def weighted(self) -> list[IntLayer]:
        return [op for op in self.ops if isinstance(op, IntLayer)]

    @property
    def output_frac(self) -> int:
        """Fractional bits of the output accumulators (logits = codes * 2^-output_frac)."""
        return self.weighted[-1].acc_frac

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        return self.input_format.to_int(x)

    def run(self, x_codes: np.ndarray) -> np.ndarray:
        """Integer inputs to integer output accumulators."""
        return self.trace(x_codes)[0]

    def trace(self, x_codes: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Outputs and each weighted layer's input codes (test vectors, exact statistics)."""
        x, layer_inputs = np.asarray(x_codes, dtype=np.int64), {}
        for op in self.ops:
            if isinstance(op, IntLayer):
                layer_inputs[op.name] = x
            x = op(x)
        return x, layer_inputs

    def predict(self, x_codes: np.ndarray) -> np.ndarray:
        return self.run(x_codes).argmax(axis=-1)
