"""Describe a transformed model to the hardware model (`hw_models.Network`).

Chain models map one to one: Linear and Conv2d become engines, MaxPool2d a pool stage, and
flatten disappears (SPEC.md section 2). Activation skipping is enabled for a layer when its
measured input sparsity makes the compaction logic worth it (`ACT_SKIP_MIN_SPARSITY`), or as
the job says.
"""

from typing import Literal

import numpy as np
from torch import nn

from hw_models import LayerSpec, Network
from search.transforms import LayerStats, TransformedModel, TransformError

ACT_SKIP_MIN_SPARSITY = 0.2  # below this the skip logic costs more LUTs than it saves cycles
ActSkip = Literal["auto", "on", "off"]


def _act_skip(stats: LayerStats, policy: ActSkip) -> bool:
    if policy == "auto":
        return stats.act_sparsity >= ACT_SKIP_MIN_SPARSITY
    return policy == "on"


def _engine(transformed: TransformedModel, stats: LayerStats, out_bits: int, policy: ActSkip):
    q = transformed.layers[stats.name]
    return LayerSpec(
        name=stats.name,
        kind=stats.kind,
        in_shape=stats.in_shape,
        out_shape=stats.out_shape,
        kernel=stats.kernel,
        stride=stats.stride,
        padding=stats.padding,
        w_bits=q.weight_format.bits,
        a_bits=q.input_format.bits,
        out_bits=out_bits,
        input_signed=q.input_format.signed,
        act_skip=_act_skip(stats, policy),
        weight_mask=q.weight != 0,
        act_density=1.0 - stats.act_sparsity,
        window_nnz_hist=stats.window_nnz_hist,
    )


def network_from_transformed(
    transformed: TransformedModel,
    stats: dict[str, LayerStats],
    name: str,
    act_skip: ActSkip = "auto",
) -> Network:
    model = transformed.float_model
    if not isinstance(model, nn.Sequential):
        raise TransformError(
            f"{name}: the hardware model describes chain (nn.Sequential) models; "
            f"{type(model).__name__} is not one"
        )
    weighted = list(transformed.layers)
    layers: list[LayerSpec] = []
    shape = None  # (C, H, W) flowing between stages
    bits = None
    for child_name, module in model.named_children():
        if child_name in transformed.layers:
            s = stats[child_name]
            position = weighted.index(child_name)
            is_last = position == len(weighted) - 1
            next_bits = (
                32 if is_last else transformed.layers[weighted[position + 1]].input_format.bits
            )
            layers.append(_engine(transformed, s, next_bits, act_skip))
            shape, bits = s.out_shape, next_bits
        elif isinstance(module, nn.MaxPool2d):
            k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            stride = module.stride if isinstance(module.stride, int) else module.stride[0]
            c, h, w = shape
            out = (c, (h - k) // stride + 1, (w - k) // stride + 1)
            layers.append(
                LayerSpec(
                    name=child_name,
                    kind="maxpool",
                    in_shape=shape,
                    out_shape=out,
                    kernel=k,
                    stride=stride,
                    a_bits=bits,
                    out_bits=bits,
                )
            )
            shape = out
    return Network(name=name, layers=tuple(layers))


def layer_masks(int_inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Nonzero masks of each engine's integer input codes (for exact cycle counts)."""
    return {name: codes != 0 for name, codes in int_inputs.items()}
