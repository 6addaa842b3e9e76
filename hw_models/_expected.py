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
   With column densities `p_j` (`LayerSpec.column_density`) the positions are not uniform:
   magnitude pruning keeps the weights of often-active inputs, and uniform positions put
   such rows' work far too low (layers of the digits MLP up to 43%). Column j is then
   nonzero in a window of `s` with the tilted density `q_j = sigmoid(logit p_j + theta_s)`,
   `sum_j q_j = s` (independent columns conditioned on their sum), so row `o`'s work has
   mean `sum_{j in o} q_j`, variance `V_o (V - V_o) / (V (1 - 1/K))` with
   `V_o = sum_{j in o} q_j (1 - q_j)` and `V` the same over all columns (the hypergeometric
   moments when the densities are equal) and `P(n_o = 0) = prod_{j in o} (1 - q_j)`. Every
   row is then its own class, where rows of one nonzero count shared one before.
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
5. Pixel parallelism (px slots): a group of px adjacent windows takes its slowest window's
   time. Adjacent windows share most inputs, yet their counts differ (a digit's edge, the
   padding at a row's ends), and the slowest sets the time: on digit images one count shared
   by the group was 6-37% low, and px counts drawn independently up to 14% high (the windows
   are correlated). With `window_counts` the groups' counts are measured: the calibration
   groups' sorted counts are binned by their largest (`group_count_bins`), slot j of a bin
   takes the bin's j-th count, and step 4 bounds the max over the px * PE lanes per bin, the
   row moments interpolated from a grid of counts (`count_grid`) computed once per layer.
   Without them, the mean of the shared-count value and of the slots' per-count maxima of
   px independent draws.
Load imbalance therefore comes from unequal row nonzero counts (exact, deterministic) plus the
data-dependent spread. Without activation skipping the work is `z_o`: the result is exact.
Accuracy against the exact count on random data (tests/hw_models/test_hw_expected.py): about
0.5% mean error per layer and folding, worst case within 8% (lanes of two rows, where the
normal lane model is weakest; there, more weight sparsity can also look up to that much slower).

Computation (`EngineCycles`, `request_many`): the folding-independent statistics of all the
engines of a network are computed in one vectorised pass (steps 1-2; with column densities,
one (M, K) x (K, 3Q) product per engine), the row moments of step 3
one SIMD option (column) at a time as options are asked for, and the PE options first asked
for (or reserved, `EngineCycles.reserve`) together form a batch whose lanes are ranked and
bounded together (step 4). A batch's SIMD columns are independent of each other, so computing
only some of them, now or later, gives the same numbers. The count grids of pixel groups are
computed in a pass of their own, so that they never change (or widen) the px = 1 statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._cycles import lane_max_table
from ._lane_max import expected_lane_max, expected_max_of_draws, expected_row_max
from ._network import LayerSpec
from ._row_work import (
    UNIFORM_SIGMA_RATIO,
    column_inclusion,
    count_grid,
    density_row_work_moments,
    group_count_bins,
    row_cycle_moments,
    row_work_moments,
    window_count_bins,
    z_grid,
)


@dataclass(frozen=True)
class _RowStats:
    """Folding-independent part of a skipping engine's model, shared by all PE options. The
    per-SIMD row moments are filled one SIMD column at a time, as options need them
    (`_fill_columns`); columns not filled yet hold zeros."""

    weights: np.ndarray  # (Q,) window-bin probabilities (unused on a count grid)
    s: np.ndarray  # (Q,) nonzero activations per window of each bin (or grid point)
    z_u: np.ndarray  # (U,) nonzero count of each class of alike rows (`_row_classes`)
    inverse: np.ndarray  # (M,) each row's class
    lower: np.ndarray  # (U,) lower grid neighbour of each class
    frac: np.ndarray  # (U, 1) its interpolation weight
    mean: np.ndarray  # (G, Q) work mean, variance and maximum on the row-nnz grid
    var: np.ndarray
    n_max: np.ndarray
    grid_counts: np.ndarray  # (G,) rows nearest each grid point
    sd_max: float  # largest work standard deviation
    group_moments: np.ndarray  # (4, E, G', Q') mean, variance, P(n = 0), maximum of the
    slot: int  # engines computed together (padded), this engine's index in E
    per_value: np.ndarray  # (U, nS, Q, 3) float32: E[c], Var[c], largest c per class
    filled: np.ndarray  # (nS,) bool: SIMD columns of `per_value` computed


def _distinct(row_nnz: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(row_nnz, return_inverse=True, return_counts=True)` by counting (0 <= z <= K)."""
    tally = np.bincount(row_nnz, minlength=k + 1)
    z_u = tally.nonzero()[0]
    return z_u, z_u.searchsorted(row_nnz), tally[z_u]


def _row_classes(
    layer: LayerSpec,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
    """Rows alike for the model: (nonzero count of each class, each row's class, rows per
    class) and the grid of `z_grid`. Rows with equal nonzero counts are alike, unless the
    layer has column densities: then every row is its own class (its work depends on which
    columns it kept), on a grid of all rows (with `z_grid`'s duplicate end point)."""
    if layer.column_density is None:
        distinct = _distinct(layer.row_nnz, layer.fan_in)
        return distinct, z_grid(distinct[0], distinct[2])
    rows = np.arange(layer.rows)
    ones = np.ones(layer.rows, dtype=np.int64)
    grid = (
        np.concatenate((layer.row_nnz, layer.row_nnz[-1:])),
        rows,
        np.zeros((layer.rows, 1)),
        np.concatenate((ones, [0])),
    )
    return (layer.row_nnz, rows, ones), grid


def _density_work(layer: LayerSpec, s: np.ndarray) -> np.ndarray:
    """(4, M, Q) work moments of every row of a layer with column densities. The columns are
    taken in PyTorch's order, that of `column_density`: a row's sums do not depend on it."""
    assert layer.column_density is not None
    mask = layer.weight_matrix if layer.weight_mask is None else layer.weight_mask
    density = layer.column_density.reshape(-1)
    inclusion = column_inclusion(density, s)
    return density_row_work_moments(mask.reshape(layer.rows, -1), layer.row_nnz, inclusion, s)


def _row_stats_many(
    layers: Sequence[LayerSpec],
    n_simd: Sequence[int],
    bins: Sequence[tuple[np.ndarray, np.ndarray]],
) -> list[_RowStats]:
    """The SIMD-independent statistics of several skipping engines, given their bins (window
    counts (Q,) and bin probabilities), with the work moments of all their grids computed
    together (padded to a common shape); those of layers with column densities row by row
    (`_density_work`)."""
    classes = [_row_classes(layer) for layer in layers]
    distinct = [c for c, _ in classes]
    grids = [g for _, g in classes]
    n_g, n_q = max(len(g[0]) for g in grids), max(len(s) for s, _ in bins)
    moments = np.zeros((4, len(layers), n_g, n_q))  # mean, var, P(n = 0), max (4, E, G, Q)
    counted = [i for i, layer in enumerate(layers) if layer.column_density is None]
    if counted:  # hypergeometric, on grids of row nonzero counts
        g_counted = max(len(grids[i][0]) for i in counted)
        z = np.zeros((len(counted), g_counted, 1))
        s_all = np.zeros((len(counted), 1, n_q))
        for j, i in enumerate(counted):
            z[j, : len(grids[i][0]), 0] = grids[i][0]
            s_all[j, 0, : len(bins[i][0])] = bins[i][0]
        k = np.array([layers[i].fan_in for i in counted], dtype=np.int64)[:, None, None]
        moments[:, counted, :g_counted] = np.stack(row_work_moments(z, s_all, k))
    for i, layer in enumerate(layers):
        if layer.column_density is not None:
            s, m = bins[i][0], layer.rows
            work = _density_work(layer, s)
            moments[:, i, :m, : len(s)] = work
            moments[:, i, m, : len(s)] = work[:, -1]  # the grid's duplicate end point
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
    # interpolated from each grid to every distinct row count, the counts of all engines
    # one after the other (U = their total)
    sizes = [len(st.z_u) for st in stats]
    engine = np.repeat(np.arange(n), sizes)  # (U,)
    lower = engine * n_g + np.concatenate([st.lower for st in stats])  # row of (E * G)
    frac = np.concatenate([st.frac for st in stats])[:, :, None]  # (U, 1, 1)
    values = np.empty((len(engine), n_s, n_q, 3), dtype=np.float32)
    for j, moment in enumerate((e_all, var_all)):
        by_grid = moment.transpose(0, 2, 1, 3).reshape(n * n_g, n_s, n_q)
        low, high = by_grid[lower], by_grid[lower + 1]  # (U, nS, Q)
        values[..., j] = low + frac * (high - low)
    # largest possible row cycles, max(1, ceil(n / SIMD)): exact in floating point (a
    # correctly rounded quotient of small integers is an integer only when it is exact)
    s = np.zeros((n, n_q))
    for i, st in enumerate(stats):
        s[i, : len(st.s)] = st.s
    z_u = np.concatenate([st.z_u for st in stats])[:, None]
    n_work = np.minimum(z_u, np.rint(s)[engine])[:, None]  # (U, 1, Q)
    values[..., 2] = np.maximum(np.ceil(n_work / simd_all[engine, :, :, 0]), 1.0)  # (U, nS, Q)
    start = 0
    for st, cols, u in zip(stats, columns, sizes, strict=True):
        mine = values[start : start + u, : len(cols), : len(st.s)]
        start += u
        if cols[-1] - cols[0] + 1 == len(cols):  # a range of SIMD options
            st.per_value[:, cols[0] : cols[-1] + 1] = mine
        else:
            st.per_value[:, cols] = mine
        st.filled[cols] = True


class EngineCycles:
    """Expected cycles per frame of one engine for its (PE, SIMD) options, computed on demand,
    so a folder never pays for options it cannot afford. Exact (deterministic) when the layer
    does not skip zero activations.

    The PE options first asked for (or reserved) together form a batch, always computed
    together (the lanes of all its options are ranked and bounded in one pass, so a value
    depends on its batch, as it always has), one SIMD column at a time: the columns of a
    batch are independent, each the same whichever others are computed with it, and
    whenever it is computed. Entries of PE = M that `expected_row_max` gives are computed only
    once asked for. Engines of one network share a group (`link`), whose statistics are
    computed in one pass.

    With `slots` (pixel parallelism px, made from the engine's px = 1 model `base`) a group of
    px windows is one vector of px slots of lanes: row o of slot j is row o * px + j of px * M
    rows, so lane p of slot j is lane p * px + j of px * PE, and step 4 bounds the max over all
    lanes of all slots; the rows' work is independent given the windows' counts. With the
    layer's `window_counts` the slots' counts are those of the calibration groups
    (`group_count_bins`), their row moments interpolated from a grid of window counts
    (`count_grid`) whose statistics the first such model of a base owns for all; without, the
    slots share the base's statistics and the model mixes a shared and independent counts
    (`_independent_windows`).
    """

    def __init__(
        self,
        layer: LayerSpec,
        pes: np.ndarray,
        simds: np.ndarray,
        slots: int = 1,
        base: EngineCycles | None = None,
    ) -> None:
        self.layer, self.pes, self.simds, self.slots = layer, pes, simds, slots
        self.table = np.empty((len(pes), len(simds)))
        self.table.fill(np.nan)  # not computed yet
        self._stats: _RowStats | None = None
        # the slots' windows take the counts of calibration groups, on a grid of counts
        self._grouped = slots > 1 and layer.window_counts is not None
        self._grid_owner: EngineCycles | None = None  # of a base: its grouped models' owner
        self._slot_bins: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        owner = self if base is None else base  # whose statistics these are
        if self._grouped:  # the count grid's: the first grouped model of a base owns it
            if base is not None and base._grid_owner is None:
                base._grid_owner = self
            owner = self if base is None or base._grid_owner is None else base._grid_owner
        self._owner = owner
        self._group: tuple[EngineCycles, ...] = (self,) if base is None else base._group
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

    def _bins(self) -> tuple[np.ndarray, np.ndarray]:
        """Window counts (Q,) at which the statistics are computed, and their probabilities:
        the bins of step 1, or the grid of counts of grouped slot models."""
        if self._grouped:
            assert self.layer.window_counts is not None
            grid = count_grid(self.layer.window_counts, self.layer.fan_in)
            return grid, np.full(len(grid), 1.0 / len(grid))
        return window_count_bins(self.layer)

    def _group_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row moments (M, span, G, 3) on the count grid -> those of the slots of every bin of
        groups, (px * M, span, B, 3), row o of slot j at o * px + j, and the bins'
        probabilities (B,). Mean and variance are interpolated between grid counts (a bin's
        count is a mean over groups), the largest value taken at the upper one."""
        if self._slot_bins is None:
            assert self.layer.window_counts is not None and self._owner._stats is not None
            counts, weights = group_count_bins(self.layer.window_counts, self.slots)
            grid = self._owner._stats.s
            lower = np.clip(grid.searchsorted(counts, side="right") - 1, 0, len(grid) - 2)
            frac = (counts - grid[lower]) / (grid[lower + 1] - grid[lower])
            self._slot_bins = lower, frac[:, None], weights
        lower, frac, weights = self._slot_bins
        low, out = rows[:, :, lower], rows[:, :, lower + 1]  # (M, span, B * px, 3)
        out[..., :2] -= low[..., :2]
        out[..., :2] *= frac
        out[..., :2] += low[..., :2]
        m, n_span = rows.shape[:2]
        out = out.reshape(m, n_span, -1, self.slots, 3).transpose(0, 3, 1, 2, 4)
        return out.reshape(m * self.slots, n_span, -1, 3), weights

    def rows(self, index: np.ndarray) -> np.ndarray:
        """(len(index), nS) expected cycles of the PE options `pes[index]`."""
        index = np.asarray(index, dtype=np.int64)
        request_many([self], [index], [None])
        return self.table[index]

    def full(self) -> np.ndarray:
        """(nP, nS) the whole table."""
        return self.rows(np.arange(len(self.pes)))

    def reserve(self, index: np.ndarray) -> np.ndarray:
        """Make the PE options `index` not requested before one batch, computing nothing:
        their values are then those of that batch whenever they are computed. Returns the
        (nP,) mask of `index`."""
        asked = np.zeros(len(self.pes), dtype=bool)
        asked[index] = True
        new = (asked & (self._batch_of < 0)).nonzero()[0]  # np.unique, sorted
        if len(new):
            n_s = len(self.simds)
            self._batch_of[new] = len(self._batches)
            self._batches.append(new)
            self._done.append(np.zeros(n_s, dtype=bool))
            self._one_row_pending.append(np.zeros(n_s, dtype=bool))
        return asked

    def _plan(
        self, index: np.ndarray, columns: np.ndarray | None, one_row: np.ndarray | None
    ) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Batches (new ones for PE options not requested before), the SIMD columns of each
        still to compute for `index` x `columns`, and the SIMD options of PE = M (one row per
        lane) wanted, `one_row` (None: all, as for `columns`)."""
        n_s = len(self.simds)
        asked = self.reserve(index)
        want = np.ones(n_s, dtype=bool) if columns is None else columns
        want_one = np.ones(n_s, dtype=bool) if one_row is None else one_row
        plan = []
        for b in sorted(set(self._batch_of[asked].tolist())):
            todo = want & ~self._done[b]
            if todo.any() or (want_one & self._one_row_pending[b]).any():
                plan.append((b, todo, want_one))
        return plan

    def _independent_windows(self, rows: np.ndarray, pes: np.ndarray, span: slice) -> np.ndarray:
        """(nP, nS) `E[max over the slots' windows]` with each window's nonzero count drawn
        on its own: the per-count lane maxima of one slot (its rows are the first of every
        `slots` of `rows`) as a discrete law, maxed over `slots` draws. Adjacent windows share
        most of their inputs, so their counts are neither equal nor independent: the model
        takes the mean of this and the shared-count value (within 5% of the exact count on
        random data, tests/hw_models/test_hw_pixels.py)."""
        st = self._owner._stats
        assert st is not None
        one_slot = rows[:: self.slots]
        shape = (int(pes.sum()), len(self.simds), *one_slot.shape[2:])
        lanes = np.zeros(shape, dtype=one_slot.dtype)
        start = 0
        for pe in pes.tolist():
            lane_rows = one_slot.reshape(-1, pe, *one_slot.shape[1:])
            np.add.reduce(lane_rows, axis=0, out=lanes[start : start + pe, span])
            start += pe
        per_count = expected_lane_max(lanes, pes, st.weights, span, per_bin=True)
        return expected_max_of_draws(per_count, st.weights, self.slots)

    def _compute(self, b: int, todo: np.ndarray, one_row: np.ndarray) -> None:
        """Fill the SIMD columns `todo` of batch b (their statistics already filled). When the
        batch has PE = M, its entries in the regime of `expected_row_max` (direct) are only
        computed for the SIMD options `one_row` (others wait, NaN, until asked for)."""
        layer, simds, index, slots = self.layer, self.simds, self._batches[b], self.slots
        pes = self.pes[index]
        groups = layer.n_vectors // slots
        if not layer.act_skip:  # every slot has the same work
            table = lane_max_table(layer.row_nnz, pes, simds).astype(np.float64)
            self.table[index] = groups * table
            self._done[b][:] = True
            return
        st = self._owner._stats
        assert st is not None and st.filled[todo].all()
        if todo.any():
            # the lanes hold every SIMD option, so that the matrix products see the full shape
            # and round as for the whole table, but only the span of `todo` is summed and
            # bounded (the rest stays zero); only `todo` is kept
            cols = todo.nonzero()[0]
            span = slice(int(cols[0]), int(cols[-1]) + 1)
            rows = st.per_value[:, span][st.inverse]  # (M, span, Q, 3)
            weights = st.weights
            if self._grouped:
                rows, weights = self._group_rows(rows)
            elif slots > 1:
                rows = np.repeat(rows, slots, axis=0)  # row o of slot j: o * px + j
            lanes_of = pes * slots
            lanes = np.zeros((int(lanes_of.sum()), len(simds), *rows.shape[2:]), dtype=rows.dtype)
            start = 0
            for n_lanes in lanes_of.tolist():  # lane p: rows p, p + PE, ... summed in order
                lane_rows = rows.reshape(-1, n_lanes, *rows.shape[1:])
                np.add.reduce(lane_rows, axis=0, out=lanes[start : start + n_lanes, span])
                start += n_lanes
            table = expected_lane_max(lanes, lanes_of, weights, span)  # (nP, nS)
            if slots > 1 and not self._grouped:  # mean of a shared and of independent counts
                table = (table + self._independent_windows(rows, pes, span)) / 2
            table = groups * table
            self.table[index[:, None], cols] = table[:, cols]
            self._done[b] |= todo
        if pes[-1] == layer.rows and slots == 1:  # PE = M: one row per lane, where direct
            direct = st.sd_max <= UNIFORM_SIGMA_RATIO * simds
            pending = self._one_row_pending[b]
            pending |= direct & todo
            now = pending & one_row
            if now.any():
                row_max = expected_row_max(
                    st.mean, st.var, st.n_max, st.grid_counts * slots, simds[direct],
                    st.weights, now[direct],
                )  # fmt: skip
                cycles = groups * row_max
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
    # per owner of statistics (slot models share their base's): SIMD columns to fill
    need: dict[int, tuple[EngineCycles, np.ndarray]] = {}
    for model, plan in zip(models, plans, strict=True):
        if model.layer.act_skip and plan:
            cols = plan[0][1]
            for _, todo, _ in plan[1:]:
                cols = cols | todo
            owner = model._owner
            prev = need.get(id(owner))
            need[id(owner)] = (owner, cols if prev is None else prev[1] | cols)
    if need:
        lacking: list[EngineCycles] = []  # statistics of the whole group at once
        for model, _ in need.values():
            if model._stats is None:
                lacking += [  # a grouped slot model is not in its base's group
                    m
                    for m in (model, *model._group)
                    if m.layer.act_skip and m._stats is None and m not in lacking
                ]
        # count grids of pixel groups apart, so that they never widen the bins' arrays
        for part in ([m for m in lacking if not m._grouped], [m for m in lacking if m._grouped]):
            if part:
                stats = _row_stats_many(
                    [m.layer for m in part], [len(m.simds) for m in part], [m._bins() for m in part]
                )
                for model, st in zip(part, stats, strict=True):
                    model._stats = st
        fills: dict[int, list[tuple[_RowStats, np.ndarray, np.ndarray]]] = {}
        for model, cols in need.values():
            st = model._stats
            assert st is not None
            missing = (cols & ~st.filled).nonzero()[0]
            if len(missing):  # per pass of statistics computed together
                fills.setdefault(id(st.group_moments), []).append((st, model.simds, missing))
        for fill in fills.values():
            _fill_columns(*(list(x) for x in zip(*fill, strict=True)))
    for model, plan in zip(models, plans, strict=True):
        for b, todo, one in plan:
            model._compute(b, todo, one)


def engine_cycle_table(layer: LayerSpec, pes: np.ndarray, simds: np.ndarray) -> np.ndarray:
    """Expected cycles per frame of an engine for every (PE, SIMD) option -> (nP, nS)."""
    return EngineCycles(layer, pes, simds).full()
