"""Resource formulas: primitive geometry, monotonicity in widths, two-input stages."""

import numpy as np

from hw_models import (
    Folding,
    LayerSpec,
    Network,
    estimate,
    exact_stage_cycles,
    get_device,
    prepare,
)
from hw_models import _coefficients as coefficients
from hw_models._buffers import (
    extra_bank_resources,
    fixed_and_pixel_resources,
    fixed_stage_resources,
    pixel_extras,
    skip_depth_frames,
    stage_fixed_resources,
)
from hw_models._folding import pixel_options
from hw_models._resources import (
    EngineShape,
    bram18_count,
    dsp_per_product,
    engine_resources,
    lut_multiplier_luts,
    lutram_luts,
    memory_resources,
    requantizer_luts,
    uses_lut_multipliers,
    window_buffer_luts,
)
from tests.hw_models.hw_factories import conv, small_cnn


def test_bram18_count_uses_the_best_aspect_ratio():
    assert bram18_count(512, 36) == 1
    assert bram18_count(1024, 18) == 1
    assert bram18_count(16384, 1) == 1
    assert bram18_count(2048, 9) == 1
    assert bram18_count(1024, 36) == 2
    assert bram18_count(600, 20) == 2  # two blocks either as 1024 x 18 or as 512 x 36
    assert bram18_count(100, 100) == 3  # 512 x 36, three wide
    assert bram18_count(0, 8) == 0


def test_rams_map_as_yosys_memory_libmap_does():
    """Checked against synth_xilinx: a conv4x8x8 window bank (18 x 32) is six RAM32M, a
    conv8x16x16 bank (72 x 32) one RAMB18; the read register stays in flip-flops unless the
    memory is a block RAM."""
    assert memory_resources(1, 8).tolist() == [0, 16, 0, 0]  # one word: registers
    assert memory_resources(18, 32).tolist() == [24, 32, 0, 0]  # RAM32M: 32 x 6 per 4 LUTs
    assert memory_resources(64, 9).tolist() == [12, 9, 0, 0]  # RAM64M: 64 x 3 per 4 LUTs
    assert memory_resources(72, 32).tolist() == [0, 0, 0, 1]
    assert memory_resources(1024, 36, copies=3).tolist() == [0, 0, 0, 6]


def test_roms_are_logic_until_block_ram_is_cheaper():
    """A ROM never maps to LUTRAM; soft logic costs 1/64 per bit against 129 per RAMB18."""
    small = memory_resources(512, 16, rom=True)
    assert small[1:].tolist() == [0, 0, 0] and small[0] > 0  # read register at the address
    assert memory_resources(2048, 16, rom=True).tolist() == [0, 0, 0, 2]  # 2 x 1024 x 18
    assert memory_resources(1, 24, rom=True).tolist() == [0, 0, 0, 0]  # a constant


def test_memories_priced_together_cost_what_each_costs_alone(rng):
    depth, width = rng.integers(0, 5000, 120), rng.integers(0, 300, 120)
    depth[60:], width[60:] = depth[:60], width[:60]  # the same memories again
    copies, rom = rng.integers(1, 8, 120), rng.random(120) < 0.5
    together = memory_resources(depth, width, copies, rom)
    alone = [
        memory_resources(int(d), int(w), int(n), bool(r))
        for d, w, n, r in zip(depth, width, copies, rom, strict=True)
    ]
    assert np.array_equal(together, np.array(alone))


def test_memory_formulas_broadcast_depths_against_widths():
    depth, width = np.array([[1], [40], [700], [5000]]), np.array([[3, 18, 36, 100]])
    for formula in (bram18_count, lutram_luts, memory_resources):
        grid = formula(depth, width)
        one_by_one = [[formula(int(d), int(w)) for w in width[0]] for d in depth[:, 0]]
        assert np.array_equal(grid, np.array(one_by_one))


def test_fixed_and_pixel_resources_are_the_two_priced_apart(rng):
    net = small_cnn(rng, (8, 16), size=8)
    options = {name: pixel_options(net, name)[1:].tolist() for name in net.stage_names}
    options = {name: pxs for name, pxs in options.items() if pxs}
    fixed, extras = fixed_and_pixel_resources(net, options)
    assert np.array_equal(fixed, stage_fixed_resources(net))
    apart = pixel_extras(net, options)
    assert extras.keys() == apart.keys()
    assert all(np.array_equal(extras[key], apart[key]) for key in apart)


def test_dsp_geometry_of_7_series_and_ultrascale():
    assert dsp_per_product(18, 25, port_a=25, port_b=18) == 1
    assert dsp_per_product(18, 27, port_a=25, port_b=18) == 2
    assert dsp_per_product(18, 27, port_a=27, port_b=18) == 1
    assert dsp_per_product(32, 32, port_a=27, port_b=18) == 4


def test_multipliers_follow_the_yosys_dsp_rule():
    """DSP48 when both signed operands have >= 2 bits and the product >= 9 bits."""
    assert not uses_lut_multipliers(4, 5)  # w4 x unsigned a4: 9-bit product
    assert uses_lut_multipliers(3, 5)
    assert uses_lut_multipliers(2, 3)
    assert uses_lut_multipliers(1, 16)  # a 1-bit operand
    assert not uses_lut_multipliers(8, 9)


def _address_luts(banks: int, depth: int) -> float:
    return banks * (depth - 1).bit_length() * coefficients.WINDOW_ADDRESS_LUTS_PER_BANK_BIT


def test_window_rotation_is_two_one_hot_selects_per_tap_bit():
    """k x k banks (args: kernel, stride, padding, bank columns, pixel bits, depth, px)."""
    assert window_buffer_luts(3, 1, 1, 3, 32, 18, 1) == 2 * 9 * 32 + _address_luts(9, 18)
    assert window_buffer_luts(5, 1, 2, 5, 8, 8, 1) == 2 * 25 * 8 * 2 + _address_luts(25, 8)


def test_window_rotation_folds_when_every_window_uses_the_same_banks():
    """Stride a multiple of the banks and no padding (a 2x2/2 max-pool), or a 1x1 kernel:
    the one-hot selects are constants, only the address logic is left."""
    assert window_buffer_luts(2, 2, 0, 2, 16, 8, 1) == _address_luts(4, 8)
    assert window_buffer_luts(1, 2, 0, 1, 32, 128, 1) == _address_luts(1, 128)
    assert window_buffer_luts(2, 2, 1, 2, 16, 8, 1) > _address_luts(4, 8)  # padded


def test_lut_multiplier_cost_is_finn_r():
    assert lut_multiplier_luts(4, 4) == (2 * 2 - 1) * 8
    assert lut_multiplier_luts(2, 2) == 4


def test_each_requantizing_lane_costs_one_constant_requantizer(rng):
    """A requantizing engine's LUTs exceed the same engine's as the last layer (raw
    accumulators out) by PE requantizers, which grow with the accumulator and output widths
    only (shift and threshold are constants: no barrel shifter)."""
    layer = conv("c", 8, 16, 6, rng, bits=4)
    pe, simd = np.array([[1], [4], [16]]), np.array([[1, 8]])
    words = np.ones((3, 2), dtype=np.int64)
    dev = get_device("zcu102")
    ports = (dev.dsp_port_a, dev.dsp_port_b)
    inner = engine_resources(EngineShape.of(layer, is_last=False), pe, simd, words, *ports)
    last = engine_resources(EngineShape.of(layer, is_last=True), pe, simd, words, *ports)
    acc = EngineShape.of(layer, is_last=True).acc_bits
    expected = np.broadcast_to(pe * requantizer_luts(acc, 4), (3, 2))
    np.testing.assert_allclose(inner[..., 0] - last[..., 0], expected)
    assert requantizer_luts(acc, 4) < acc + 4  # cheaper than one LUT per bit
    assert requantizer_luts(acc + 1, 4) > requantizer_luts(acc, 4) < requantizer_luts(acc, 5)


def _table(layer, device="zcu102"):
    p = prepare(Network("n", (layer,)), device)
    return p.resources[0][np.isfinite(p.cycles[0])]  # (options, 4)


def test_more_bits_never_use_fewer_resources(rng):
    """DSP and BRAM18 never decrease with wider weights; LUT and FF can drop where a multiplier
    moves into a DSP or a memory from LUTRAM into BRAM, but the device-normalised total never
    decreases."""
    mask = rng.random((16, 8, 3, 3)) < 0.5
    capacity = get_device("zcu102").capacity
    prev = None
    for w_bits in range(2, 17):
        layer = LayerSpec(
            "c",
            "conv2d",
            (8, 6, 6),
            (16, 6, 6),
            kernel=3,
            padding=1,
            w_bits=w_bits,
            a_bits=8,
            weight_mask=mask,
        )
        res = _table(layer)
        if prev is not None:
            assert np.all(res[:, 2:] >= prev[:, 2:]), w_bits
            assert np.all(res @ (1 / capacity) >= prev @ (1 / capacity) - 1e-12), w_bits
        prev = res


def test_activation_bits_and_skipping_never_reduce_resources(rng):
    mask = rng.random((16, 8, 3, 3)) < 0.5
    capacity = get_device("zcu102").capacity
    common = dict(
        kind="conv2d",
        in_shape=(8, 6, 6),
        out_shape=(16, 6, 6),
        kernel=3,
        padding=1,
        w_bits=8,
        weight_mask=mask,
    )
    narrow = _table(LayerSpec("c", a_bits=6, **common))
    wide = _table(LayerSpec("c", a_bits=10, **common))
    skipping = _table(LayerSpec("c", a_bits=10, act_skip=True, **common))
    assert np.all(wide >= narrow)
    assert np.all(skipping[:, 0] >= wide[:, 0])  # compaction logic
    assert np.all(skipping @ (1 / capacity) >= wide @ (1 / capacity))


def test_skip_chains_count_only_the_columns_a_lane_uses():
    """Lane p of PE lanes holds rows p, p + PE, ...; a column no row of a lane uses has no
    compaction step (synthesis folds it), so the live columns are summed per lane."""
    rows = [[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]]
    mask = np.array(rows, dtype=bool)
    layer = LayerSpec("fc", "linear", (3, 1, 1), (4, 1, 1), weight_mask=mask, act_skip=True)
    # PE 1: columns 0, 1, 2; PE 2: {0} and {0, 1, 2}; PE 4: one row each, 1 + 1 + 0 + 2
    assert EngineShape.of(layer, is_last=False).live_columns == ((1, 3), (2, 4), (4, 4))


def test_add_skip_buffer_and_matmul_operand_are_priced_and_timed(rng):
    """x -> q, k (1x1 convs) -> matmul(q, k) -> residual add is not needed: q.k^T is last."""
    q = LayerSpec("q", "conv2d", (8, 4, 1), (8, 4, 1), weight_mask=rng.random((8, 8, 1, 1)) < 1)
    k = LayerSpec("k", "conv2d", (8, 4, 1), (8, 4, 1))
    add = LayerSpec("add", "add", (8, 4, 1), (8, 4, 1), second_input="q")
    att = LayerSpec("att", "matmul", (8, 4, 1), (4, 4, 1), second_input="k")
    net = Network("attn", (q, k, add, att))
    folding = Folding.from_dict({"q": (2, 4), "k": (1, 8), "att": (2, 4)})
    cycles = exact_stage_cycles(net, folding, n_frames=1)[:, 0]
    assert cycles[3] == 4  # add: one pixel per cycle
    assert cycles[4] == 4 * (4 // 2) * (8 // 4)
    assert skip_depth_frames(net.stage_of("k"), net.stage_of("att"), in_place=True) == 5
    assert skip_depth_frames(net.stage_of("q"), net.stage_of("add")) == 4
    est = estimate(net, "zcu102", folding=folding)
    assert est.fits and all(s.lut > 0 for s in est.stages)


def test_skip_buffer_resources_grow_with_the_distance_spanned(rng):
    def net(extra):
        layers = [conv("c0", 4, 4, 16, rng, act_skip=False)]
        layers += [conv(f"c{i + 1}", 4, 4, 16, rng, act_skip=False) for i in range(extra)]
        layers.append(LayerSpec("add", "add", (4, 16, 16), (4, 16, 16), second_input="c0"))
        layers.append(conv("last", 4, 4, 16, rng, act_skip=False))
        return Network("res", tuple(layers))

    def c0_resources(n):
        p = prepare(n, "zcu102")
        return p.fixed_stage_resources[n.stage_of("c0")]

    assert c0_resources(net(3)).sum() > c0_resources(net(1)).sum()


def test_a_later_reader_of_a_frame_gets_a_skip_buffer_laid_out_for_it(rng):
    """q, k and v all read one norm: the adjacent q through the ping-pong buffer, k and v
    through skip buffers of 2 * distance frames, each one pixel wide."""
    norm = LayerSpec("ln", "norm", (8, 16, 1), (8, 16, 1))

    def proj(name, **kw):
        mask = rng.random((8, 8, 1, 1)) < 0.5
        return LayerSpec(name, "conv2d", (8, 16, 1), (8, 16, 1), weight_mask=mask, **kw)

    add = LayerSpec("sum", "add", (8, 16, 1), (8, 16, 1), second_input="q")
    chain = Network("chain", (norm, proj("q"), add, proj("out")))
    shared = Network(
        "shared", (norm, proj("q"), proj("k", source="ln"), add, proj("out", source="sum"))
    )
    ln_alone = prepare(chain, "zcu102").fixed_stage_resources[chain.stage_of("ln")]
    ln_shared = prepare(shared, "zcu102").fixed_stage_resources[shared.stage_of("ln")]
    pixel_bits = 8 * 8
    extra_words = skip_depth_frames(1, 3) * 16  # k is two stages after ln
    logic = [
        coefficients.FRAME_BUFFER_CONTROL_LUTS
        + window_buffer_luts(1, 1, 0, 1, pixel_bits, extra_words, 1),
        coefficients.FRAME_BUFFER_CONTROL_FFS,
        0,
        0,
    ]
    extra = memory_resources(extra_words, pixel_bits) + np.array(logic)
    assert np.allclose(ln_shared - ln_alone, extra, atol=1)  # (totals are rounded up)


def test_norm_and_softmax_cost_dsps_and_softmax_grows_with_the_heads():
    norm = fixed_stage_resources(LayerSpec("n", "norm", (64, 64, 1), (64, 64, 1)))
    one = fixed_stage_resources(LayerSpec("s", "softmax", (256, 64, 1), (256, 64, 1)))
    four = fixed_stage_resources(LayerSpec("s", "softmax", (256, 64, 1), (256, 64, 1), groups=4))
    assert norm[2] == 2 * 64 and one[2] == 256
    assert four[3] == one[3] + 3  # a reciprocal ROM (one BRAM18) per head


def test_a_third_frame_of_a_vector_buffer_costs_one_frame_of_registers(rng):
    net = small_cnn(rng, (8, 16), size=8)
    c, h, w = net.frame_of("pool")[0]
    bits = net.frame_of("pool")[1]
    extra = extra_bank_resources(net, {}, {"pool": 3})
    assert extra[net.stage_of("pool")][1] == c * h * w * bits  # the fc layer's input frame
    assert not np.delete(extra, net.stage_of("pool"), axis=0).any()
