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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from ._contract import LAYER_OVERHEAD, VECTOR_OVERHEAD
from ._cycles import lane_max_table, row_cycles
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
    u = np.clip((np.asarray(x, dtype=np.float64) - _CDF_LO) / _CDF_STEP, 0.0, len(_CDF_D) - 1.0)
    i = u.astype(np.intp)
    return _CDF_Y[i] + (u - i) * _CDF_D[i]


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


def window_count_bins(layer: LayerSpec, n_bins: int = WINDOW_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Representative nonzero counts `s` per window and their probabilities, both (Q,).

    Atoms are kept exactly when there are at most `n_bins`; otherwise the distribution is cut
    into `n_bins` equal-probability slices (splitting atoms), each at its conditional mean.
    """
    k = layer.fan_in
    if layer.window_nnz_hist is not None:
        pmf = layer.window_nnz_hist / layer.window_nnz_hist.sum()
    else:
        pmf = _binomial_pmf(k, float(layer.act_density))
    support = np.flatnonzero(pmf > 1e-12)
    if len(support) <= n_bins:
        w = pmf[support]
        return support.astype(np.float64), w / w.sum()
    cdf = np.concatenate(([0.0], np.cumsum(pmf[support])))
    cdf /= cdf[-1]
    # I(u) = integral_0^u quantile(t) dt is piecewise linear with knots at the CDF values.
    integral = np.concatenate(([0.0], np.cumsum(support * np.diff(cdf))))
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    means = np.diff(np.interp(edges, cdf, integral)) * n_bins
    return means, np.full(n_bins, 1.0 / n_bins)


def row_work_moments(
    z: np.ndarray, s: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hypergeometric work `n ~ H(K, z, s)`: mean, variance, P(n = 0), max, each (U, Q)."""
    z = z.astype(np.float64)[:, None]
    s_ = s[None, :]
    mean = z * s_ / k
    var = np.zeros_like(mean) if k <= 1 else mean * (1.0 - s_ / k) * (k - z) / (k - 1)
    lf = _log_factorials(k)
    si = np.rint(s_).astype(np.int64)
    zi = z.astype(np.int64)
    rest = k - zi - si
    ok = rest >= 0
    log_p0 = lf[k - zi] + lf[k - si] - lf[k] - lf[np.where(ok, rest, 0)]
    p0 = np.where(ok, np.exp(np.minimum(log_p0, 0.0)), 0.0)
    return mean, np.maximum(var, 0.0), p0, np.minimum(z, s_)


def row_cycle_moments(
    mean: np.ndarray, var: np.ndarray, p0: np.ndarray, n_max: np.ndarray, simd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """E[c] and Var[c] of `c = max(1, ceil(n / SIMD))` (step 3) -> two (nS, U, Q) arrays."""
    simd_ = simd.astype(np.float64)[:, None, None]
    sd = np.sqrt(var)
    # Uniform residues: E[ceil(n/S)] = (E[n] + (S-1)/2) / S; max(1, .) adds P(n = 0).
    e_c = (mean + (simd_ - 1.0) / 2.0) / simd_ + p0
    var_c = (var + (simd_**2 - 1.0) / 12.0) / simd_**2
    direct = np.nonzero(sd <= UNIFORM_SIGMA_RATIO * simd_)
    if len(direct[0]):
        # Direct sums: E[c] = 1 + sum_{j>=1} P(n > jS), E[c^2] = 1 + sum_{j>=1} (2j+1) P(n > jS).
        u_q = direct[1:]
        m, d, top = mean[u_q][:, None], sd[u_q][:, None], n_max[u_q][:, None]
        step = simd.astype(np.float64)[direct[0]][:, None]
        j_lo = np.maximum(1.0, np.floor((m - TAIL_SIGMAS * d) / step))
        j = j_lo + np.arange(DIRECT_TERMS)  # (D, J)
        x = j * step
        tail = np.where(x >= top, 0.0, 1.0 - normal_cdf((x + 0.5 - m) / np.maximum(d, 1e-9)))
        e_direct = j_lo[:, 0] + tail.sum(axis=1)
        e2_direct = j_lo[:, 0] ** 2 + ((2.0 * j + 1.0) * tail).sum(axis=1)
        e_c[direct] = e_direct
        var_c[direct] = np.maximum(e2_direct - e_direct**2, 0.0)
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


@lru_cache(maxsize=1024)
def _lane_layout(pes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Index arrays for lanes of several PE options concatenated: segment starts, blocks of
    lanes between consecutive tried k (their sums give the top-k sums), each block's k, its
    segment, and each segment's first block."""
    sizes = np.array(pes)
    starts = _segments(sizes)
    ks = [_top_counts(pe) for pe in pes]
    block_start = np.concatenate(
        [st + np.concatenate(([0], kk[:-1])) for st, kk in zip(starts, ks, strict=True)]
    )
    n_blocks = np.array([len(kk) for kk in ks])
    return (
        starts,
        block_start,
        np.concatenate(ks),
        np.repeat(np.arange(len(pes)), n_blocks),
        _segments(n_blocks),
    )


def expected_lane_max(lanes: np.ndarray, pes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`E[max_p L_p]` for independent normal lanes (step 4) for several PE at once.

    `lanes`: (sum(pes), nS, Q, 3) mean, variance and largest possible value of every lane,
    the lanes of each PE option concatenated; `weights`: (Q,) bin probabilities. Lanes are
    ranked once per SIMD by their bin-averaged mean (any subset of lanes gives a valid bound,
    so one ranking for all bins is safe). Returns (nP, nS), averaged over the bins.
    """
    starts, block_start, k, owner, first_block = _lane_layout(tuple(int(p) for p in pes))
    # rank each option's lanes by decreasing bin-averaged mean, per SIMD
    key = lanes[..., 0] @ weights.astype(np.float32)  # (lanes, nS)
    segment = np.repeat(np.arange(len(pes)), pes)[:, None]
    order = np.argsort(segment * (float(key.max()) + 1.0) - key, axis=0)  # (lanes, nS)
    n_simd = lanes.shape[1]
    flat = lanes.reshape(-1, *lanes.shape[2:])  # rows (lane, simd), contiguous (Q, 3) each
    lanes = flat[order * n_simd + np.arange(n_simd)]
    blocks = np.add.reduceat(lanes[..., :2], block_start, axis=0)  # (B, nS, Q, 2)
    total = np.cumsum(blocks, axis=0)
    base = np.concatenate((np.zeros_like(total[:1]), total[first_block[1:] - 1]))[owner]
    top = (total - base) / k[:, None, None, None]  # mean of the top-k lanes' moments
    e_k = expected_max_normals(int(pes.max()))[k][:, None, None]
    bound = top[..., 0] + np.sqrt(top[..., 1]) * e_k  # (B, nS, Q)
    best = np.maximum.reduceat(bound, first_block, axis=0)
    lane_cap = np.maximum.reduceat(lanes[..., 2], starts, axis=0)
    return np.minimum(best, lane_cap) @ weights


def expected_row_max(
    mean: np.ndarray,
    var: np.ndarray,
    n_max: np.ndarray,
    counts: np.ndarray,
    simd: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """`E[max_o c_o]` when every lane owns one row (PE = M), from the rows' work directly.

    `max_o c_o <= t` iff every `n_o <= t * SIMD`, so `E = sum_{t>=0} (1 - prod_o P(n_o <=
    t*SIMD))` on the integer lattice of t (`LATTICE_POINTS` values from the first t any row
    can exceed). Used where every row is in the direct regime, where row cycles take two or
    three values and a normal lane model is poor. `mean`, `var`, `n_max`: (U, Q) per
    distinct row; `counts`: (U,) rows per distinct value; `simd`: (nS,). Returns (nS,).
    """
    sd = np.sqrt(var)
    simd_ = simd.astype(np.float64)[:, None, None]  # (nS, 1, 1)
    lo = np.maximum(1.0, np.floor((mean - TAIL_SIGMAS * sd) / simd_).max(axis=1))  # (nS, Q)
    x = (lo[..., None] + np.arange(LATTICE_POINTS)) * simd_  # work thresholds (nS, Q, G)
    z = (x[:, None] + 0.5 - mean[None, :, :, None]) / np.maximum(sd, 1e-9)[None, :, :, None]
    cdf = np.where(x[:, None] >= n_max[None, :, :, None], 1.0, normal_cdf(z))  # (nS, U, Q, G)
    log_all = np.tensordot(counts.astype(np.float64), np.log(np.maximum(cdf, 1e-300)), (0, 1))
    return (lo + (1.0 - np.exp(log_all)).sum(axis=-1)) @ weights


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
        grid = np.append(z_u, z_u[-1])  # a duplicate end point keeps `lower + 1` valid
        return grid, np.arange(len(z_u)), np.zeros((len(z_u), 1)), np.append(counts, 0)
    grid = np.unique(np.rint(np.linspace(z_u[0], z_u[-1], Z_GRID)).astype(np.int64))
    lower = np.clip(np.searchsorted(grid, z_u, side="right") - 1, 0, len(grid) - 2)
    frac = (z_u - grid[lower]) / (grid[lower + 1] - grid[lower])
    nearest = lower + (frac >= 0.5)
    return grid, lower, frac[:, None], np.bincount(nearest, counts, minlength=len(grid))


@dataclass(frozen=True)
class _RowStats:
    """Folding-independent part of a skipping engine's model, shared by all PE options."""

    weights: np.ndarray  # (Q,) window-bin probabilities
    rows: np.ndarray  # (M, nS, Q, 3) float32: E[c], Var[c], largest c of every row
    mean: np.ndarray  # (G, Q) work mean, variance and maximum on the row-nnz grid
    var: np.ndarray
    n_max: np.ndarray
    grid_counts: np.ndarray  # (G,) rows nearest each grid point


def _row_stats(layer: LayerSpec, simds: np.ndarray) -> _RowStats:
    s, w = window_count_bins(layer)
    z_u, inverse, counts = np.unique(layer.row_nnz, return_inverse=True, return_counts=True)
    grid, lower, frac, grid_counts = _z_grid(z_u, counts)
    mean, var, p0, n_max = row_work_moments(grid, s, layer.fan_in)  # (G, Q)
    e_grid, var_grid = row_cycle_moments(mean, var, p0, n_max, simds)  # (nS, G, Q)
    per_value = np.empty((len(z_u), len(simds), len(s), 3), dtype=np.float32)  # (U, nS, Q, 3)
    for i, moment in enumerate((e_grid, var_grid)):  # interpolate the grid to every count
        low = moment[:, lower].transpose(1, 0, 2)
        per_value[..., i] = low + frac[:, None] * (moment[:, lower + 1].transpose(1, 0, 2) - low)
    per_value[..., 2] = row_cycles(  # largest possible row cycles
        np.minimum(z_u[:, None], np.rint(s)).astype(np.int64)[:, None], simds[None, :, None]
    )
    return _RowStats(w, per_value[inverse], mean, var, n_max, grid_counts)


class EngineCycles:
    """Expected cycles per frame of one engine for its (PE, SIMD) options, computed one PE
    option (row) at a time on demand, so a folder never pays for options it cannot afford.
    Exact (deterministic) when the layer does not skip zero activations."""

    def __init__(self, layer: LayerSpec, pes: np.ndarray, simds: np.ndarray) -> None:
        self.layer, self.pes, self.simds = layer, pes, simds
        self.table = np.full((len(pes), len(simds)), np.nan)  # NaN: not computed yet
        self._stats: _RowStats | None = None

    def rows(self, index: np.ndarray) -> np.ndarray:
        """(len(index), nS) expected cycles of the PE options `pes[index]`."""
        index = np.asarray(index, dtype=np.int64)
        missing = np.unique(index[np.isnan(self.table[index, 0])])
        if len(missing):
            self.table[missing] = self._compute(self.pes[missing])
        return self.table[index]

    def full(self) -> np.ndarray:
        """(nP, nS) the whole table."""
        return self.rows(np.arange(len(self.pes)))

    def _compute(self, pes: np.ndarray) -> np.ndarray:
        layer, simds = self.layer, self.simds
        if not layer.act_skip:
            table = lane_max_table(layer.row_nnz, pes, simds).astype(np.float64)
            return LAYER_OVERHEAD + layer.n_vectors * (VECTOR_OVERHEAD + table)
        if self._stats is None:
            self._stats = _row_stats(layer, simds)
        st = self._stats
        rows = st.rows
        lanes = np.concatenate([rows.reshape(-1, pe, *rows.shape[1:]).sum(axis=0) for pe in pes])
        table = expected_lane_max(lanes, pes, st.weights)  # (nP, nS)
        one_row = np.flatnonzero(pes == layer.rows)
        direct = np.sqrt(st.var).max() <= UNIFORM_SIGMA_RATIO * simds
        if len(one_row) and direct.any():
            table[one_row[0], direct] = expected_row_max(
                st.mean, st.var, st.n_max, st.grid_counts, simds[direct], st.weights
            )
        return LAYER_OVERHEAD + layer.n_vectors * (VECTOR_OVERHEAD + table)


def engine_cycle_table(layer: LayerSpec, pes: np.ndarray, simds: np.ndarray) -> np.ndarray:
    """Expected cycles per frame of an engine for every (PE, SIMD) option -> (nP, nS)."""
    return EngineCycles(layer, pes, simds).full()
