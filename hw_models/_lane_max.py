"""Step 4 of the expected-cycles model (`_expected.py`): the expected slowest lane.

Lane time `L_p = sum_{o mod PE = p} c_o` is taken as normal; `E[max_p L_p]` is bounded below by
`max_k (mean of the k largest mu_p + sqrt(mean of their v_p) * e_k)` (`expected_lane_max`),
or, when every lane owns one row, computed on the integer lattice of row cycles
(`expected_row_max`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from ._row_work import TAIL_SIGMAS, expected_max_normals, normal_cdf

LATTICE_POINTS = 8


def _segments(sizes: np.ndarray) -> np.ndarray:
    """Start index of each segment when segments of `sizes` are concatenated."""
    return np.concatenate(([0], np.cumsum(sizes)[:-1]))


@cache
def _top_counts(pe: int) -> np.ndarray:
    """Numbers k of top lanes tried in the bound: 1..4, then steps of about sqrt(2), and PE."""
    steps = np.rint(4.0 * np.sqrt(2.0) ** np.arange(2 * max(1, pe.bit_length())))
    k = np.concatenate((np.arange(1, 5), steps, [pe]))
    return np.unique(k[k <= pe]).astype(np.int64)


@dataclass(frozen=True)
class _LaneLayout:
    """Index arrays for the lanes of several PE options concatenated."""

    starts: np.ndarray  # (nP,) each option's first lane
    segment: np.ndarray  # (lanes, 1) each lane's option
    block_start: np.ndarray  # (B,) blocks of lanes between consecutive tried k (their sums
    k: np.ndarray  # (B, 1, 1, 1) each block's k                  give the top-k sums)
    first_block: np.ndarray  # (nP,) each option's first block
    base: np.ndarray  # (B,) row of [0, cumsum of blocks] summing the options before its own
    e_k: np.ndarray  # (B, 1, 1) E[max of k standard normals] of each block


@lru_cache(maxsize=1024)
def _lane_layout(pes: tuple[int, ...]) -> _LaneLayout:
    """The layout of the lanes of the PE options `pes` (cached: a few PE sets recur)."""
    sizes = np.array(pes)
    starts = _segments(sizes)
    ks = [_top_counts(pe) for pe in pes]
    block_start = np.concatenate(
        [st + np.concatenate(([0], kk[:-1])) for st, kk in zip(starts, ks, strict=True)]
    )
    n_blocks = np.array([len(kk) for kk in ks])
    k = np.concatenate(ks)
    first_block = _segments(n_blocks)
    owner = np.repeat(np.arange(len(pes)), n_blocks)
    return _LaneLayout(
        starts=starts,
        segment=np.repeat(np.arange(len(pes)), sizes)[:, None],
        block_start=block_start,
        k=k[:, None, None, None],
        first_block=first_block,
        base=first_block[owner],
        e_k=expected_max_normals(int(sizes.max()))[k][:, None, None],
    )


def expected_lane_max(
    lanes: np.ndarray,
    pes: np.ndarray,
    weights: np.ndarray,
    columns: slice | None = None,
    per_bin: bool = False,
) -> np.ndarray:
    """`E[max_p L_p]` for independent normal lanes (step 4) for several PE at once.

    `lanes`: (sum(pes), nS, Q, 3) mean, variance and largest possible value of every lane,
    the lanes of each PE option concatenated; `weights`: (Q,) bin probabilities. Lanes are
    ranked once per SIMD by their bin-averaged mean (any subset of lanes gives a valid bound,
    so one ranking for all bins is safe). Returns (nP, nS), averaged over the bins, or with
    `per_bin` (nP, nS, Q), each bin's value.

    With `columns`, only those SIMD columns are computed (the others are left at 0); the
    matrix products still see every column, so that each column rounds as in the full table.
    """
    lay = _lane_layout(tuple(pes.tolist()))
    # rank each option's lanes by decreasing bin-averaged mean, per SIMD
    key = lanes[..., 0] @ weights.astype(np.float32)  # (lanes, nS)
    n_simd = lanes.shape[1]
    cols = np.arange(n_simd)
    if columns is not None:
        key, cols = key[:, columns], cols[columns]
    top_key = float(np.maximum.reduce(key, axis=None))  # key.max()
    order = (lay.segment * (top_key + 1.0) - key).argsort(axis=0)  # (lanes, nC)
    flat = lanes.reshape(-1, *lanes.shape[2:])  # rows (lane, simd), contiguous (Q, 3) each
    lanes = flat[order * n_simd + cols]
    blocks = np.add.reduceat(lanes[..., :2], lay.block_start, axis=0)  # (B, nC, Q, 2)
    total = blocks.cumsum(axis=0)
    # sums of the blocks of each option before the current one (zero for its first block)
    base = np.concatenate((np.zeros((1, *total.shape[1:]), total.dtype), total))[lay.base]
    top = (total - base) / lay.k  # mean of the top-k lanes' moments
    bound = top[..., 0] + np.sqrt(top[..., 1]) * lay.e_k  # (B, nC, Q)
    best = np.maximum.reduceat(bound, lay.first_block, axis=0)
    lane_cap = np.maximum.reduceat(lanes[..., 2], lay.starts, axis=0)
    out = np.minimum(best, lane_cap)
    if columns is not None:
        out_all = np.zeros((len(pes), n_simd, out.shape[2]))
        out_all[:, columns] = out
        out = out_all
    return out if per_bin else out @ weights


def expected_max_of_draws(values: np.ndarray, weights: np.ndarray, draws: int) -> np.ndarray:
    """`E[max of draws]` of independent draws of a value that is `values[..., q]` with
    probability `weights[q]` -> values.shape[:-1] (order statistics of a discrete law)."""
    order = np.argsort(values, axis=-1)
    v = np.take_along_axis(values, order, axis=-1)
    cdf = np.cumsum(weights[order], axis=-1)
    prev = np.concatenate((np.zeros_like(cdf[..., :1]), cdf[..., :-1]), axis=-1)
    return (v * (cdf**draws - prev**draws)).sum(axis=-1)


def expected_row_max(
    mean: np.ndarray,
    var: np.ndarray,
    n_max: np.ndarray,
    counts: np.ndarray,
    simd: np.ndarray,
    weights: np.ndarray,
    need: np.ndarray | None = None,
) -> np.ndarray:
    """`E[max_o c_o]` when every lane owns one row (PE = M), from the rows' work directly.

    `max_o c_o <= t` iff every `n_o <= t * SIMD`, so `E = sum_{t>=0} (1 - prod_o P(n_o <=
    t*SIMD))` on the integer lattice of t (`LATTICE_POINTS` values from the first t any row
    can exceed). Used where every row is in the direct regime, where row cycles take two or
    three values and a normal lane model is poor. `mean`, `var`, `n_max`: (U, Q) per
    distinct row; `counts`: (U,) rows per distinct value; `simd`: (nS,). Returns (nS,);
    with `need` ((nS,) bool), only those entries are computed (the matrix products still
    see every SIMD, so that each rounds as when all are computed).
    """
    sd = np.sqrt(var)
    simd_ = simd.astype(np.float64)[:, None, None]  # (nS, 1, 1)
    lo = np.maximum(1.0, np.floor((mean - TAIL_SIGMAS * sd) / simd_).max(axis=1))  # (nS, Q)
    x = (lo[..., None] + np.arange(LATTICE_POINTS)) * simd_  # work thresholds (nS, Q, G)
    n_u, (n_s, n_q, n_g) = len(counts), x.shape
    rows = np.arange(n_s) if need is None else need.nonzero()[0]
    # entries (u, s, q, g) of the rows needed, flat, with their x (s, q, g) and row (u, q)
    at_x, at_row = _row_max_layout(n_u, n_s, n_q, n_g, tuple(rows.tolist()))
    x_at = x.reshape(-1).take(at_x)
    z = (x_at + 0.5 - mean.reshape(-1).take(at_row)) / np.maximum(sd, 1e-9).reshape(-1).take(at_row)
    cdf = np.where(x_at >= n_max.reshape(-1).take(at_row), 1.0, normal_cdf(z))
    log_cdf = np.log(np.maximum(cdf, 1e-300))
    if len(rows) < n_s:  # the others are not needed: any value (0) rounds the same
        log_need, log_cdf = log_cdf, np.zeros((n_u, n_s, n_q * n_g))
        log_cdf[:, rows] = log_need.reshape(n_u, len(rows), -1)
    # np.tensordot(counts, log_cdf (nS, U, Q, G), (0, 1)): the same (1, U) x (U, nS Q G)
    # product, on the (U, nS, Q, G) layout this builds directly
    product = np.dot(counts.astype(np.float64).reshape(1, n_u), log_cdf.reshape(n_u, -1))
    log_all = product.reshape(n_s, n_q, n_g)
    return (lo + (1.0 - np.exp(log_all)).sum(axis=-1)) @ weights


@lru_cache(maxsize=1024)
def _row_max_layout(
    n_u: int, n_s: int, n_q: int, n_g: int, rows: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices, for the entries (u, s, q, g) with s in `rows`, of their work threshold in
    an (nS, Q, G) array and of their row's moments in a (U, Q) array."""
    u, s, q, g = np.ix_(
        np.arange(n_u), np.array(rows, dtype=np.int64), np.arange(n_q), np.arange(n_g)
    )
    shape = (n_u, len(rows), n_q, n_g)
    at_x = np.broadcast_to((s * n_q + q) * n_g + g, shape).reshape(-1)
    at_row = np.broadcast_to(u * n_q + q, shape).reshape(-1)
    at_x.flags.writeable = at_row.flags.writeable = False
    return at_x, at_row
