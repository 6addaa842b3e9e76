"""Pixel parallelism (SPEC section 2): stages handling px output pixels per cycle."""

import numpy as np
import pytest

from hw_models import (
    Folding,
    LayerSpec,
    Network,
    estimate,
    exact_stage_cycles,
    expected_stage_cycles,
    fold,
    prepare,
    window_masks,
)
from hw_models._folding import pixel_options
from tests.hw_models.hw_factories import conv, linear


def _cnn(rng, act_skip=True):
    """conv (8x8) -> 2x2 max-pool -> conv (4x4) -> linear."""
    c1 = conv("c1", 2, 8, 8, rng, act_skip=act_skip)
    pool = LayerSpec("pool", "maxpool", (8, 8, 8), (8, 4, 4), kernel=2, stride=2)
    c2 = conv("c2", 8, 8, 4, rng, act_skip=act_skip)
    fc = linear("fc", 8 * 16, 10, rng, act_skip=act_skip)
    return Network("cnn", (c1, pool, c2, fc))


def test_a_group_of_windows_takes_its_slowest_window(rng):
    net = _cnn(rng)
    x = {"c1": rng.random((2, 2, 8, 8)) < 0.5, "c2": rng.random((2, 8, 4, 4)) < 0.5}
    x["fc"] = rng.random((2, 128)) < 0.5
    one = Folding.from_dict({"c1": (2, 4), "c2": (4, 8), "fc": (5, 16)})
    two = Folding.from_dict(one.as_dict(), pixels={"c1": 2, "input": 4, "pool": 2})
    per_window = exact_stage_cycles(net, one, x)
    grouped = exact_stage_cycles(net, two, x)
    w = net.layers[0].weight_matrix
    windows = window_masks(x["c1"], 3, 1, 1)  # (N, 64, 18)
    work = np.maximum(1, -(-(windows.astype(int) @ w.T.astype(int)) // 4))  # SIMD 4, (N, 64, 8)
    vector = work.reshape(2, 64, 4, 2).sum(axis=2).max(axis=2)  # PE 2: lane p owns o % 2 == p
    assert per_window[1].tolist() == vector.sum(axis=1).tolist()
    assert grouped[1].tolist() == vector.reshape(2, 32, 2).max(axis=2).sum(axis=1).tolist()
    assert grouped[0].tolist() == [16, 16] and grouped[2].tolist() == [8, 8]  # loader, pool
    assert np.array_equal(grouped[3:], per_window[3:])


def test_dense_layers_divide_their_work_by_px_exactly(rng):
    net = _cnn(rng, act_skip=False)
    one = Folding.from_dict({"c1": (4, 8), "c2": (2, 16), "fc": (2, 32)})
    four = Folding.from_dict(one.as_dict(), pixels={"c1": 4, "c2": 2})
    assert expected_stage_cycles(net, four)[1] == expected_stage_cycles(net, one)[1] / 4
    assert np.array_equal(
        expected_stage_cycles(net, four), exact_stage_cycles(net, four, n_frames=1)[:, 0]
    )


def test_expected_group_cycles_track_exact_counts(rng):
    """Skipping convs at px 2 and 4: within the model's stated accuracy of the exact count."""
    errors = []
    for cin, cout, size, a_density in ((4, 16, 8, 0.5), (8, 8, 8, 0.3), (3, 16, 8, 0.8)):
        x = rng.random((4, cin, size, size)) < a_density
        counts = window_masks(x, 3, 1, 1).sum(axis=-1).ravel()
        base = conv("c", cin, cout, size, rng)
        layer = LayerSpec(
            "c", "conv2d", base.in_shape, base.out_shape, kernel=3, padding=1, act_skip=True,
            weight_mask=base.weight_mask,
            window_nnz_hist=np.bincount(counts, minlength=9 * cin + 1).astype(float),
        )  # fmt: skip
        head = linear("fc", cout * size * size, 4, rng, act_skip=False)
        net = Network("n", (layer, head))
        for px in (2, 4):
            for pe, simd in ((1, 4), (4, 8), (cout, 16)):
                folding = Folding.from_dict({"c": (pe, simd), "fc": (1, 1)}, pixels={"c": px})
                exact = exact_stage_cycles(net, folding, {"c": x})[1].mean()
                errors.append(expected_stage_cycles(net, folding)[1] / exact - 1.0)
    errors = np.abs(errors)
    assert errors.mean() < 0.03 and errors.max() < 0.08, (errors.mean(), errors.max())


def test_pixel_options_are_small_divisors_of_the_output_width(rng):
    net = _cnn(rng)
    assert pixel_options(net, "input").tolist() == [1, 2, 4, 8]
    assert pixel_options(net, "pool").tolist() == [1, 2, 4]
    assert pixel_options(net, "fc").tolist() == [1]  # linear, and the last layer


@pytest.mark.parametrize(
    ("pixels", "message"),
    [({"c1": 3}, "must divide"), ({"fc": 2}, "only conv2d"), ({"nope": 2}, "not a stage")],
)
def test_illegal_pixel_parallelism_is_refused(rng, pixels, message):
    net = _cnn(rng)
    folding = Folding.from_dict({"c1": (1, 1), "c2": (1, 1), "fc": (1, 1)}, pixels=pixels)
    with pytest.raises(ValueError, match=message):
        folding.check(net)


def test_slots_cost_resources_and_the_fold_spends_them_when_lanes_are_full(rng):
    net = _cnn(rng, act_skip=False)
    p = prepare(net, "zcu102")
    e = 0  # c1: px options 1, 2, 4, 8
    full = (len(p.pes[e]) - 1, len(p.simds[e]) - 1)
    lut = p.resources[e, : len(p.pxs[e]), full[0], full[1], 0]
    assert np.all(np.diff(lut) > 0)
    folding = fold(net, "zcu102")
    est = estimate(net, "zcu102", folding=folding)
    assert folding.px("c1") > 1 and folding.px("input") > 1
    one = estimate(net, "zcu102", folding=Folding.from_dict(folding.as_dict()))
    assert est.throughput_fps > 2 * one.throughput_fps and est.fits
