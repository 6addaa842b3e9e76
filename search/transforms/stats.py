"""Per-layer sparsity statistics the hardware model needs.

Measured on the quantized model (the codes the hardware will hold and see), on calibration
inputs: achieved weight sparsity and nonzero weights per output channel, input activation
density, the histogram of nonzero input activations per window (conv) or per vector
(linear) — the quantity a zero-skipping engine's cycle count depends on — and how often each
weight's input is nonzero (pruning keeps the weights of often-active inputs, so a row's work
depends on which inputs it kept); for conv layers, every window's count in place (an engine
taking several adjacent windows at once waits for the busiest).
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from search.transforms._graph import capture_inputs
from search.transforms.apply import TransformedModel


@dataclass(frozen=True)
class LayerStats:
    name: str
    kind: str
    in_shape: tuple[int, int, int]  # (C, H, W); a linear layer's input is (K, 1, 1)
    out_shape: tuple[int, int, int]
    kernel: int
    stride: int
    padding: int
    weight_sparsity: float  # fraction of zero weight codes
    nnz_per_row: np.ndarray  # nonzero weights per output channel
    act_sparsity: float  # fraction of zero input codes on calibration data
    window_nnz_hist: np.ndarray  # windows (or vectors) with k nonzero inputs, k = 0..K
    column_density: np.ndarray  # per weight input, shaped like one output channel's weights:
    # the fraction of windows (vectors) in which it is nonzero, padding counting as zero
    window_counts: np.ndarray | None  # conv2d: nonzero count of every window (N, H_out, W_out)

    def summary(self) -> dict:
        return {
            "kind": self.kind,
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "measured_weight_sparsity": round(float(self.weight_sparsity), 4),
            "measured_act_sparsity": round(float(self.act_sparsity), 4),
            "nnz_per_row_min": int(self.nnz_per_row.min()),
            "nnz_per_row_max": int(self.nnz_per_row.max()),
        }


def _window_nonzeros(
    mask: torch.Tensor, kind: str, kernel: int, stride: int, padding: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nonzero count of every window (conv2d) or vector (linear), and the fraction of them
    in which each input is nonzero, (K,) in PyTorch's (cin, kh, kw) order."""
    if kind == "conv2d":
        windows = F.unfold(mask, kernel, padding=padding, stride=stride)  # (N, K, L)
        return windows.sum(dim=1).flatten(), windows.mean(dim=(0, 2), dtype=torch.float64)
    vectors = mask.reshape(-1, mask.shape[-1])  # (N*, K)
    return vectors.sum(dim=1), vectors.mean(dim=0, dtype=torch.float64)


@torch.no_grad()
def collect_stats(
    transformed: TransformedModel, calibration: torch.Tensor
) -> dict[str, LayerStats]:
    names = list(transformed.layers)
    model = transformed.quantized
    if calibration.is_floating_point():
        calibration = calibration.to(torch.float64)
    inputs = capture_inputs(model, names, calibration)
    outputs: dict[str, tuple[int, ...]] = {}
    hooks = [
        model.get_submodule(n).register_forward_hook(
            lambda _m, _a, out, n=n: outputs.__setitem__(n, tuple(out.shape[1:]))
        )
        for n in names
    ]
    try:
        model(calibration[:1])
    finally:
        for h in hooks:
            h.remove()

    stats = {}
    for name in names:
        layer = transformed.layers[name]
        mask = (layer.input_format.fake_quant(inputs[name]) != 0).to(torch.float32)
        kernel = layer.weight.shape[-1] if layer.kind == "conv2d" else 1
        if layer.kind == "conv2d":
            in_shape, out_shape = tuple(mask.shape[1:]), outputs[name]
        else:
            in_shape, out_shape = (mask.shape[-1], 1, 1), (outputs[name][-1], 1, 1)
        k_total = int(np.prod(layer.weight.shape[1:]))
        counts, column_density = _window_nonzeros(
            mask, layer.kind, kernel, layer.stride, layer.padding
        )
        nonzero_weights = layer.weight != 0
        stats[name] = LayerStats(
            name=name,
            kind=layer.kind,
            in_shape=tuple(int(v) for v in in_shape),
            out_shape=tuple(int(v) for v in out_shape),
            kernel=kernel,
            stride=layer.stride,
            padding=layer.padding,
            weight_sparsity=float(1.0 - nonzero_weights.mean()),
            nnz_per_row=nonzero_weights.reshape(len(nonzero_weights), -1).sum(axis=1),
            act_sparsity=1.0 - mask.mean().item(),
            window_nnz_hist=np.bincount(counts.long().numpy(), minlength=k_total + 1),
            column_density=column_density.numpy().reshape(layer.weight.shape[1:]),
            window_counts=(
                counts.to(torch.int32).numpy().reshape(-1, *out_shape[1:])
                if layer.kind == "conv2d"
                else None
            ),
        )
    return stats
