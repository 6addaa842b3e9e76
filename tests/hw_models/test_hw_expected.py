"""Expected cycles from statistics (SPEC section 5) against exact counts on random data.

Stated accuracy, per layer and (PE, SIMD): mean relative error below 1.5%, every case within
MAX_ERROR. The data are independent activations (the model's assumption given the window
count), of equal densities or, with column densities, of a density per input; padding makes
border windows sparser, which the window histogram captures.
"""

import dataclasses

import numpy as np

from hw_models import (
    Folding,
    LayerSpec,
    Network,
    exact_stage_cycles,
    expected_stage_cycles,
    pe_options,
    simd_options,
    window_masks,
)
from hw_models._row_work import (
    column_inclusion,
    density_row_work_moments,
    expected_max_normals,
    row_work_moments,
)
from tests.hw_models.hw_factories import conv, linear, mlp

MAX_ERROR = 0.08
MEAN_ERROR = 0.015


def _errors(layer, x, max_simd=None):
    net = Network("n", (layer,))
    simds = simd_options(layer.fan_in)
    errors = []
    for pe in pe_options(layer.rows):
        for simd in simds if max_simd is None else simds[simds <= max_simd]:
            folding = Folding.from_dict({layer.name: (int(pe), int(simd))})
            exact = exact_stage_cycles(net, folding, {layer.name: x})[1].mean()
            errors.append(expected_stage_cycles(net, folding)[1] / exact - 1.0)
    return np.array(errors)


def test_expected_equals_exact_without_activation_skipping(rng):
    net = mlp(rng, (40, 24, 10), weight_density=0.3)
    for pe, simd in ((1, 1), (4, 8), (24, 32)):
        folding = Folding.from_dict({"fc1": (pe, simd), "fc2": (2, min(simd, 16))})
        exact = exact_stage_cycles(net, folding, n_frames=1)[:, 0]
        assert np.array_equal(expected_stage_cycles(net, folding), exact)


def test_expected_conv_cycles_track_exact_counts_with_the_window_histogram(rng):
    errors = []
    for cin, cout, size, w_density, a_density in (
        (16, 32, 8, 0.5, 0.5),
        (32, 16, 6, 0.3, 0.3),
        (3, 16, 10, 0.8, 0.9),
        (8, 24, 8, 0.15, 0.7),
    ):
        x = rng.random((3, cin, size, size)) < a_density
        counts = window_masks(x, 3, 1, 1).sum(axis=-1).ravel()
        hist = np.bincount(counts, minlength=9 * cin + 1).astype(float)
        base = conv("c", cin, cout, size, rng, weight_density=w_density)
        layer = LayerSpec(
            "c",
            "conv2d",
            base.in_shape,
            base.out_shape,
            kernel=3,
            padding=1,
            act_skip=True,
            weight_mask=base.weight_mask,
            window_nnz_hist=hist,
        )
        errors.append(_errors(layer, x))
    errors = np.abs(np.concatenate(errors))
    assert errors.mean() < MEAN_ERROR and errors.max() < MAX_ERROR, (errors.mean(), errors.max())


def test_expected_linear_cycles_track_exact_counts_from_the_density_alone(rng):
    errors = []
    for k, m, w_density, a_density in ((256, 32, 0.5, 0.5), (64, 48, 0.3, 0.2)):
        layer = linear(
            "fc", k, m, rng, weight_density=w_density, act_density=a_density, act_skip=True
        )
        x = rng.random((64, k)) < a_density  # many frames: one vector per frame
        errors.append(_errors(layer, x))
    errors = np.abs(np.concatenate(errors))
    assert errors.mean() < MEAN_ERROR and errors.max() < MAX_ERROR, (errors.mean(), errors.max())


def _column_density(layer, x):
    """How often each weight input is nonzero over the windows (vectors) of `x`, shaped like
    one output channel's weights (PyTorch order), as `search` measures it."""
    if layer.kind == "conv2d":
        windows = window_masks(x, layer.kernel, layer.stride, layer.padding)  # (kh, kw, cin)
        k, c = layer.kernel, layer.in_shape[0]
        return windows.reshape(-1, k, k, c).mean(axis=0).transpose(2, 0, 1)
    return x.reshape(len(x), -1).mean(axis=0)


def test_rows_that_kept_often_active_inputs_cost_what_their_column_densities_say(rng):
    k, m = 64, 16
    often = np.arange(k) < k // 4  # a quarter of the inputs is usually nonzero
    x = rng.random((256, k)) < np.where(often, 0.9, 0.15)
    mask = rng.random((m, k)) < np.where(often, 0.8, 0.05)  # as magnitude pruning keeps them
    spec = dict(
        name="fc", kind="linear", in_shape=(k, 1, 1), out_shape=(m, 1, 1), act_skip=True,
        weight_mask=mask, window_nnz_hist=np.bincount(x.sum(axis=1), minlength=k + 1),
    )  # fmt: skip
    uniform = LayerSpec(**spec)
    per_column = LayerSpec(**spec, column_density=_column_density(uniform, x))
    # where rows take more than one cycle, uniform positions put the work 25-55% too low
    assert _errors(uniform, x, max_simd=8).max() < -0.2
    errors = np.abs(_errors(per_column, x))
    assert errors.mean() < MEAN_ERROR and errors.max() < MAX_ERROR, (errors.mean(), errors.max())


def test_expected_conv_cycles_track_exact_counts_with_column_densities(rng):
    """Input channels of different densities, weights kept on the dense ones, padding 1."""
    errors = []
    for cin, cout, size in ((8, 16, 8), (16, 32, 6), (3, 16, 10)):
        density = np.linspace(0.05, 0.9, cin)
        x = rng.random((3, cin, size, size)) < density[:, None, None]
        counts = window_masks(x, 3, 1, 1).sum(axis=-1).ravel()
        layer = LayerSpec(
            "c", "conv2d", (cin, size, size), (cout, size, size), kernel=3, padding=1,
            act_skip=True, weight_mask=rng.random((cout, cin, 3, 3)) < density[:, None, None],
            window_nnz_hist=np.bincount(counts, minlength=9 * cin + 1),
        )  # fmt: skip
        layer = dataclasses.replace(layer, column_density=_column_density(layer, x))
        errors.append(_errors(layer, x))
    errors = np.abs(np.concatenate(errors))
    assert errors.mean() < MEAN_ERROR and errors.max() < MAX_ERROR, (errors.mean(), errors.max())


def test_column_inclusion_shares_each_window_count_among_the_columns(rng):
    density = np.concatenate((np.zeros(5), np.ones(5), rng.random(30)))
    s = np.array([0.0, 0.4, 7.5, 20.0, 39.2, 40.0])
    q = column_inclusion(density, s)
    assert np.allclose(q.sum(axis=1), s, atol=1e-8)
    assert np.all((q >= 0) & (q <= 1))
    assert np.all(q[0] == 0) and np.all(q[-1] == 1)
    order = np.argsort(density, kind="stable")  # a denser column is nonzero more often
    assert np.all(np.diff(q[:, order], axis=1) >= -1e-12)


def test_equal_column_densities_give_the_hypergeometric_work(rng):
    k = 50
    mask = rng.random((7, k)) < 0.4
    z, s = mask.sum(axis=1), np.array([3.0, 10.0, 25.0, 40.0])
    inclusion = column_inclusion(np.full(k, 0.37), s)
    assert np.allclose(inclusion, s[:, None] / k)
    mean, var, _, n_max = density_row_work_moments(mask, z, inclusion, s)
    h_mean, h_var, _, h_max = row_work_moments(z[:, None], s[None, :], np.array(k))
    assert np.allclose(mean, h_mean, rtol=1e-6) and np.allclose(var, h_var, rtol=1e-5)
    assert np.array_equal(n_max, h_max)


def test_expected_cycles_never_grow_with_more_pe_or_simd(rng):
    for trial in range(9):
        layer = conv(
            "c",
            int(rng.integers(2, 24)),
            24,
            6,
            rng,
            weight_density=rng.uniform(0.1, 1.0),
            act_density=rng.uniform(0.1, 1.0),
            hist=bool(trial % 2),
        )
        if trial >= 6:  # column densities (from their own generator: earlier trials unchanged)
            density = np.random.default_rng(trial).random(layer.weight_mask_shape[1:])
            layer = dataclasses.replace(layer, column_density=density)
        net = Network("n", (layer,))
        table = {
            (int(pe), int(s)): expected_stage_cycles(
                net, Folding.from_dict({"c": (int(pe), int(s))})
            )[1]
            for pe in pe_options(24)
            for s in simd_options(layer.fan_in)
        }
        for (pe, s), t in table.items():
            for (pe2, s2), t2 in table.items():
                if pe2 % pe == 0 and s2 >= s:
                    assert t2 <= t + 1e-6, (trial, pe, s, pe2, s2)


def test_more_weight_sparsity_never_costs_more_than_the_model_error(rng):
    for _ in range(6):
        dense = conv(
            "c",
            16,
            24,
            6,
            rng,
            weight_density=rng.uniform(0.2, 1.0),
            act_density=rng.uniform(0.1, 1.0),
        )
        mask = dense.weight_mask & (rng.random(dense.weight_mask.shape) < 0.8)
        pruned = LayerSpec(
            "c",
            "conv2d",
            dense.in_shape,
            dense.out_shape,
            kernel=3,
            padding=1,
            act_skip=True,
            weight_mask=mask,
            act_density=dense.act_density,
            window_nnz_hist=dense.window_nnz_hist,
        )
        for pe, simd in ((1, 1), (4, 4), (8, 16), (24, 64)):
            folding = Folding.from_dict({"c": (pe, simd)})
            before = expected_stage_cycles(Network("n", (dense,)), folding)[1]
            after = expected_stage_cycles(Network("n", (pruned,)), folding)[1]
            assert after <= before * (1 + MAX_ERROR)


def test_expected_maximum_of_normals_matches_known_values():
    e = expected_max_normals(1000)
    assert e[1] == 0.0
    assert np.allclose(
        e[[2, 3, 10, 100, 1000]], [0.5642, 0.8463, 1.5388, 2.5076, 3.2414], atol=2e-4
    )
