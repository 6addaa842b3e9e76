"""Expected cycles from statistics (SPEC section 5) against exact counts on random data.

Stated accuracy, per layer and (PE, SIMD): mean relative error below 1.5%, every case within
MAX_ERROR. The data are i.i.d. activations (the model's assumption given the window count);
padding makes border windows sparser, which the window histogram captures.
"""

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
from hw_models._row_work import expected_max_normals
from tests.hw_models.hw_factories import conv, linear, mlp

MAX_ERROR = 0.08
MEAN_ERROR = 0.015


def _errors(layer, x):
    net = Network("n", (layer,))
    errors = []
    for pe in pe_options(layer.rows):
        for simd in simd_options(layer.fan_in):
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


def test_expected_cycles_never_grow_with_more_pe_or_simd(rng):
    for trial in range(6):
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
