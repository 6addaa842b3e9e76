"""Steps 1-3 of the expected-cycles model (`_expected.py`): one engine row's work and cycles.

1. The nonzero count `s` of a window follows the layer's window histogram, reduced to at most
   `WINDOW_BINS` equal-mass bins (`window_count_bins`), or Binomial(K, act_density); the
   counts of a group of px adjacent windows follow the calibration windows' groups, reduced
   the same way (`group_count_bins`).
2. Given `s`, row `o`'s work is hypergeometric, `n_o ~ H(K, z_o, s)` (`row_work_moments`);
   with per-column densities, the columns are nonzero with their tilted densities
   (`column_inclusion`) and a row's work has the moments of `density_row_work_moments`.
3. Row cycles `c_o = max(1, ceil(n_o / SIMD))`: mean and variance from a continuity-corrected
   normal approximation (`row_cycle_moments`), evaluated on a grid of at most `Z_GRID` row
   nonzero counts (`z_grid`).

Also the numeric helpers these use: a tabulated normal CDF and E[max of k normals].
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ._network import LayerSpec

WINDOW_BINS = 8
GROUP_SAMPLE = 4096  # about this many calibration groups are binned (whole output rows)
COUNT_GRID = 24  # window counts at most at which pixel groups' row moments are evaluated
Z_GRID = 24
TAIL_SIGMAS = 4.0
DIRECT_TERMS = 6  # covers mean +- TAIL_SIGMAS sd while sd <= UNIFORM_SIGMA_RATIO * SIMD
UNIFORM_SIGMA_RATIO = 0.5
DENSITY_FLOOR = 1e-6  # column densities clipped to [floor, 1 - floor]: every count reachable
TILT_BOUND = 50.0  # |log tilt| bracket: beyond the largest |logit| of a clipped density
TILT_ITERATIONS = 60  # safeguarded Newton steps at most (bisection alone needs ~50)
TILT_TOLERANCE = 1e-9  # |sum_j q_j - s| accepted

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


def group_count_bins(
    window_counts: np.ndarray, px: int, n_bins: int = WINDOW_BINS
) -> tuple[np.ndarray, np.ndarray]:
    """Nonzero counts of the `px` windows of a representative group per bin, (Q * px,) (bin
    q's in `q * px ...`, largest first), and the bins' probabilities (Q,), from the counts of
    every calibration window (N, H_out, W_out).

    A group is `px` consecutive windows of an output row (`px` divides W_out). Its slots are
    alike, so only the multiset of its counts matters: each group's counts are sorted, the
    groups ordered by their largest count (which mostly sets the group's time), then by their
    total, and cut into at most `n_bins` slices of equal size, each represented by the mean
    of its groups' sorted counts. About `GROUP_SAMPLE` groups are binned (hundreds per bin;
    sorting them all would cost more than a fold of the network): those of every `step`-th
    output row of all frames, `step` coprime with H_out, so that the rows taken come from
    every frame and every row position alike.
    """
    n_frames, height, width = window_counts.shape
    step = max(1, n_frames * height // max(1, GROUP_SAMPLE * px // width))
    while math.gcd(step, height) > 1:
        step += 1
    groups = window_counts.reshape(n_frames * height, width)[::step].reshape(-1, px)
    ordered = np.sort(groups, axis=1)  # ascending: the largest count last
    # a matrix-vector product sums short rows far faster than a reduction (exact: < 2^24)
    total = (groups.astype(np.float32) @ np.ones(px, dtype=np.float32)).astype(np.float64)
    key = ordered[:, -1] * (total.max() + 1.0) + total
    # numpy sorts 16-bit integers by radix
    key = key.astype(np.uint16 if key.max() < 1 << 16 else np.int64)
    ordered = ordered[np.argsort(key, kind="stable")]
    n_groups = len(ordered)
    bins = min(n_bins, n_groups)
    edges = np.arange(bins + 1) * n_groups // bins
    sizes = np.diff(edges)
    sums = np.add.reduceat(ordered, edges[:-1], axis=0, dtype=np.float64)
    return (sums[:, ::-1] / sizes[:, None]).reshape(-1), sizes / n_groups


def count_grid(window_counts: np.ndarray, fan_in: int) -> np.ndarray:
    """Window counts at which the row moments of pixel groups are evaluated (the groups'
    representative counts are interpolated between them): every count from the smallest to
    the largest calibration window's, or `COUNT_GRID` of them evenly spaced (rounded); at
    least two."""
    lo, hi = int(window_counts.min()), int(window_counts.max())
    if hi == lo:
        lo, hi = (lo - 1, lo) if lo == fan_in else (lo, lo + 1)
    if hi - lo < COUNT_GRID:
        return np.arange(lo, hi + 1, dtype=np.float64)
    return np.unique(np.rint(np.linspace(lo, hi, COUNT_GRID)))


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


def column_inclusion(density: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(Q, K) probability that column j is nonzero in a window of `s` (Q,) nonzeros, when
    the columns are nonzero independently with probabilities `density` (K,) conditioned on
    their sum: the exponentially tilted densities `q_j = sigmoid(logit p_j + theta)` with
    `sum_j q_j = s` (the conditional Bernoulli's inclusion probabilities, to first order;
    equal densities give `s / K`). `theta` by Newton's method, bisecting its bracket
    whenever a step would leave it."""
    p = np.clip(density, DENSITY_FLOOR, 1.0 - DENSITY_FLOOR)
    logit = np.log(p) - np.log1p(-p)
    k = len(p)
    target = np.asarray(s, dtype=np.float64)
    inside = (target > 0.0) & (target < k)
    share = np.clip(target / k, DENSITY_FLOOR, 1.0 - DENSITY_FLOOR)
    mean_p = float(p.mean())
    theta = np.log(share / (1.0 - share)) - math.log(mean_p / (1.0 - mean_p))
    lo = np.full(len(target), -TILT_BOUND)
    hi = np.full(len(target), TILT_BOUND)
    for _ in range(TILT_ITERATIONS):
        q = 1.0 / (1.0 + np.exp(-(logit + theta[:, None])))
        excess = q.sum(axis=1) - target
        if not np.any(inside & (np.abs(excess) > TILT_TOLERANCE)):
            break
        lo = np.where(excess < 0.0, theta, lo)
        hi = np.where(excess > 0.0, theta, hi)
        slope = np.maximum((q * (1.0 - q)).sum(axis=1), 1e-300)
        step = theta - excess / slope
        theta = np.where((step > lo) & (step < hi), step, (lo + hi) / 2.0)
    q = 1.0 / (1.0 + np.exp(-(logit + theta[:, None])))
    return np.where(inside[:, None], q, (target >= k)[:, None].astype(np.float64))


def density_row_work_moments(
    weights: np.ndarray, row_nnz: np.ndarray, inclusion: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """Work of every row given the window count, columns nonzero with probabilities
    `inclusion` (Q, K) (`column_inclusion`): mean, variance, P(n = 0) and max, (4, M, Q), for
    the (M, K) bool nonzero-weight matrix `weights` with `row_nnz` (M,) nonzeros per row and
    window counts `s` (Q,).

    Mean `sum_{j in row} q_j`; variance the independent columns' `V_o = sum_{j in row}
    q_j (1 - q_j)` conditioned on the window's total, `V_o (V - V_o) / (V (1 - 1/K))` with
    `V` the sum over all K columns (both exactly the hypergeometric moments when the densities
    are equal); `P(n = 0) = prod_{j in row} (1 - q_j)`."""
    k = weights.shape[1]
    spread = inclusion * (1.0 - inclusion)
    log_empty = np.log(np.maximum(1.0 - inclusion, 1e-300))
    per_column = np.concatenate((inclusion, spread, log_empty)).astype(np.float32)
    # (M, K) x (K, 3Q) as a product with the transpose of a (3Q, K) array: BLAS runs this
    # layout about 20 times faster than a (K, 3Q) one
    sums = (weights.astype(np.float32) @ per_column.T).astype(np.float64)
    mean, v_row, log_p0 = np.split(sums, 3, axis=1)
    v_all = spread.sum(axis=1)
    scale = v_all * (1.0 - 1.0 / k)
    var = np.where(scale > 0.0, v_row * (v_all - v_row) / np.maximum(scale, 1e-300), 0.0)
    n_max = np.minimum(row_nnz[:, None].astype(np.float64), s)
    return np.stack((mean, np.maximum(var, 0.0), np.exp(log_p0), n_max))


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


def z_grid(
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
