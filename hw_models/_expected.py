"""Expected engine cycles from calibration statistics (SPEC section 5), for every folding.

Model, for one engine and one input vector (window) with `s` nonzero activations out of K:
1. `s` follows the layer's window histogram (`window_nnz_hist`), or Binomial(K, act_density)
   when no histogram is given (i.i.d. activations). The histogram is reduced to at most
   `WINDOW_BINS` equal-mass bins, each represented by its conditional mean of `s`; the window
   count is shared by all lanes, so this is where window-to-window variation enters.
2. Given `s`, the nonzero positions are a uniformly random subset, so the work of row `o`
   (with `z_o` nonzero weights) is hypergeometric, `n_o ~ H(K, z_o, s)`, and rows are
   independent (a good approximation: two random rows' supports overlap about as much as
   independence predicts). This is the fpgaConvNet sparse-window model made exact per row.
3. Row cycles `c_o = max(1, ceil(n_o / SIMD))`: mean and variance from a continuity-corrected
   normal approximation of `n_o`, summing `P(n_o > j*SIMD)` over the few `j` within
   `TAIL_SIGMAS` of the mean; when `sd(n_o) > UNIFORM_SIGMA_RATIO * SIMD` the residue
   `n_o mod SIMD` is uniform to within 1e-2, and `E[c] = (E[n] + (SIMD-1)/2) / SIMD + P(n=0)`.
4. Lane time `L_p = sum_{o mod PE = p} c_o` is approximately normal (mean mu_p, variance
   v_p). `E[max_p L_p]` uses the lower bound `max_k (mean of the k largest mu_p +
   sqrt(mean of their v_p) * e_k)`, with `e_k` the expected maximum of k standard normals
   (tight when lanes are alike or one lane dominates; E[max] is Schur-convex in the means),
   lanes ranked per SIMD by their mean, k on a ~sqrt(2) grid, capped by the largest value any
   lane can take. When every lane owns one row (PE = M) and every row is in the direct regime,
   `E[max_o c_o] = sum_t (1 - prod_o P(n_o <= t*SIMD))` is used instead: a normal lane model
   is poor for rows taking two or three values.
Load imbalance therefore comes from unequal row nonzero counts (exact, deterministic) plus the
data-dependent spread. Without activation skipping the work is `z_o`: the result is exact.
Accuracy against the exact count on random data (tests/hw_models/test_hw_expected.py): about
0.5% mean error per layer and folding, worst case within 8% (lanes of two rows, where the
normal lane model is weakest; there, more weight sparsity can also look up to that much slower).

Computation (`EngineCycles`, `request_many`): the folding-independent statistics of all the
engines of a network are computed in one vectorised pass (steps 1-2), the row moments of step 3
one SIMD option (column) at a time as options are asked for, and the PE options first asked
for together form a batch whose lanes are ranked and bounded together (step 4). A batch's SIMD
columns are independent of each other, so computing only some of them gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from ._contract import LAYER_OVERHEAD, VECTOR_OVERHEAD
from ._cycles import lane_max_table
from ._network import LayerSpec

WINDOW_BINS = 8
LATTICE_POINTS = 8
Z_GRID = 24
TAIL_SIGMAS = 4.0
DIRECT_TERMS = 6  # covers mean +- TAIL_SIGMAS sd while sd <= UNIFORM_SIGMA_RATIO * SIMD
UNIFORM_SIGMA_RATIO = 0.5

_CDF_STEP = 1.0 / 128.0
_CDF_LO = -9.0
_CDF_Y = np.array(
    [
        0.5 * math.erfc(-(_CDF_LO + i * _CDF_STEP) / math.sqrt(2.0))
        for i in range(int(-2 * _CDF_LO / _CDF_STEP) + 2)
    ]
)
_CDF_D = np.diff(_CDF_Y)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF by linear interpolation in a 1/128-step table (error < 1e-5,
    four times faster than np.interp since the grid is uniform)."""
    u = np.asarray((np.asarray(x, dtype=np.float64) - _CDF_LO) / _CDF_STEP)
    np.clip(u, 0.0, len(_CDF_D) - 1.0, out=u)
    below = np.floor(u)  # the table index, as a float: u - i without a conversion
    i = below.astype(np.intp)
    u -= below
    u *= _CDF_D.take(i)
    u += _CDF_Y.take(i)  # = _CDF_Y[i] + (u - i) * _CDF_D[i]
    return u


@cache
def _log_factorials(n: int) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))))


@cache
def _expected_max_normals(k_max: int) -> np.ndarray:
    """e[k] = E[max of k i.i.d. N(0,1)] for k = 0..k_max (e[0] = e[1] = 0), by quadrature of
    `E = int_0^inf (1 - Phi^k) - int_-inf^0 Phi^k` on a 1/50 grid, 512 values of k at a time."""
    x = np.linspace(0.0, 9.0, 451)  # the integrand jumps at 0: integrate each side apart
    log_pos = np.log(normal_cdf(x))
    log_neg = np.log(np.maximum(normal_cdf(-x), 1e-300))
    out = [np.zeros(1)]
    for first in range(1, k_max + 1, 512):
        k = np.arange(first, min(first + 512, k_max + 1), dtype=np.float64)[:, None]
        upper = np.trapezoid(1.0 - np.exp(k * log_pos), x, axis=1)
        lower = np.trapezoid(np.exp(k * log_neg), x, axis=1)
        out.append(upper - lower)
    return np.concatenate(out)


def expected_max_normals(k_max: int) -> np.ndarray:
    """Table of E[max of k standard normals], k = 0..k_max (cached per power of two)."""
    size = 1 << max(0, int(k_max - 1).bit_length())
    return _expected_max_normals(max(size, 1))[: k_max + 1]


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    if p <= 0.0 or p >= 1.0:
        pmf = np.zeros(n + 1)
        pmf[n if p >= 1.0 else 0] = 1.0
        return pmf
    lf = _log_factorials(n)
    k = np.arange(n + 1)
    return np.exp(lf[n] - lf[k] - lf[n - k] + k * math.log(p) + (n - k) * math.log1p(-p))


_EDGES: dict[int, np.ndarray] = {}
_GRID_STEPS = np.arange(Z_GRID, dtype=np.float64)  # np.linspace's sample numbers
_GRID_STEPS.flags.writeable = False


def window_count_bins(layer: LayerSpec, n_bins: int = WINDOW_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Representative nonzero counts `s` per window and their probabilities, both (Q,).

    Atoms are kept exactly when there are at most `n_bins`; otherwise the distribution is cut
    into `n_bins` equal-probability slices (splitting atoms), each at its conditional mean.
    """
    k = layer.fan_in
    hist = layer.window_nnz_hist
    if hist is not None:
        pmf = hist / np.add.reduce(hist)  # = hist.sum(), without its Python wrapper
    else:
        pmf = _binomial_pmf(k, float(layer.act_density))
    support = (pmf > 1e-12).nonzero()[0]
    if len(support) <= n_bins:
        w = pmf[support]
        return support.astype(np.float64), w / w.sum()
    cdf = np.empty(len(support) + 1)
    cdf[0] = 0.0
    np.add.accumulate(pmf[support], out=cdf[1:])  # np.cumsum
    cdf /= cdf[-1]
    # I(u) = integral_0^u quantile(t) dt is piecewise linear with knots at the CDF values.
    integral = np.empty_like(cdf)
    integral[0] = 0.0
    np.add.accumulate(support * (cdf[1:] - cdf[:-1]), out=integral[1:])
    if n_bins not in _EDGES:
        _EDGES[n_bins] = np.linspace(0.0, 1.0, n_bins + 1)
    at_edges = np.interp(_EDGES[n_bins], cdf, integral)
    means = (at_edges[1:] - at_edges[:-1]) * n_bins  # np.diff
    weights = np.empty(n_bins)
    weights.fill(1.0 / n_bins)  # np.full, without its Python overhead
    return means, weights


def row_work_moments(
    z: np.ndarray, s: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hypergeometric work `n ~ H(K, z, s)`: mean, variance, P(n = 0), max, each (E, U, Q),
    for E engines at once: row nonzero counts z (E, U, 1), window counts s (E, 1, Q) and fan-in
    K (E, 1, 1)."""
    z = z.astype(np.float64)
    k_int = np.asarray(k, dtype=np.int64)
    k_f = k_int.astype(np.float64)
    mean = z * s / k_f
    var = mean * (1.0 - s / k_f) * (k_f - z) / np.maximum(k_f - 1.0, 1.0)
    var = np.where(k_int <= 1, 0.0, var)
    lf = _log_factorials(int(k_int.max()))
    si = np.rint(s).astype(np.int64)
    zi = z.astype(np.int64)
    rest = k_int - zi - si
    ok = rest >= 0
    log_p0 = lf[k_int - zi] + lf[k_int - si] - lf[k_int] - lf[np.where(ok, rest, 0)]
    p0 = np.where(ok, np.exp(np.minimum(log_p0, 0.0)), 0.0)
    return mean, np.maximum(var, 0.0), p0, np.minimum(z, s)


def row_cycle_moments(
    mean: np.ndarray,
    var: np.ndarray,
    p0: np.ndarray,
    n_max: np.ndarray,
    simd: np.ndarray,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """E[c] and Var[c] of `c = max(1, ceil(n / SIMD))` (step 3) for several engines: work
    moments (E, 1, U, Q) and SIMD options (E, nS, 1, 1), all C-contiguous -> two
    (E, nS, U, Q) arrays; `valid` (E, nS, U, Q) masks padding out of the direct sums."""
    simd_ = simd.astype(np.float64)
    sd = np.sqrt(var)
    # Uniform residues: E[ceil(n/S)] = (E[n] + (S-1)/2) / S; max(1, .) adds P(n = 0).
    e_c = (mean + (simd_ - 1.0) / 2.0) / simd_ + p0
    var_c = (var + (simd_**2 - 1.0) / 12.0) / simd_**2
    in_direct = sd <= UNIFORM_SIGMA_RATIO * simd_
    if valid is not None:
        in_direct &= valid
    direct = np.flatnonzero(in_direct)
    if len(direct):
        # Direct sums: E[c] = 1 + sum_{j>=1} P(n > jS), E[c^2] = 1 + sum_{j>=1} (2j+1) P(n > jS),
        # as (J, D) terms, so that every operation runs along the D direct entries; entry
        # (e, s, u, q) has the moments (e, 0, u, q) and the SIMD option (e, s, 0, 0)
        n_uq = mean.shape[2] * mean.shape[3]
        per_simd, within = np.divmod(direct, n_uq)
        moment = per_simd // simd.shape[1] * n_uq + within
        m, d, top = (a.reshape(-1).take(moment) for a in (mean, sd, n_max))
        step = simd_.reshape(-1).take(per_simd)
        j_lo = np.maximum(1.0, np.floor((m - TAIL_SIGMAS * d) / step))
        j = j_lo + np.arange(DIRECT_TERMS)[:, None]  # (J, D)
        x = j * step
        # P(n > x) = 0 from the first x >= n_max on: the normal tail only where x < n_max
        live = np.flatnonzero(x < top)
        element = live - live // len(direct) * len(direct)  # its column (faster than %)
        z = (x.reshape(-1).take(live) + 0.5 - m.take(element)) / np.maximum(d, 1e-9).take(element)
        tail = np.zeros(x.shape)
        tail.reshape(-1)[live] = 1.0 - normal_cdf(z)
        weighted = (2.0 * j + 1.0) * tail
        tail_sum, weighted_sum = tail[0], weighted[0]
        for t in range(1, DIRECT_TERMS):  # in order, as ndarray.sum adds a few terms
            tail_sum = tail_sum + tail[t]
            weighted_sum = weighted_sum + weighted[t]
        e_direct = j_lo + tail_sum
        e2_direct = j_lo**2 + weighted_sum
        e_c.reshape(-1)[direct] = e_direct
        var_c.reshape(-1)[direct] = np.maximum(e2_direct - e_direct**2, 0.0)
    return e_c, var_c


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
    lanes: np.ndarray, pes: np.ndarray, weights: np.ndarray, columns: slice | None = None
) -> np.ndarray:
    """`E[max_p L_p]` for independent normal lanes (step 4) for several PE at once.

    `lanes`: (sum(pes), nS, Q, 3) mean, variance and largest possible value of every lane,
    the lanes of each PE option concatenated; `weights`: (Q,) bin probabilities. Lanes are
    ranked once per SIMD by their bin-averaged mean (any subset of lanes gives a valid bound,
    so one ranking for all bins is safe). Returns (nP, nS), averaged over the bins.

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
    return out @ weights


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


def _z_grid(
    z_u: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """At most `Z_GRID` row nonzero counts at which the row moments are evaluated.

    Returns the grid, each distinct count's lower grid neighbour and interpolation weight
    (the moments are smooth in z on the scale of the work's standard deviation, far wider
    than the grid step when there are many distinct counts), and rows per grid point
    (nearest) for the one-row-per-lane maximum.
    """
    if len(z_u) <= Z_GRID:
        grid = np.concatenate((z_u, z_u[-1:]))  # a duplicate end point keeps `lower + 1` valid
        return grid, np.arange(len(z_u)), np.zeros((len(z_u), 1)), np.concatenate((counts, [0]))
    # np.unique(np.rint(np.linspace(z_u[0], z_u[-1], Z_GRID)).astype(np.int64)), the same
    # arithmetic as np.linspace (the end points differ: its step is not zero)
    start, stop = float(z_u[0]), float(z_u[-1])
    points = _GRID_STEPS * ((stop - start) / (Z_GRID - 1))
    points += start
    points[-1] = stop
    grid = np.rint(points).astype(np.int64)
    grid = grid[np.concatenate(([True], grid[1:] != grid[:-1]))]  # sorted: unique
    lower = np.minimum(np.maximum(grid.searchsorted(z_u, side="right") - 1, 0), len(grid) - 2)
    frac = (z_u - grid[lower]) / (grid[lower + 1] - grid[lower])
    nearest = lower + (frac >= 0.5)
    return grid, lower, frac[:, None], np.bincount(nearest, counts, minlength=len(grid))


@dataclass(frozen=True)
class _RowStats:
    """Folding-independent part of a skipping engine's model, shared by all PE options. The
    per-SIMD row moments are filled one SIMD column at a time, as options need them
    (`_fill_columns`); columns not filled yet hold zeros."""

    weights: np.ndarray  # (Q,) window-bin probabilities
    s: np.ndarray  # (Q,) nonzero activations per window of each bin
    z_u: np.ndarray  # (U,) distinct row nonzero counts
    inverse: np.ndarray  # (M,) each row's distinct count
    lower: np.ndarray  # (U,) lower grid neighbour of each distinct count
    frac: np.ndarray  # (U, 1) its interpolation weight
    mean: np.ndarray  # (G, Q) work mean, variance and maximum on the row-nnz grid
    var: np.ndarray
    n_max: np.ndarray
    grid_counts: np.ndarray  # (G,) rows nearest each grid point
    sd_max: float  # largest work standard deviation
    group_moments: np.ndarray  # (4, E, G', Q') mean, variance, P(n = 0), maximum of the
    slot: int  # engines computed together (padded), this engine's index in E
    per_value: np.ndarray  # (U, nS, Q, 3) float32: E[c], Var[c], largest c per distinct count
    filled: np.ndarray  # (nS,) bool: SIMD columns of `per_value` computed


def _distinct(row_nnz: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(row_nnz, return_inverse=True, return_counts=True)` by counting (0 <= z <= K)."""
    tally = np.bincount(row_nnz, minlength=k + 1)
    z_u = tally.nonzero()[0]
    return z_u, z_u.searchsorted(row_nnz), tally[z_u]


def _row_stats_many(layers: Sequence[LayerSpec], n_simd: Sequence[int]) -> list[_RowStats]:
    """The SIMD-independent statistics of several skipping engines, with the work moments of
    all their grids computed together (padded to a common shape)."""
    bins = [window_count_bins(layer) for layer in layers]
    distinct = [_distinct(layer.row_nnz, layer.fan_in) for layer in layers]
    grids = [_z_grid(z_u, counts) for z_u, _, counts in distinct]
    z = np.zeros((len(layers), max(len(g[0]) for g in grids), 1))
    s_all = np.zeros((len(layers), 1, max(len(s) for s, _ in bins)))
    for i, ((grid, *_), (s, _)) in enumerate(zip(grids, bins, strict=True)):
        z[i, : len(grid), 0] = grid
        s_all[i, 0, : len(s)] = s
    k = np.array([layer.fan_in for layer in layers], dtype=np.int64)[:, None, None]
    moments = np.stack(row_work_moments(z, s_all, k))  # mean, var, P(n = 0), max (4, E, G, Q)
    mean, var, _, n_max = moments
    sd_max = np.maximum.reduce(np.sqrt(var), axis=(1, 2)).tolist()  # padding adds zeros
    out = []
    for i, n_s in enumerate(n_simd):
        (s, w), (z_u, inverse, _), (grid, lower, frac, grid_counts) = bins[i], distinct[i], grids[i]
        g, q = len(grid), len(s)
        out.append(
            _RowStats(
                weights=w,
                s=s,
                z_u=z_u,
                inverse=inverse,
                lower=lower,
                frac=frac,
                mean=mean[i, :g, :q],
                var=var[i, :g, :q],
                n_max=n_max[i, :g, :q],
                grid_counts=grid_counts,
                sd_max=sd_max[i],
                group_moments=moments,
                slot=i,
                per_value=np.zeros((len(z_u), n_s, q, 3), dtype=np.float32),
                filled=np.zeros(n_s, dtype=bool),
            )
        )
    return out


def _fill_columns(
    stats: Sequence[_RowStats], simds: Sequence[np.ndarray], columns: Sequence[np.ndarray]
) -> None:
    """Row cycle moments (step 3) of the SIMD options `simds[i][columns[i]]` of several
    engines, in one pass over all their grids (padded to a common shape), then interpolated
    from each grid to every distinct row count."""
    n = len(stats)
    n_s = max(len(cols) for cols in columns)
    group = stats[0].group_moments
    if all(st.group_moments is group for st in stats):  # computed together: already padded
        moments = group[:, [st.slot for st in stats], None]  # (4, E, 1, G, Q)
    else:
        n_g, n_q = max(len(st.mean) for st in stats), max(len(st.s) for st in stats)
        moments = np.zeros((4, n, 1, n_g, n_q))
        for i, st in enumerate(stats):
            moments[:, i, 0, : st.mean.shape[0], : st.mean.shape[1]] = st.group_moments[
                :, st.slot, : st.mean.shape[0], : st.mean.shape[1]
            ]
    n_g, n_q = moments.shape[3:]
    simd_all = np.empty((n, n_s, 1, 1))  # SIMD options (exact as floats)
    simd_all.fill(1.0)
    sizes = np.zeros((3, n, 1), dtype=np.int64)  # SIMD, grid and bin sizes
    for i, (st, cols) in enumerate(zip(stats, columns, strict=True)):
        simd_all[i, : len(cols), 0, 0] = simds[i][cols]
        sizes[:, i, 0] = len(cols), *st.mean.shape
    valid = (  # (E, nS, G, Q) entries that are not padding
        (np.arange(n_s) < sizes[0])[:, :, None, None]
        & (np.arange(n_g) < sizes[1])[:, None, :, None]
        & (np.arange(n_q) < sizes[2])[:, None, None, :]
    )
    e_all, var_all = row_cycle_moments(*moments, simd_all, valid)  # (E, nS, G, Q)
    for i, (st, cols) in enumerate(zip(stats, columns, strict=True)):
        (g, q), nc, u = st.mean.shape, len(cols), len(st.z_u)
        values = np.empty((u, nc, q, 3), dtype=np.float32)
        neighbours = np.concatenate((st.lower, st.lower + 1))  # of each count on the grid
        for j, moment in enumerate((e_all[i, :nc, :g, :q], var_all[i, :nc, :g, :q])):
            ends = moment[:, neighbours].transpose(1, 0, 2)  # interpolate to every count
            low, high = ends[:u], ends[u:]
            values[..., j] = low + st.frac[:, None] * (high - low)
        # largest possible row cycles, max(1, ceil(n / SIMD)): exact in floating point, as
        # SIMD is a power of two
        n_work = np.minimum(st.z_u[:, None], np.rint(st.s))[:, None]  # (U, 1, Q)
        values[..., 2] = np.maximum(np.ceil(n_work / simd_all[i, None, :nc, 0]), 1.0)
        if cols[-1] - cols[0] + 1 == nc:  # a range of SIMD options
            st.per_value[:, cols[0] : cols[-1] + 1] = values
        else:
            st.per_value[:, cols] = values
        st.filled[cols] = True


class EngineCycles:
    """Expected cycles per frame of one engine for its (PE, SIMD) options, computed on demand,
    so a folder never pays for options it cannot afford. Exact (deterministic) when the layer
    does not skip zero activations.

    The PE options first asked for together form a batch, always computed together (the
    lanes of all its options are ranked and bounded in one pass, so a value depends on its
    batch, as it always has), one SIMD column at a time: the columns of a batch are
    independent, each the same whichever others are computed with it. Entries of PE = M that
    `expected_row_max` gives are computed only once asked for. Engines of one network share a
    group (`link`), whose statistics are computed in one pass."""

    def __init__(self, layer: LayerSpec, pes: np.ndarray, simds: np.ndarray) -> None:
        self.layer, self.pes, self.simds = layer, pes, simds
        self.table = np.empty((len(pes), len(simds)))
        self.table.fill(np.nan)  # not computed yet
        self._stats: _RowStats | None = None
        self._group: tuple[EngineCycles, ...] = (self,)
        self._batch_of = np.empty(len(pes), dtype=np.int64)
        self._batch_of.fill(-1)  # not requested yet
        self._batches: list[np.ndarray] = []  # PE option indices of each batch
        self._done: list[np.ndarray] = []  # (nS,) bool: SIMD columns computed per batch
        self._one_row_pending: list[np.ndarray] = []  # (nS,) of PE = M left out (`_compute`)

    @staticmethod
    def link(models: tuple[EngineCycles, ...]) -> None:
        """Let `models` (the engines of one network) compute their statistics together."""
        for model in models:
            model._group = models

    def rows(self, index: np.ndarray) -> np.ndarray:
        """(len(index), nS) expected cycles of the PE options `pes[index]`."""
        index = np.asarray(index, dtype=np.int64)
        request_many([self], [index], [None])
        return self.table[index]

    def full(self) -> np.ndarray:
        """(nP, nS) the whole table."""
        return self.rows(np.arange(len(self.pes)))

    def _plan(
        self, index: np.ndarray, columns: np.ndarray | None, one_row: np.ndarray | None
    ) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Batches (new ones for PE options not requested before), the SIMD columns of each
        still to compute for `index` x `columns`, and the SIMD options of PE = M (one row per
        lane) wanted, `one_row` (None: all, as for `columns`)."""
        n_s = len(self.simds)
        asked = np.zeros(len(self.pes), dtype=bool)
        asked[index] = True
        new = (asked & (self._batch_of < 0)).nonzero()[0]  # np.unique, sorted
        if len(new):
            self._batch_of[new] = len(self._batches)
            self._batches.append(new)
            self._done.append(np.zeros(n_s, dtype=bool))
            self._one_row_pending.append(np.zeros(n_s, dtype=bool))
        want = np.ones(n_s, dtype=bool) if columns is None else columns
        want_one = np.ones(n_s, dtype=bool) if one_row is None else one_row
        plan = []
        for b in sorted(set(self._batch_of[asked].tolist())):
            todo = want & ~self._done[b]
            if todo.any() or (want_one & self._one_row_pending[b]).any():
                plan.append((b, todo, want_one))
        return plan

    def _compute(self, b: int, todo: np.ndarray, one_row: np.ndarray) -> None:
        """Fill the SIMD columns `todo` of batch b (their statistics already filled). When the
        batch has PE = M, its entries in the regime of `expected_row_max` (direct) are only
        computed for the SIMD options `one_row` (others wait, NaN, until asked for)."""
        layer, simds, index = self.layer, self.simds, self._batches[b]
        pes = self.pes[index]
        if not layer.act_skip:
            table = lane_max_table(layer.row_nnz, pes, simds).astype(np.float64)
            self.table[index] = LAYER_OVERHEAD + layer.n_vectors * (VECTOR_OVERHEAD + table)
            self._done[b][:] = True
            return
        st = self._stats
        assert st is not None and st.filled[todo].all()
        if todo.any():
            # the lanes hold every SIMD option, so that the matrix products see the full shape
            # and round as for the whole table, but only the span of `todo` is summed and
            # bounded (the rest stays zero); only `todo` is kept
            cols = todo.nonzero()[0]
            span = slice(int(cols[0]), int(cols[-1]) + 1)
            rows = st.per_value[:, span][st.inverse]  # (M, span, Q, 3)
            lanes = np.zeros((int(pes.sum()), len(simds), *rows.shape[2:]), dtype=rows.dtype)
            start = 0
            for pe in pes.tolist():  # lane p: rows p, p + PE, ... summed in order (np.sum)
                lane_rows = rows.reshape(-1, pe, *rows.shape[1:])
                np.add.reduce(lane_rows, axis=0, out=lanes[start : start + pe, span])
                start += pe
            table = expected_lane_max(lanes, pes, st.weights, span)  # (nP, nS)
            table = LAYER_OVERHEAD + layer.n_vectors * (VECTOR_OVERHEAD + table)
            self.table[index[:, None], cols] = table[:, cols]
            self._done[b] |= todo
        if pes[-1] == layer.rows:  # PE = M: one row per lane, where direct
            direct = st.sd_max <= UNIFORM_SIGMA_RATIO * simds
            pending = self._one_row_pending[b]
            pending |= direct & todo
            now = pending & one_row
            if now.any():
                row_max = expected_row_max(
                    st.mean, st.var, st.n_max, st.grid_counts, simds[direct], st.weights,
                    now[direct],
                )  # fmt: skip
                cycles = LAYER_OVERHEAD + layer.n_vectors * (VECTOR_OVERHEAD + row_max)
                self.table[index[-1], now] = cycles[now[direct]]
                pending &= ~now
            self.table[index[-1], pending] = np.nan


def request_many(
    models: Sequence[EngineCycles],
    indices: Sequence[np.ndarray],
    columns: Sequence[np.ndarray | None],
    one_row: Sequence[np.ndarray | None] | None = None,
) -> None:
    """Compute the SIMD columns `columns[i]` (bool (nS,), None: all) of the PE options
    `indices[i]` of each of `models`, the statistics of all of them in one pass; of PE = M,
    only the SIMD options `one_row[i]` are needed (None: as `columns`)."""
    if one_row is None:
        one_row = columns
    plans = [m._plan(i, c, o) for m, i, c, o in zip(models, indices, columns, one_row, strict=True)]
    need: dict[int, tuple[EngineCycles, np.ndarray]] = {}  # per model: SIMD columns to fill
    for model, plan in zip(models, plans, strict=True):
        if model.layer.act_skip and plan:
            cols = plan[0][1]
            for _, todo, _ in plan[1:]:
                cols = cols | todo
            prev = need.get(id(model))
            need[id(model)] = (model, cols if prev is None else prev[1] | cols)
    if need:
        lacking: list[EngineCycles] = []  # statistics of the whole group at once
        for model, _ in need.values():
            if model._stats is None:
                lacking += [
                    m
                    for m in model._group
                    if m.layer.act_skip and m._stats is None and m not in lacking
                ]
        if lacking:
            stats = _row_stats_many([m.layer for m in lacking], [len(m.simds) for m in lacking])
            for model, st in zip(lacking, stats, strict=True):
                model._stats = st
        fill = []
        for model, cols in need.values():
            assert model._stats is not None
            missing = (cols & ~model._stats.filled).nonzero()[0]
            if len(missing):
                fill.append((model, missing))
        if fill:
            _fill_columns(
                [m._stats for m, _ in fill],  # type: ignore[misc]
                [m.simds for m, _ in fill],
                [cols for _, cols in fill],
            )
    for model, plan in zip(models, plans, strict=True):
        for b, todo, one in plan:
            model._compute(b, todo, one)


def engine_cycle_table(layer: LayerSpec, pes: np.ndarray, simds: np.ndarray) -> np.ndarray:
    """Expected cycles per frame of an engine for every (PE, SIMD) option -> (nP, nS)."""
    return EngineCycles(layer, pes, simds).full()
