"""Exact per-frame stage work (SPEC sections 2-3): what a stage's steady-state interval is."""

import math

import numpy as np
import pytest

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
from tests.hw_models.hw_factories import conv, linear


def _engine_cycles(layer, pe, simd, mask=None, n_frames=None):
    net = Network("n", (layer,))
    masks = None if mask is None else {layer.name: mask}
    return exact_stage_cycles(net, Folding.from_dict({layer.name: (pe, simd)}), masks, n_frames)[1]


def test_simd_is_a_power_of_two_up_to_k_or_k_itself():
    assert simd_options(9).tolist() == [1, 2, 4, 8, 9]
    assert simd_options(16).tolist() == [1, 2, 4, 8, 16]
    layer = LayerSpec("c", "conv2d", (1, 4, 4), (8, 4, 4), kernel=3, padding=1)
    assert _engine_cycles(layer, 8, 9, n_frames=1)[0] == 16  # one cycle per row and window
    with pytest.raises(ValueError, match="SIMD=6 must be a power of two <= K=9, or K"):
        Folding.from_dict({"c": (8, 6)}).check(Network("n", (layer,)))


def test_dense_linear_cycles_equal_finn_count():
    layer = LayerSpec("fc", "linear", (20, 1, 1), (12, 1, 1))
    for pe in pe_options(12):
        for simd in simd_options(20):
            finn = (12 // pe) * math.ceil(20 / simd)
            expect = finn
            assert _engine_cycles(layer, int(pe), int(simd), n_frames=2).tolist() == [expect] * 2


def test_dense_conv_cycles_equal_finn_count_times_windows():
    layer = LayerSpec("c", "conv2d", (4, 5, 5), (6, 3, 3), kernel=3, stride=2, padding=1)
    for pe in (1, 2, 3, 6):
        for simd in (1, 4, 32):
            finn = (6 // pe) * math.ceil(36 / simd)
            expect = 9 * finn
            assert _engine_cycles(layer, pe, simd, n_frames=1)[0] == expect


def test_expected_cycles_equal_finn_count_for_dense_layers():
    layer = LayerSpec("c", "conv2d", (4, 5, 5), (6, 3, 3), kernel=3, stride=2, padding=1)
    net = Network("n", (layer,))
    folding = Folding.from_dict({"c": (2, 8)})
    assert expected_stage_cycles(net, folding)[1] == 9 * 15


def test_slowest_lane_sets_the_vector_time():
    # rows' nonzero weights: 8, 1, 2, 1; PE=2, SIMD=2 -> lane 0 owns rows 0 and 2.
    mask = np.zeros((4, 8), dtype=bool)
    mask[0, :] = True
    mask[1, 0] = True
    mask[2, 6:] = True
    mask[3, 7] = True
    dense_x = LayerSpec("fc", "linear", (8, 1, 1), (4, 1, 1), weight_mask=mask)
    assert _engine_cycles(dense_x, 2, 2, n_frames=1)[0] == 5
    skip = LayerSpec("fc", "linear", (8, 1, 1), (4, 1, 1), weight_mask=mask, act_skip=True)
    x = np.zeros((2, 8), dtype=bool)
    x[0, :4] = True  # row work 4, 1, 0, 0 -> lanes 2 + 1 = 3 and 1 + 1 = 2
    x[1, 6:] = True  # row work 2, 0, 2, 1 -> lanes 1 + 1 = 2 and 1 + 1 = 2
    got = _engine_cycles(skip, 2, 2, x)
    assert got.tolist() == [
        3,
        2,
    ]


def test_a_row_without_work_still_costs_one_cycle():
    layer = LayerSpec("fc", "linear", (8, 1, 1), (6, 1, 1), weight_mask=np.zeros((6, 8), bool))
    assert _engine_cycles(layer, 2, 8, n_frames=1)[0] == 3


def test_window_masks_match_a_direct_loop(rng):
    x = rng.random((2, 3, 7, 6)) < 0.5
    k, stride, pad = 3, 2, 1
    got = window_masks(x, k, stride, pad)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (7 + 2 * pad - k) // stride + 1, (6 + 2 * pad - k) // stride + 1
    for n in range(2):
        for i in range(ho):
            for j in range(wo):
                patch = padded[n, :, i * stride : i * stride + k, j * stride : j * stride + k]
                assert np.array_equal(got[n, i * wo + j], patch.transpose(1, 2, 0).ravel())


def test_conv_work_counts_match_a_brute_force_count(rng):
    layer = conv("c", 3, 5, 6, rng, weight_density=0.4)
    x = rng.random((1, 3, 6, 6)) < 0.6
    windows = window_masks(x, 3, 1, 1)[0]  # (36, 27)
    w = layer.weight_mask.transpose(0, 2, 3, 1).reshape(5, 27)
    work = np.array([[np.sum(w[o] & win) for o in range(5)] for win in windows])
    rows = np.maximum(1, -(-work // 4))  # SIMD = 4, PE = 5: one row per lane
    expect = np.sum(rows.max(axis=1))
    assert _engine_cycles(layer, 5, 4, x)[0] == expect


def test_input_masks_are_ignored_without_activation_skipping(rng):
    layer = conv("c", 3, 4, 6, rng, act_skip=False)
    x = rng.random((3, 3, 6, 6)) < 0.3
    assert np.array_equal(_engine_cycles(layer, 2, 4, x), _engine_cycles(layer, 2, 4, n_frames=3))


def test_more_weight_sparsity_is_never_slower(rng):
    dense = conv("c", 4, 8, 6, rng, weight_density=0.7)
    pruned_mask = dense.weight_mask & (rng.random(dense.weight_mask.shape) < 0.7)
    pruned = LayerSpec(
        "c",
        "conv2d",
        dense.in_shape,
        dense.out_shape,
        kernel=3,
        padding=1,
        act_skip=True,
        weight_mask=pruned_mask,
    )
    x = rng.random((4, 4, 6, 6)) < 0.5
    for pe in (1, 2, 8):
        for simd in (1, 4, 16):
            assert np.all(_engine_cycles(pruned, pe, simd, x) <= _engine_cycles(dense, pe, simd, x))


def test_more_pe_or_simd_is_never_slower(rng):
    layer = conv("c", 4, 12, 6, rng, weight_density=0.6)
    x = rng.random((3, 4, 6, 6)) < 0.5
    cycles = {
        (pe, s): _engine_cycles(layer, pe, s, x)
        for pe in (1, 2, 3, 4, 6, 12)
        for s in (1, 2, 4, 8, 16, 32)
    }
    for (pe, s), t in cycles.items():
        for (pe2, s2), t2 in cycles.items():
            if pe2 % pe == 0 and s2 >= s:  # lanes of PE2 refine those of PE
                assert np.all(t2 <= t), (pe, s, pe2, s2)


def test_non_dividing_pe_can_be_slower_so_only_multiples_are_compared():
    # Rows 0 and 3 are heavy: PE=2 spreads them over two lanes, PE=3 puts both in lane 0.
    mask = np.zeros((6, 4), dtype=bool)
    mask[[0, 3]] = True
    layer = LayerSpec("fc", "linear", (4, 1, 1), (6, 1, 1), weight_mask=mask)
    assert _engine_cycles(layer, 3, 1, n_frames=1)[0] > _engine_cycles(layer, 2, 1, n_frames=1)[0]


def test_masks_of_unknown_layers_or_wrong_shape_are_rejected(rng):
    net = Network("n", (linear("fc", 8, 4, rng, act_skip=True),))
    folding = Folding.minimal(net)
    with pytest.raises(ValueError, match="unknown layers"):
        exact_stage_cycles(net, folding, {"nope": np.zeros((1, 8), bool)})
    with pytest.raises(ValueError, match="must have shape"):
        exact_stage_cycles(net, folding, {"fc": np.zeros((1, 9), bool)})
    with pytest.raises(ValueError, match="input_masks must hold"):
        exact_stage_cycles(net, folding, n_frames=1)


def test_a_linear_layer_takes_its_mask_as_a_vector_or_as_the_flattened_frame(rng):
    layer = linear("fc", 48, 6, rng, act_skip=True)
    frames = rng.random((4, 3, 4, 4)) < 0.5
    flat = _engine_cycles(layer, 3, 4, frames.reshape(4, 48))
    assert np.array_equal(_engine_cycles(layer, 3, 4, frames), flat)


def test_norm_and_softmax_take_two_passes_and_grouped_matmuls_count_per_head():
    """A 2-head attention over 8 tokens of 4 channels: scores are (2*8 rows, 2 deep)."""
    norm = LayerSpec("ln", "norm", (4, 8, 1), (4, 8, 1))
    scores = LayerSpec("s", "matmul", (4, 8, 1), (16, 8, 1), second_input="ln", groups=2)
    probs = LayerSpec("p", "softmax", (16, 8, 1), (16, 8, 1), groups=2)
    attend = LayerSpec(
        "y", "matmul", (16, 8, 1), (4, 8, 1), second_input="ln", groups=2, second_transposed=True
    )
    net = Network("att", (norm, scores, probs, attend))
    folding = Folding.from_dict({"s": (4, 2), "y": (2, 4)})
    cycles = exact_stage_cycles(net, folding, n_frames=1)[:, 0]
    two_passes = 2 * 8
    assert cycles[1] == two_passes and cycles[3] == two_passes
    assert cycles[2] == 8 * (16 // 4) * math.ceil(2 / 2)
    assert cycles[4] == 8 * (4 // 2) * math.ceil(8 / 4)


def test_rows_pruned_alike_take_one_cycle_each_at_simd_equal_to_their_length():
    mask = np.zeros((6, 40), dtype=bool)
    mask[:, 10:33] = True  # every row keeps 23 of 40 weights
    layer = LayerSpec("fc", "linear", (40, 1, 1), (6, 1, 1), weight_mask=mask)
    assert _engine_cycles(layer, 3, 23, n_frames=1)[0] == 2  # two rows a lane, one cycle each
    assert _engine_cycles(layer, 3, 16, n_frames=1)[0] == 4  # the power of two below: two
