"""Exact cycles (SPEC sections 2-4): per-stage per-frame times and the pipeline recurrence.

Given the actual nonzero masks of the input activations, these are the cycle counts the RTL
takes, cycle for cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._contract import (
    FIXED_KINDS,
    HANDOFF,
    LAYER_OVERHEAD,
    LOADER_PIXELS_PER_CYCLE,
    NORM_KINDS,
    NORM_PASSES,
    VECTOR_OVERHEAD,
)
from ._folding import Folding
from ._network import LayerSpec, Network


def row_cycles(n_work: np.ndarray, simd: int | np.ndarray) -> np.ndarray:
    """Cycles of one row: `max(1, ceil(n / SIMD))` (SPEC 3; the compacted work is consumed
    SIMD items per cycle, and an empty row still emits its bias in one cycle)."""
    return np.maximum(1, -(-n_work // simd))


def lane_max_cycles(row_cyc: np.ndarray, pe: int) -> np.ndarray:
    """`max_p L_p` over the last axis (M rows): lane p owns rows `o mod PE == p` (SPEC 3)."""
    m = row_cyc.shape[-1]
    lanes = row_cyc.reshape(*row_cyc.shape[:-1], m // pe, pe).sum(axis=-2)  # (..., PE)
    return lanes.max(axis=-1)


def lane_max_table(row_nnz: np.ndarray, pes: np.ndarray, simds: np.ndarray) -> np.ndarray:
    """(nP, nS) `max_p sum_{o in p} max(1, ceil(z_o / SIMD))` for every (PE, SIMD) option:
    an engine's cycles per vector without activation skipping, and the words of its longest
    lane's sparse weight memory."""
    c_rows = row_cycles(row_nnz[None, :], simds[:, None])  # (nS, M)
    return np.stack([lane_max_cycles(c_rows, int(pe)) for pe in pes])


def loader_cycles(in_shape: tuple[int, int, int]) -> int:
    """Loader stage: one pixel (all channels) per cycle, `H * W` (SPEC 2)."""
    return in_shape[1] * in_shape[2] // LOADER_PIXELS_PER_CYCLE


def fixed_stage_cycles(layer: LayerSpec) -> int:
    """Max-pool: one output pixel per cycle; add: one pixel per cycle; norm and softmax: one
    pixel per cycle in each of their two passes (SPEC 2)."""
    if layer.kind not in FIXED_KINDS:
        raise ValueError(f"layer {layer.name!r}: {layer.kind} is an engine, not a fixed stage")
    passes = NORM_PASSES if layer.kind in NORM_KINDS else 1
    return LAYER_OVERHEAD + passes * layer.out_shape[1] * layer.out_shape[2]


def engine_cycles_from_work(n_work: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """Engine stage time from work counts `n(o, w)` of shape (N, vectors, M) -> (N,) cycles:
    `LAYER_OVERHEAD + sum_w (VECTOR_OVERHEAD + max_p L_p(w))` (SPEC 2-3)."""
    per_vector = lane_max_cycles(row_cycles(n_work, simd), pe)  # (N, vectors)
    return LAYER_OVERHEAD + (VECTOR_OVERHEAD + per_vector).sum(axis=-1)


def window_masks(mask: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """(N, C, H, W) bool -> (N, Ho*Wo, K*K*C) windows in (kh, kw, cin) order, row-major
    output pixels, padding read as zero (SPEC 2, "Windows")."""
    padded = np.pad(mask, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(padded, (kernel, kernel), axis=(2, 3))  # (N, C, H', W', kh, kw)
    win = win[:, :, ::stride, ::stride]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(n, ho * wo, kernel * kernel * c)


def work_counts(layer: LayerSpec, frame_mask: np.ndarray) -> np.ndarray:
    """n(o, w) = popcount(W[o] & x_w) for one frame -> (vectors, M) int64.

    0/1 float32 matrix product: exact, since every count is below 2^24.
    """
    if layer.kind == "conv2d":
        x = window_masks(frame_mask[None], layer.kernel, layer.stride, layer.padding)[0]
    else:
        x = frame_mask.reshape(1, layer.fan_in)
    w = layer.weight_matrix.astype(np.float32)
    return np.rint(x.astype(np.float32) @ w.T).astype(np.int64)


def _input_mask(layer: LayerSpec, mask: np.ndarray) -> np.ndarray:
    """Check an input nonzero mask: (N, C, H, W) for conv2d; for linear (N, K) or the
    predecessor's frame (N, C, H, W), flattened in PyTorch order."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"input_masks[{layer.name!r}] must be a bool array, got {mask.dtype}")
    if layer.kind == "linear" and mask.ndim >= 2 and math.prod(mask.shape[1:]) == layer.fan_in:
        return mask.reshape(len(mask), layer.fan_in)
    if mask.ndim < 2 or mask.shape[1:] != layer.in_shape:
        expect = (
            f"(N, {layer.fan_in}) or a frame of that size"
            if layer.kind == "linear"
            else (f"(N, *{layer.in_shape})")
        )
        raise ValueError(f"input_masks[{layer.name!r}] must have shape {expect}, got {mask.shape}")
    return mask


def engine_stage_cycles(
    layer: LayerSpec, pe: int, simd: int, input_mask: np.ndarray | None, n_frames: int
) -> np.ndarray:
    """(n_frames,) exact cycles of one engine stage. Without activation skipping only the
    weight zeros count, so the mask is not needed and every frame takes the same time."""
    if not layer.act_skip:
        n_work = layer.row_nnz[None, None, :]  # (1, 1, M)
        vectors = engine_cycles_from_work(n_work, pe, simd)[0] - LAYER_OVERHEAD
        total = LAYER_OVERHEAD + vectors * layer.n_vectors
        return np.full(n_frames, total, dtype=np.int64)
    if input_mask is None:
        raise ValueError(
            f"layer {layer.name!r} skips zero activations: input_masks must hold "
            "its input nonzero mask"
        )
    mask = _input_mask(layer, input_mask)
    out = np.empty(len(mask), dtype=np.int64)
    for i, frame in enumerate(mask):  # one frame at a time bounds the window array's memory
        out[i] = engine_cycles_from_work(work_counts(layer, frame)[None], pe, simd)[0]
    return out


def exact_stage_cycles(
    network: Network,
    folding: Folding,
    input_masks: Mapping[str, np.ndarray] | None = None,
    n_frames: int | None = None,
) -> np.ndarray:
    """Exact cycles of every stage for every frame -> (stages, N) int64 (stage 0 = loader).

    Args:
        network: the network.
        folding: PE/SIMD per engine layer.
        input_masks: `{layer_name: bool array}` nonzero masks of each act-skipping layer's
            input, (N, C, H, W) PyTorch layout before padding, or (N, K) for linear layers.
        n_frames: number of frames N; needed only when no masks are given.
    """
    folding.check(network)
    masks = dict(input_masks or {})
    unknown = sorted(set(masks) - {layer.name for layer in network.layers})
    if unknown:
        raise ValueError(f"input_masks names unknown layers {unknown}")
    sizes = {len(np.asarray(m)) for m in masks.values()}
    if n_frames is not None:
        sizes.add(n_frames)
    if len(sizes) != 1:
        raise ValueError(
            f"give n_frames or input_masks, all with the same number of frames; got {sorted(sizes)}"
        )
    n = sizes.pop()
    rows = [np.full(n, loader_cycles(network.layers[0].in_shape), dtype=np.int64)]
    for layer in network.layers:
        if layer.is_engine:
            pe, simd = folding[layer.name]
            rows.append(engine_stage_cycles(layer, pe, simd, masks.get(layer.name), n))
        else:
            rows.append(np.full(n, fixed_stage_cycles(layer), dtype=np.int64))
    return np.stack(rows)


@dataclass(frozen=True)
class Schedule:
    """Per-frame stage times and the start and done cycle of every stage and frame, each
    (stages, N) int64."""

    stage_cycles: np.ndarray
    start: np.ndarray
    done: np.ndarray

    @property
    def total_cycles(self) -> int:
        """Cycles until the last stage finishes the last frame (frame 0 ready at cycle 0)."""
        return int(self.done[-1, -1])


def pipeline_schedule(stage_cycles: np.ndarray, handoff: int = HANDOFF) -> Schedule:
    """Max-plus recurrence of the ping-pong pipeline (SPEC 4):
    `start[l][n] = max(done[l-1][n] + HANDOFF, done[l][n-1], done[l+1][n-2])`,
    `done[l][n] = start[l][n] + T_l(n)`; the loader has no predecessor term and the last stage
    drains immediately."""
    t = np.asarray(stage_cycles, dtype=np.int64)
    n_stages, n_frames = t.shape
    tl = t.tolist()
    done = [[0] * n_frames for _ in range(n_stages)]
    start = [[0] * n_frames for _ in range(n_stages)]
    for n in range(n_frames):
        for s in range(n_stages):
            begin = done[s - 1][n] + handoff if s > 0 else 0
            if n >= 1:
                begin = max(begin, done[s][n - 1])
            if n >= 2 and s + 1 < n_stages:
                begin = max(begin, done[s + 1][n - 2])
            start[s][n] = begin
            done[s][n] = begin + tl[s][n]
    return Schedule(t, np.array(start, dtype=np.int64), np.array(done, dtype=np.int64))


def exact_network_cycles(
    network: Network,
    folding: Folding,
    input_masks: Mapping[str, np.ndarray] | None = None,
    n_frames: int | None = None,
) -> Schedule:
    """Exact schedule of N frames (see `exact_stage_cycles` for the arguments);
    `.total_cycles` is what the RTL simulation must take."""
    return pipeline_schedule(exact_stage_cycles(network, folding, input_masks, n_frames))


def interval_cycles(stage_cycles: np.ndarray) -> np.ndarray:
    """Steady-state interval: the slowest stage, `max_l T_l` over axis 0 (SPEC 4)."""
    return np.max(stage_cycles, axis=0)


def latency_cycles(stage_cycles: np.ndarray, handoff: int = HANDOFF) -> np.ndarray:
    """One frame through an empty pipeline: `sum_l T_l + (stages - 1) * HANDOFF` (SPEC 4)."""
    t = np.asarray(stage_cycles)
    return t.sum(axis=0) + (t.shape[0] - 1) * handoff
