"""Resources that do not depend on the folding: frame buffers, skip buffers, the loader,
max-pool and add stages (SPEC section 6)."""

from __future__ import annotations

import numpy as np

from . import _coefficients as c
from ._contract import INPUT_NAME
from ._network import LayerSpec, Network
from ._resources import memory_resources


def frame_buffer_resources(
    frame: tuple[int, int, int], bits: int, consumer: LayerSpec | None
) -> np.ndarray:
    """(4,) ping-pong buffer between a stage and its consumer, laid out for the consumer.

    A linear layer reads the whole frame as one vector: registers, `2 * C*H*W * bits` FF.
    A conv2d or max-pool with kernel k reads a k x k window per cycle: k^2 banks (row mod k,
    col mod k), each one pixel (C * bits) wide and `2 * ceil(H/k) * ceil(W/k)` deep. The
    window arrives rotated by (row mod k, col mod k); the consumer undoes that (see
    `window_rotation_luts`; a max-pool is order-blind).
    An add or matmul reads one pixel per cycle: one bank `2 * H * W` deep.
    The last stage's output is drained immediately (no buffer).
    """
    layout = _frame_buffer_layout(frame, bits, consumer)
    if layout is None or isinstance(layout, float):
        return np.array([0.0, layout or 0.0, 0.0, 0.0])
    return memory_resources(*layout)


def _frame_buffer_layout(
    frame: tuple[int, int, int], bits: int, consumer: LayerSpec | None
) -> tuple[int, int, int] | float | None:
    """A frame buffer's (depth, width, copies) memory, its register bits (linear consumer), or
    None (no consumer: no buffer)."""
    ch, h, w = frame
    if consumer is None:
        return None
    if consumer.kind == "linear":
        return 2.0 * ch * h * w * bits
    k = consumer.kernel if consumer.kind in ("conv2d", "maxpool") else 1
    depth = 2 * (-(-h // k)) * (-(-w // k))
    return depth, ch * bits, k * k


def skip_depth_frames(source_stage: int, consumer_stage: int) -> int:
    """Frames a skip buffer must hold so it never stalls the pipeline: `2 * (a - s)` for a
    consumer at stage a reading the output of stage s (SPEC section 4, "Two-input stages")."""
    return 2 * (consumer_stage - source_stage)


def skip_buffer_resources(frame: tuple[int, int, int], bits: int, frames: int) -> np.ndarray:
    """(4,) FIFO of `frames` whole frames, one pixel (C * bits) per word, for an add's
    second operand."""
    ch, h, w = frame
    return memory_resources(frames * h * w, ch * bits)


def loader_resources(first: LayerSpec) -> np.ndarray:
    """(4,) loader logic: control and one input pixel register (its buffer is counted
    separately, as the loader's output frame buffer)."""
    return np.array(
        [c.STAGE_CONTROL_LUTS, c.STAGE_CONTROL_FFS + first.in_shape[0] * first.a_bits, 0.0, 0.0]
    )


def fixed_stage_resources(layer: LayerSpec) -> np.ndarray:
    """(4,) logic of a max-pool or add stage producing one output pixel (all channels) per
    cycle: a max tree of k^2 - 1 comparators per channel, or one adder and a requantizer per
    channel; plus the window / output registers and control."""
    ch = layer.in_shape[0]
    bits = layer.a_bits
    if layer.kind == "maxpool":
        taps = layer.kernel * layer.kernel
        lut = ch * (taps - 1) * bits * c.MAX_LUTS_PER_BIT
        ff = ch * taps * bits + ch * bits
    elif layer.kind == "add":
        lut = ch * (bits + 1) * (c.ADDER_LUTS_PER_BIT + c.REQUANT_LUTS_PER_BIT)
        ff = ch * layer.out_bits
    else:
        raise ValueError(f"layer {layer.name!r}: {layer.kind} is not a fixed stage")
    return np.array([lut + c.STAGE_CONTROL_LUTS, ff + c.STAGE_CONTROL_FFS, 0.0, 0.0])


def stage_fixed_resources(network: Network) -> np.ndarray:
    """(stages, 4) folding-independent resources of every stage: its own logic (non-engines),
    its output frame buffer, and skip buffers of its output for later add layers.

    Engine logic and weight memories (and a matmul's operand buffer) depend on the folding
    and are priced by `engine_resources`.
    """
    layers = network.layers
    out = np.zeros((len(layers) + 1, 4))
    out[0] = loader_resources(layers[0])
    buffers = [_frame_buffer_layout(layers[0].in_shape, layers[0].a_bits, layers[0])]
    for i, layer in enumerate(layers):
        consumer = layers[i + 1] if i + 1 < len(layers) else None
        if not layer.is_engine:
            out[i + 1] += fixed_stage_resources(layer)
        buffers.append(_frame_buffer_layout(layer.out_shape, layer.out_bits, consumer))
    # every stage's output frame buffer (`frame_buffer_resources`), the memories in one pass
    memories = [i for i, b in enumerate(buffers) if isinstance(b, tuple)]
    if memories:
        depth, width, copies = np.array([buffers[i] for i in memories]).T
        out[memories] += memory_resources(depth, width, copies)
    for i, b in enumerate(buffers):
        if isinstance(b, float):
            out[i, 1] += b
    for layer in layers:
        if layer.kind == "add":
            src = layer.second_input
            s, a = network.stage_of(src), network.stage_of(layer.name)
            if src == INPUT_NAME:
                frame, bits = layers[0].in_shape, layers[0].a_bits
            else:
                frame, bits = layers[s - 1].out_shape, layers[s - 1].out_bits
            out[s] += skip_buffer_resources(frame, bits, skip_depth_frames(s, a))
    return out
