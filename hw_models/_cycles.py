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
    DEFAULT_BANKS,
    ENGINE_DRAIN,
    ENGINE_FILL,
    FIXED_DRAIN,
    FIXED_KINDS,
    HANDOFF,
    INPUT_NAME,
    LOADER_PIXELS_PER_CYCLE,
    NORM_KINDS,
    NORM_PASSES,
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


def loader_cycles(in_shape: tuple[int, int, int], px: int = 1) -> int:
    """Loader stage: `px` pixels (all channels) per cycle, `H * W / px` (SPEC 2)."""
    return in_shape[1] * in_shape[2] // (LOADER_PIXELS_PER_CYCLE * px)


def fixed_stage_cycles(layer: LayerSpec, px: int = 1) -> int:
    """Max-pool: `px` output pixels per cycle; add: one pixel per cycle; norm and softmax: one
    pixel per cycle in each of their two passes (SPEC 2)."""
    if layer.kind not in FIXED_KINDS:
        raise ValueError(f"layer {layer.name!r}: {layer.kind} is an engine, not a fixed stage")
    passes = NORM_PASSES if layer.kind in NORM_KINDS else 1
    return passes * layer.out_shape[1] * layer.out_shape[2] // px


def vector_cycles_from_work(n_work: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """Cycles of each vector from work counts `n(o, w)` of shape (N, vectors, M) ->
    (N, vectors): `max_p L_p(w)`, lanes synchronous per vector (SPEC 3)."""
    return lane_max_cycles(row_cycles(n_work, simd), pe)


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


def engine_stage_work(
    layer: LayerSpec,
    pe: int,
    simd: int,
    input_mask: np.ndarray | None,
    n_frames: int,
    px: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact work of one engine stage -> (n_frames,) cycles per frame and (n_frames,) cycles
    of the frame's last group (the schedule needs both, SPEC 4). A group is `px` consecutive
    windows of a row, one per slot of lanes, and takes its slowest window's `max_p L_p`; a
    frame's work is the sum over its groups. Without activation skipping only the weight zeros
    count, so the mask is not needed and every frame and group takes the same time."""
    if not layer.act_skip:
        per_vector = int(vector_cycles_from_work(layer.row_nnz[None, None, :], pe, simd)[0, 0])
        work = np.full(n_frames, per_vector * (layer.n_vectors // px), dtype=np.int64)
        return work, np.full(n_frames, per_vector, dtype=np.int64)
    if input_mask is None:
        raise ValueError(
            f"layer {layer.name!r} skips zero activations: input_masks must hold "
            "its input nonzero mask"
        )
    mask = _input_mask(layer, input_mask)
    work = np.empty(len(mask), dtype=np.int64)
    last = np.empty(len(mask), dtype=np.int64)
    for i, frame in enumerate(mask):  # one frame at a time bounds the window array's memory
        per_vector = vector_cycles_from_work(work_counts(layer, frame)[None], pe, simd)[0]
        per_group = per_vector.reshape(-1, px).max(axis=1)  # row-major: px windows of a row
        work[i], last[i] = per_group.sum(), per_group[-1]
    return work, last


STAGE_ROLES = ("loader", "engine", "fixed")


def stage_roles(network: Network) -> tuple[str, ...]:
    """Timing role of every stage (SPEC 4): the loader, engines, and fixed stages."""
    return ("loader", *("engine" if layer.is_engine else "fixed" for layer in network.layers))


@dataclass(frozen=True)
class StageTimes:
    """What the schedule needs of every stage and frame: its role, its work `T_l(n)` (the
    cycles it is busy with the frame, its steady-state interval) and, for engines, the cycles
    of the frame's last vector (when the engine releases its input); arrays (stages, N)."""

    roles: tuple[str, ...]
    work: np.ndarray
    last: np.ndarray

    def __post_init__(self) -> None:
        if self.work.shape != self.last.shape or self.work.shape[0] != len(self.roles):
            raise ValueError("StageTimes: roles, work and last must describe the same stages")
        unknown = sorted(set(self.roles) - set(STAGE_ROLES))
        if unknown:
            raise ValueError(f"StageTimes: unknown stage roles {unknown}")


def exact_stage_times(
    network: Network,
    folding: Folding,
    input_masks: Mapping[str, np.ndarray] | None = None,
    n_frames: int | None = None,
) -> StageTimes:
    """Exact work of every stage for every frame (stage 0 = loader).

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
    zeros = np.zeros(n, dtype=np.int64)
    loader = loader_cycles(network.layers[0].in_shape, folding.px(INPUT_NAME))
    work = [np.full(n, loader, dtype=np.int64)]
    last = [zeros]
    for layer in network.layers:
        px = folding.px(layer.name)
        if layer.is_engine:
            pe, simd = folding[layer.name]
            mask = masks.get(layer.name)
            stage_work, stage_last = engine_stage_work(layer, pe, simd, mask, n, px)
            work.append(stage_work)
            last.append(stage_last)
        else:
            work.append(np.full(n, fixed_stage_cycles(layer, px), dtype=np.int64))
            last.append(zeros)
    return StageTimes(stage_roles(network), np.stack(work), np.stack(last))


def exact_stage_cycles(
    network: Network,
    folding: Folding,
    input_masks: Mapping[str, np.ndarray] | None = None,
    n_frames: int | None = None,
) -> np.ndarray:
    """(stages, N) exact work `T_l(n)` of every stage and frame (see `exact_stage_times`)."""
    return exact_stage_times(network, folding, input_masks, n_frames).work


@dataclass(frozen=True)
class Schedule:
    """Stage times and the start, release and done cycle of every stage and frame, each
    (stages, N) int64. `release` is when a stage no longer needs the frame's input buffer
    (the loader's is its done)."""

    times: StageTimes
    start: np.ndarray
    release: np.ndarray
    done: np.ndarray

    @property
    def stage_cycles(self) -> np.ndarray:
        """(stages, N) work of every stage and frame."""
        return self.times.work

    @property
    def total_cycles(self) -> int:
        """Cycles until the last stage finishes the last frame (frame 0 ready at cycle 0)."""
        return int(self.done[-1, -1])


def pipeline_schedule(
    times: StageTimes, handoff: int = HANDOFF, banks: np.ndarray | None = None
) -> Schedule:
    """Max-plus recurrence of the overlapped pipeline (SPEC 4), the buffer after stage l
    holding `B_l = banks[l]` frames (default 2, ping-pong).

    `start[l][n] = max(done[l-1][n] + HANDOFF, release[l][n-1], release[l+1][n-B_l])`: input
    complete, the stage ready for a new frame, a free output bank. Then, by role:
    loader `done = release = start + T`; fixed `release = start + T`,
    `done = release + FIXED_DRAIN`; engine: the frame's first vector enters the lanes at
    `a = max(start + ENGINE_FILL, b[n-1])` (after the previous frame's last vector),
    the lanes finish it at `b = a + T`, the input is released when the last vector enters
    the lanes, `release = b - last`, and `done = b + ENGINE_DRAIN`.
    The loader has no predecessor term and the last stage no successor term.
    """
    work, last = times.work.tolist(), times.last.tolist()
    fill = [stage_fill(role) for role in times.roles]
    drain = [stage_drain(role) for role in times.roles]
    n_stages, n_frames = times.work.shape
    frames = [DEFAULT_BANKS] * (n_stages - 1) if banks is None else [int(b) for b in banks]
    start = [[0] * n_frames for _ in range(n_stages)]
    release = [[0] * n_frames for _ in range(n_stages)]
    done = [[0] * n_frames for _ in range(n_stages)]
    lanes_free = [0] * n_stages  # b[n-1]: last compute cycle of an engine's previous frame
    for n in range(n_frames):
        for s, role in enumerate(times.roles):
            begin = done[s - 1][n] + handoff if s > 0 else 0
            if n >= 1:
                begin = max(begin, release[s][n - 1])
            if s + 1 < n_stages and n >= frames[s]:
                begin = max(begin, release[s + 1][n - frames[s]])
            start[s][n] = begin
            if role == "engine":
                end = max(begin + fill[s], lanes_free[s]) + work[s][n]
                lanes_free[s] = end
                release[s][n] = end - last[s][n]
            else:
                end = release[s][n] = begin + work[s][n]
            done[s][n] = end + drain[s]
    return Schedule(
        times,
        np.array(start, dtype=np.int64),
        np.array(release, dtype=np.int64),
        np.array(done, dtype=np.int64),
    )


def exact_network_cycles(
    network: Network,
    folding: Folding,
    input_masks: Mapping[str, np.ndarray] | None = None,
    n_frames: int | None = None,
) -> Schedule:
    """Exact schedule of N frames (see `exact_stage_times` for the arguments);
    `.start`/`.done` are what the RTL simulation must record, `.total_cycles` what it takes."""
    times = exact_stage_times(network, folding, input_masks, n_frames)
    return pipeline_schedule(times, banks=folding.bank_counts(network))


def stage_fill(role: str) -> int:
    """Cycles a stage spends before its work on a frame: only engines fill (SPEC 4)."""
    return ENGINE_FILL if role == "engine" else 0


def stage_drain(role: str) -> int:
    """Cycles from a stage's last work cycle to its done pulse (SPEC 4)."""
    return {"engine": ENGINE_DRAIN, "fixed": FIXED_DRAIN, "loader": 0}[role]


def buffer_spans(
    roles: tuple[str, ...], work: np.ndarray, last: np.ndarray, handoff: int = HANDOFF
) -> np.ndarray:
    """(stages - 1, ...) cycles each buffer's frame is held, from its producer's start to its
    consumer's release: `F_p + T_p + D_p + HANDOFF + F_c + T_c - last_c` (SPEC 4), for stage
    work (stages, ...) and engines' last-vector cycles."""
    work, last = np.asarray(work, dtype=np.float64), np.asarray(last, dtype=np.float64)
    fill = np.array([stage_fill(r) for r in roles], dtype=np.float64)
    drain = np.array([stage_drain(r) for r in roles], dtype=np.float64)
    shape = (-1,) + (1,) * (work.ndim - 1)
    fill, drain = fill.reshape(shape), drain.reshape(shape)
    return (fill + work + drain)[:-1] + handoff + (fill + work - last)[1:]


def steady_interval(
    roles: tuple[str, ...],
    work: np.ndarray,
    last: np.ndarray,
    handoff: int = HANDOFF,
    banks: np.ndarray | None = None,
) -> np.ndarray:
    """Steady-state cycles per frame of the overlapped pipeline from stage work (stages, ...)
    and engines' last-vector cycles (SPEC 4): the slowest stage, unless two neighbours'
    fill, work and drain do not fit in the B banks of the buffer between them (`banks`,
    (stages - 1,), default 2): the producer's frame n + B may start only when the consumer
    released frame n, so `B * interval >= buffer_spans(...)`. `banks` may also be shaped like
    `work[1:]`, one set per candidate."""
    work = np.asarray(work, dtype=np.float64)
    span = buffer_spans(roles, work, last, handoff)
    frames = np.full(len(span), DEFAULT_BANKS) if banks is None else np.asarray(banks)
    if frames.ndim == 1:
        frames = frames.reshape((-1,) + (1,) * (work.ndim - 1))
    per_frame = span / frames
    return np.maximum(work.max(axis=0), per_frame.max(axis=0, initial=0.0))


def latency_cycles(roles: tuple[str, ...], work: np.ndarray, handoff: int = HANDOFF) -> np.ndarray:
    """One frame through an empty pipeline: every stage's fill, work and drain plus the
    handoffs, `sum_l (F_l + T_l + D_l) + (stages - 1) * HANDOFF` (SPEC 4)."""
    work = np.asarray(work)
    overhead = sum(stage_fill(r) + stage_drain(r) for r in roles)
    return work.sum(axis=0) + overhead + (work.shape[0] - 1) * handoff
