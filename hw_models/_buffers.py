"""Resources that do not depend on the folding: frame buffers, skip buffers, the loader and
the fixed stages (max-pool, add, norm, softmax) (SPEC section 6)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import _coefficients as c
from ._contract import DEFAULT_BANKS, NORM_KINDS
from ._network import LayerSpec, Network
from ._resources import memory_resources, mux_luts, requantizer_luts, window_buffer_luts


def _frame_buffer_layout(
    frame: tuple[int, int, int], bits: int, consumer: LayerSpec, frames: int, px: int = 1
) -> tuple[int, int, int] | float:
    """A buffer of `frames` frames between a stage and its consumer, laid out for the
    consumer (2 or 3 frames for the next stage, `Folding.banks`; a skip buffer for a later
    one): its (depth, width, copies) memory, or its register bits. The last stage's output
    is drained immediately (no buffer).

    A linear layer reads the whole frame as one vector: registers, `frames * C*H*W * bits` FF
    and a read register of one frame (hws_vector_buffer; LUTs in `vector_buffer_luts`).
    A conv2d or max-pool with kernel k reads `px` windows of a row per cycle: k x kc banks
    (row mod k, col mod kc), `kc = (px - 1) * stride + k` columns so that the px windows'
    span of columns hits every bank once, each one pixel (C * bits) wide and
    `frames * ceil(H/k) * ceil(W/kc)` deep; the buffer puts the bank words in window order
    (`window_buffer_luts`, hws_window_buffer).
    Other stages read one pixel per cycle: one bank `frames * H * W` deep.
    """
    ch, h, w = frame
    if consumer.kind == "linear":
        return float((frames + 1) * ch * h * w * bits)
    k = consumer.kernel if consumer.kind in ("conv2d", "maxpool") else 1
    kc = (px - 1) * consumer.stride + k if consumer.kind in ("conv2d", "maxpool") else 1
    depth = frames * (-(-h // k)) * (-(-w // kc))
    return depth, ch * bits, k * kc


def vector_buffer_luts(frame: tuple[int, int, int], bits: int, frames: int) -> float:
    """LUTs of a register frame buffer read as one vector (hws_vector_buffer): a `frames`:1
    select of every bit of the frame read, and a write enable per pixel and frame."""
    ch, h, w = frame
    return float(mux_luts(frames, ch * h * w * bits) + frames * h * w)


def _buffer_frames(
    source_stage: int, reader_stage: int, operand: str = "source", banks: int = DEFAULT_BANKS
) -> int:
    """Frames of the buffer a reader reads: `banks` (the folding's, 2 or 3) when it reads the
    previous stage's frame as its source, else a skip buffer."""
    if operand == "source" and reader_stage == source_stage + 1:
        return banks
    return skip_depth_frames(source_stage, reader_stage)


def _buffer_terms(
    frame: tuple[int, int, int], bits: int, reader: LayerSpec, frames: int, px: int
) -> tuple[np.ndarray, tuple[int, int, int] | None]:
    """The buffer `reader` reads, laid out for it (`_frame_buffer_layout`): (4,) its logic
    (registers and their select, or the window rotations) and its memory (depth, width,
    copies), None when it is registers."""
    layout = _frame_buffer_layout(frame, bits, reader, frames, px)
    logic = np.array([c.FRAME_BUFFER_CONTROL_LUTS, c.FRAME_BUFFER_CONTROL_FFS, 0.0, 0.0])
    if isinstance(layout, float):
        logic[0] += vector_buffer_luts(frame, bits, frames)
        logic[1] += layout
        return logic, None
    if reader.kind in ("conv2d", "maxpool"):
        depth, width, banks = layout
        kc = banks // reader.kernel
        args = (reader.kernel, reader.stride, reader.padding, kc, width, depth, px)
        logic[0] += window_buffer_luts(*args)
    return logic, layout


def skip_depth_frames(source_stage: int, consumer_stage: int, in_place: bool = False) -> int:
    """Frames a skip buffer must hold so it never stalls the pipeline: `2 * (a - s)` for a
    consumer at stage a reading the output of stage s, one more when it reads the frame in
    place until its work ends, after its release (a matmul's `B`) (SPEC section 2, "Skip
    buffers")."""
    return 2 * (consumer_stage - source_stage) + int(in_place)


def loader_resources() -> np.ndarray:
    """(4,) loader logic: a beat counter and the handshake, whatever the pixel width or
    pixel parallelism (hws_loader passes pixels through; its buffer is counted separately, as
    the loader's output frame buffer)."""
    return np.array([c.LOADER_LUTS, c.LOADER_FFS, 0.0, 0.0])


def fixed_stage_resources(layer: LayerSpec, px: int = 1) -> np.ndarray:
    """(4,) logic of a fixed stage producing one output pixel (all channels) per cycle: a max
    tree of k^2 - 1 comparators per channel (max-pool, `px` of them for px pixels per
    cycle), an adder and a requantizer per channel (add), or a normalisation
    (`norm_stage_resources`); plus the window / output registers and control."""
    ch = layer.in_shape[0]
    bits = layer.a_bits
    if layer.kind == "maxpool":
        taps = layer.kernel * layer.kernel
        lut = px * ch * (taps - 1) * bits * c.MAX_LUTS_PER_BIT + c.MAXPOOL_CONTROL_LUTS
        ff = px * (ch * taps * bits + ch * bits)
        dsp = bram = 0.0
    elif layer.kind == "add":
        lut = ch * ((bits + 1) * c.ADDER_LUTS_PER_BIT + requantizer_luts(bits + 1, layer.out_bits))
        ff = ch * layer.out_bits
        dsp = bram = 0.0
    elif layer.kind in NORM_KINDS:
        lut, ff, dsp, bram = norm_stage_resources(layer)
    else:
        raise ValueError(f"layer {layer.name!r}: {layer.kind} is not a fixed stage")
    return np.array([lut + c.STAGE_CONTROL_LUTS, ff + c.STAGE_CONTROL_FFS, dsp, bram])


def norm_stage_resources(layer: LayerSpec) -> tuple[float, float, float, float]:
    """(LUT, FF, DSP, BRAM18) of a LayerNorm ("norm") or softmax stage, all channels of a
    pixel per cycle, in two passes over the frame.

    norm: pass 1 sums x and x^2 over the channels (a squarer per channel and two adder
    trees), then one reciprocal square root from a ROM; pass 2 multiplies each centred value
    by the scale and requantizes.
    softmax (per group): pass 1 keeps a running maximum and a rescaled sum of exponentials
    (the online normaliser of Milakov and Gimelshein 2018: a max tree, an exp table per
    channel, an adder tree), then one reciprocal per group from a ROM; pass 2 looks up the
    exponentials again and multiplies each by the reciprocal.
    Multipliers take one DSP each (operands of at most 18 bits). Estimates from these
    structures; no RTL implements these stages yet.
    """
    ch, bits, out = layer.in_shape[0], layer.a_bits, layer.out_bits
    tree_bits = math.ceil(math.log2(max(ch // layer.groups, 2)))
    norm_bits = c.NORM_SCALE_BITS
    if layer.kind == "norm":
        lut = ch * (2 * bits + tree_bits) * c.ADDER_LUTS_PER_BIT  # sum of squares
        lut += ch * (bits + tree_bits) * c.ADDER_LUTS_PER_BIT  # sum
        lut += ch * (bits + 1) * c.ADDER_LUTS_PER_BIT  # centring
        lut += ch * requantizer_luts(norm_bits, out)
        ff = ch * (bits + out) + 2 * (2 * bits + tree_bits)
        dsp = 2.0 * ch  # squarer and scaler
        rom = memory_resources(c.NORM_ROM_DEPTH, norm_bits, rom=True)
    else:
        lut = ch * bits * c.MAX_LUTS_PER_BIT  # max tree
        lut += ch * (bits + 1) * c.ADDER_LUTS_PER_BIT  # x - max
        lut += ch * (c.EXP_BITS + tree_bits) * c.ADDER_LUTS_PER_BIT  # sum of exponentials
        lut += ch * requantizer_luts(norm_bits, out)
        ff = ch * (c.EXP_BITS + out) + layer.groups * (bits + c.EXP_BITS + tree_bits)
        dsp = float(ch)  # exponential times reciprocal
        exp_tables = memory_resources(2 ** min(bits, 16), c.EXP_BITS, ch, rom=True)
        rom = memory_resources(c.NORM_ROM_DEPTH, norm_bits, layer.groups, rom=True) + exp_tables
    return lut + rom[0], ff + rom[1], dsp, float(rom[3])


def stage_fixed_resources(
    network: Network,
    pixels: Mapping[str, int] | None = None,
    banks: Mapping[str, int] | None = None,
) -> np.ndarray:
    """(stages, 4) resources of every stage that do not depend on PE and SIMD: its own logic
    (non-engines) and the buffers of its output frame: a buffer of `banks` frames (stage name
    -> 2 or 3; 2 when absent) for the next stage, a skip buffer of `skip_depth_frames` frames
    for every later reader (SPEC 2), banked for the reader's pixel parallelism (`pixels`,
    stage name -> px; 1 when absent).

    Engine logic and weight memories (and a matmul's second operand, which its engine reads
    in place) depend on the folding and are priced by `engine_resources`.
    """
    out, memories = _stage_fixed_terms(network, pixels, banks)
    _add_memories([(out, memories)])
    return out


def extra_bank_resources(
    network: Network, pixels: Mapping[str, int], banks: Mapping[str, int]
) -> np.ndarray:
    """(stages, 4) what the third frames of `banks` (stage name -> frames) add to
    `stage_fixed_resources(network, pixels)`, on the rows of the stages writing them."""
    if not any(frames != DEFAULT_BANKS for frames in banks.values()):
        return np.zeros((len(network.stage_names), 4))
    base = stage_fixed_resources(network, pixels)
    return np.ceil(stage_fixed_resources(network, pixels, banks)) - np.ceil(base)


def pixel_extras(
    network: Network, options: Mapping[str, Sequence[int]]
) -> dict[tuple[str, int], np.ndarray]:
    """(4,) resources that pixel parallelism px adds to a stage over px = 1, for every stage
    name and px in `options`: its own logic (the loader's input registers, a max-pool's max
    trees, the window rotations of the buffer it reads) and that buffer's memory, banked for
    px windows per cycle; the terms of `stage_fixed_resources`, for these stages only."""
    keys, total, first, memories = _pixel_terms(network, options)
    _add_memories([(total, memories)])
    extras = total - total[first]
    return {key: extras[i] for i, key in enumerate(keys)}


def fixed_and_pixel_resources(
    network: Network, options: Mapping[str, Sequence[int]]
) -> tuple[np.ndarray, dict[tuple[str, int], np.ndarray]]:
    """`stage_fixed_resources(network)` and `pixel_extras(network, options)`, their memories
    priced in one pass (what a prepared network needs, at a fraction of the cost)."""
    out, fixed_memories = _stage_fixed_terms(network, None, None)
    keys, total, first, memories = _pixel_terms(network, options)
    _add_memories([(out, fixed_memories), (total, memories)])
    extras = total - total[first]
    return out, {key: extras[i] for i, key in enumerate(keys)}


Memory = tuple[int, int, int, int]  # (row it adds to, depth, width, copies)


def _stage_fixed_terms(
    network: Network, pixels: Mapping[str, int] | None, banks: Mapping[str, int] | None
) -> tuple[np.ndarray, list[Memory]]:
    """`stage_fixed_resources` but its memories: (stages, 4) logic and register bits, and the
    memories of the buffers (stage, depth, width, copies), not priced yet."""
    px, frames_of = dict(pixels or {}), dict(banks or {})
    layers = network.layers
    out = np.zeros((len(layers) + 1, 4))
    out[0] = loader_resources()
    for i, layer in enumerate(layers):
        if not layer.is_engine:
            out[i + 1] += fixed_stage_resources(layer, px.get(layer.name, 1))
    memories: list[Memory] = []
    for name in network.stage_names:
        s = network.stage_of(name)
        frame, bits = network.frame_of(name)
        for reader, operand in network.consumers(name):
            a = network.stage_of(reader.name)
            if operand == "second_input" and reader.kind == "matmul":
                continue
            frames = _buffer_frames(s, a, operand, frames_of.get(name, DEFAULT_BANKS))
            logic, memory = _buffer_terms(frame, bits, reader, frames, px.get(reader.name, 1))
            out[s] += logic
            if memory is not None:
                memories.append((s, *memory))
    return out, memories


def _pixel_terms(
    network: Network, options: Mapping[str, Sequence[int]]
) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray, list[Memory]]:
    """`pixel_extras` but its memories: the (name, px) rows (px = 1 first for each name),
    their (rows, 4) logic, each row's px = 1 row, and the memories of the buffers they read
    (row, depth, width, copies), not priced yet."""
    layers = {layer.name: layer for layer in network.layers}
    keys: list[tuple[str, int]] = []
    first: list[int] = []
    logic: list[np.ndarray] = []
    memories: list[Memory] = []
    for name, pxs in options.items():
        layer = layers.get(name)
        px1_row = len(keys)
        if layer is None:  # the loader: no buffer of its own to read
            for px in (1, *pxs):
                keys.append((name, px))
                first.append(px1_row)
                logic.append(loader_resources())
            continue
        source = network.source_of(layer)
        frames = _buffer_frames(network.stage_of(source), network.stage_of(name))
        frame, bits = network.frame_of(source)
        for px in (1, *pxs):
            row = len(keys)
            keys.append((name, px))
            first.append(px1_row)
            buffer, memory = _buffer_terms(frame, bits, layer, frames, px)
            if memory is not None:
                memories.append((row, *memory))
            logic.append(buffer if layer.is_engine else fixed_stage_resources(layer, px) + buffer)
    total = np.array(logic, dtype=np.float64).reshape(len(keys), 4)
    return keys, total, np.array(first, dtype=np.int64), memories


def _add_memories(terms: Sequence[tuple[np.ndarray, list[Memory]]]) -> None:
    """Add to each array the memories listed for its rows, all priced in one pass."""
    listed = [m for _, memories in terms for m in memories]
    if not listed:
        return
    row, depth, width, copies = np.array(listed).T
    priced = memory_resources(depth, width, copies)
    start = 0
    for out, memories in terms:
        end = start + len(memories)
        np.add.at(out, row[start:end], priced[start:end])
        start = end
