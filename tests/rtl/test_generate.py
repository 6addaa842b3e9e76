"""Design checks, generated top and memory-file formats (no simulation)."""

import dataclasses

import numpy as np
import pytest

from hw_models import Folding, LayerSpec, Network
from rtl import Design, DesignError
from rtl.generate import generate, generate_top, requant_plusargs
from rtl.memfiles import input_words, memory_files, parse_outputs
from tests.rtl import networks as nw


def _mlp(rng, **kw) -> Design:
    fc1 = nw.engine(rng, "fc1", "linear", (6, 1, 1), 4, signed=True, pe=2, simd=2, **kw)
    fc2 = nw.engine(rng, "fc2", "linear", (4, 1, 1), 2, out_bits=None)
    return nw.design("tiny", (fc1, fc2))


def _layer(w, act_skip=False, pe=1, simd=1) -> Design:
    """Engine "fc" (3-bit weights, 2-bit inputs, shift -2, threshold 7 to 4 bits), followed by
    a last layer so that it requantizes."""
    w = np.array(w)
    fc = nw.engine_part(
        "fc", "linear", (w.shape[1], 1, 1), w, np.array([5, -2]), w_bits=3, a_bits=2,
        out_bits=4, shift=-2, threshold=7, act_skip=act_skip, pe=pe, simd=simd,
    )  # fmt: skip
    out = nw.engine_part("out", "linear", (2, 1, 1), np.ones((1, 2), int), np.zeros(1), a_bits=4)
    return nw.design("one", (fc, out))


def test_skip_layout_holds_nonzero_values_and_mask():
    design = _layer([[1, -1, 0], [0, 0, 3]], act_skip=True)
    files = memory_files(design, "fc")
    assert design.weight_store("fc") == "skip" and design.max_row_nnz("fc") == 2
    # row 0: values 1, 7 (-1) in 3-bit slots, mask 0b011 from bit 6
    assert files["fc_weight.mem"] == [f"{0b011_111_001:03x}", f"{0b100_000_011:03x}"]
    acc_bits = design.acc_bits("fc")
    assert files["fc_bias.mem"][1] == f"{(1 << acc_bits) - 2:0{-(-acc_bits // 4)}x}"
    assert set(files) == {"fc_weight.mem", "fc_bias.mem"}


def test_dense_layout_is_finn_lockstep():
    design = _layer([[1, -1, 2], [3, 2, 1]], pe=2, simd=2)
    assert design.weight_store("fc") == "dense"
    # word g: lane 0 (row 0) then lane 1 (row 1), SIMD columns each; column 3 is padding
    words = memory_files(design, "fc")["fc_weight.mem"]
    assert words == [f"{(1 | 7 << 3 | 3 << 6 | 2 << 9):03x}", f"{(2 | 1 << 6):03x}"]


def test_sparse_layout_pairs_values_with_columns():
    design = _layer([[0, -1, 2], [0, 0, 0]], simd=1)
    assert design.weight_store("fc") == "sparse" and design.lane_words("fc") == 3
    # pairs are value (3 bits) | column << 3 (2 bits), after the last-of-row bit
    words = memory_files(design, "fc")["fc_weight.mem"]
    assert words == [f"{(7 | 1 << 3) << 1:02x}", f"{((2 | 2 << 3) << 1) | 1:02x}", "01"]


def test_conv_and_flattened_linear_columns_follow_the_vector_order():
    rng = np.random.default_rng(0)
    conv = nw.engine(rng, "c", "conv2d", (2, 4, 4), 2, kernel=3, stride=2, padding=1)
    fc = nw.engine(rng, "f", "linear", (2, 2, 2), 3, out_bits=None)
    design = nw.design("cf", (conv, fc))
    weight = design.memories["c"].weight
    matrix = design.weight_matrix("c")
    assert np.array_equal(matrix[:, 1], weight[:, 1, 0, 0])  # (kh, kw, cin)
    assert np.array_equal(matrix[:, 2], weight[:, 0, 0, 1])
    # frame order (h, w, c): column 1 is channel 1 of pixel (0, 0) = PyTorch index 1*4 + 0
    assert np.array_equal(design.weight_matrix("f")[:, 1], design.memories["f"].weight[:, 4])


def _negated(design: Design) -> Design:
    """The same design with every weight and bias negated (same zero pattern)."""
    memories = {
        name: dataclasses.replace(m, weight=-m.weight, bias=-m.bias)
        for name, m in design.memories.items()
    }
    return Design(design.network, design.folding, memories)


def _requantized(design: Design, name: str, shift: int, threshold: int) -> Design:
    """The same design with engine `name` requantizing by `shift` and `threshold`."""
    memory = dataclasses.replace(design.memories[name], shift=shift, threshold=threshold)
    return Design(design.network, design.folding, {**design.memories, name: memory})


def test_shape_key_ignores_weight_values_but_not_layout_or_folding():
    a = _mlp(np.random.default_rng(1))
    c = _mlp(np.random.default_rng(1), act_skip=True)
    assert a.shape_key() == _negated(a).shape_key() != c.shape_key()
    assert generate_top(a) == generate_top(_negated(a))
    dense = _mlp(np.random.default_rng(1), sparsity=0.0)
    assert dense.weight_store("fc1") == "dense" != a.weight_store("fc1")
    refolded = Folding.from_dict({"fc1": (1, 2), "fc2": a.folding["fc2"]})
    assert Design(a.network, refolded, a.memories).shape_key() != a.shape_key()


def test_requantization_constants_are_parameters_of_the_top():
    design = _layer([[1, -1, 0], [0, 0, 3]])
    top = generate_top(design)
    fc, out = top.split("hws_engine #(")[1:]  # parameters, then instance name and ports
    assert "u_st1_fc" in fc and "u_st2_out" in out
    assert ".SHIFT(-2),\n    .THRESHOLD(7)," in fc and "RUNTIME_REQUANT" not in top
    assert ".REQUANT(1'b0)" in out and "SHIFT" not in out  # the last layer does not requantize
    assert generate_top(_requantized(design, "fc", 3, 0)) != top


def test_shared_simulation_top_takes_requantization_from_plusargs():
    design = _layer([[1, -1, 0], [0, 0, 3]])
    other = _requantized(design, "fc", 5, 1)
    top = generate_top(design, runtime_requant=True)
    assert (
        top == generate_top(other, runtime_requant=True) and design.shape_key() == other.shape_key()
    )
    assert ".RUNTIME_REQUANT(1'b1)" in top and ".SHIFT(" not in top
    assert requant_plusargs(design) == ["+fc_shift=-2", "+fc_threshold=7"]
    assert requant_plusargs(other) == ["+fc_shift=5", "+fc_threshold=1"]


def test_generate_writes_top_memories_and_readme(tmp_path):
    files = generate(_mlp(np.random.default_rng(0)), tmp_path)
    top = files["top"].read_text()
    assert top.startswith("// GENERATED") and "hws_engine #(" in top and "hws_loader #(" in top
    assert {"fc1_weight.mem", "fc1_bias.mem", "fc2_weight.mem", "fc2_bias.mem"} == {
        name for name in files if name.endswith(".mem")
    }
    assert "GENERATED" in files["readme"].read_text()


def test_inputs_and_outputs_round_trip():
    network = _mlp(np.random.default_rng(0))
    x = np.array([[-4, 3, 0, 1, -1, 2]])
    assert input_words(network, x) == [
        f"{sum((v & 15) << (4 * i) for i, v in enumerate(x[0])):06x}"
    ]
    bits = network.out_bits
    line = f"{((-5) & ((1 << bits) - 1)) | (7 << bits):x}"
    assert parse_outputs(network, [line], 1).tolist() == [[-5, 7]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pe": 3}, "PE=3"),
        ({"simd": 3}, "SIMD=3"),
        ({"simd": 8}, "SIMD=8"),
        ({"w_bits": 2}, "weight"),
        ({"threshold": -1}, "threshold"),
    ],
)
def test_invalid_layers_name_the_field(change, field):
    rng = np.random.default_rng(0)
    kwargs = {"pe": 1, "simd": 1, "w_bits": 4} | {
        k: v for k, v in change.items() if k != "threshold"
    }
    base = nw.engine(rng, "fc", "linear", (6, 1, 1), 4, w_bits=4)
    # dense rows: SIMD 3 is then neither a power of two nor K (nor a fit of a shorter row)
    memory = dataclasses.replace(base[1], weight=np.where(base[1].weight == 0, 1, base[1].weight))
    if "threshold" in change:
        memory = dataclasses.replace(memory, threshold=change["threshold"])
    fc = LayerSpec(
        "fc", "linear", (6, 1, 1), (4, 1, 1), w_bits=kwargs["w_bits"], a_bits=4, out_bits=4,
        weight_mask=memory.weight != 0,
    )  # fmt: skip
    out = nw.engine(rng, "out", "linear", (4, 1, 1), 2, out_bits=None)
    network = Network("n", (fc, out[0]))
    folding = Folding.from_dict({"fc": (kwargs["pe"], kwargs["simd"]), "out": (1, 1)})
    with pytest.raises(ValueError, match=field):
        Design(network, folding, {"fc": memory, "out": out[1]})


def test_network_rules():
    rng = np.random.default_rng(0)
    fc1 = nw.engine(rng, "fc1", "linear", (6, 1, 1), 4, out_bits=4)
    fc2 = nw.engine(rng, "fc2", "linear", (4, 1, 1), 2, a_bits=3, out_bits=None)
    with pytest.raises(ValueError, match="a_bits"):
        nw.design("n", (fc1, fc2))
    with pytest.raises(DesignError, match="shift"):  # the last layer does not requantize
        nw.design("n", (fc1,))
    fc2 = nw.engine(rng, "fc2", "linear", (4, 1, 1), 2, out_bits=None)
    unquantized = (fc1[0], dataclasses.replace(fc1[1], shift=None), fc1[2])
    with pytest.raises(DesignError, match="every engine but the last requantizes"):
        nw.design("n", (unquantized, fc2))
    pool = nw.maxpool("p", (4, 1, 1), 1, 1, 4)
    with pytest.raises(ValueError, match="last layer"):
        nw.design("n", (fc1, pool))


def test_weights_must_have_the_networks_zeros():
    rng = np.random.default_rng(0)
    spec, memory, fold = nw.engine(rng, "fc", "linear", (6, 1, 1), 4, out_bits=None)
    dense = dataclasses.replace(spec, weight_mask=None)
    with pytest.raises(DesignError, match="weight_mask"):
        nw.design("n", ((dense, memory, fold),))


@pytest.mark.parametrize("kind", ["add", "matmul"])
def test_stages_without_rtl_raise_not_implemented(kind):
    frame = (4, 4, 1)
    spec = LayerSpec("x", kind, frame, frame, second_input="input")
    last = LayerSpec("y", "linear", (16, 1, 1), (2, 1, 1))
    with pytest.raises(NotImplementedError, match=kind):
        Design(Network("n", (spec, last)), Folding.from_dict({"y": (1, 1)}), {})


def _pixel_cnn(pixels: dict[str, int], banks: dict[str, int] | None = None) -> Design:
    """conv (2, 4, 6) -> maxpool -> linear, with the given px per stage (and buffer frames)."""
    rng = np.random.default_rng(2)
    conv = nw.engine(rng, "conv", "conv2d", (2, 4, 6), 3, signed=True, pe=3, simd=2)
    pool = nw.maxpool("pool", (3, 4, 6), kernel=2, stride=2, a_bits=4)
    fc = nw.engine(rng, "fc", "linear", (3, 2, 3), 2, out_bits=None)
    return nw.design("pix", (conv, pool, fc), pixels, banks)


def test_pixels_per_cycle_are_part_of_the_shape_and_the_top():
    one, two = _pixel_cnn({}), _pixel_cnn({"input": 2, "conv": 2, "pool": 3})
    assert one.shape_key() != two.shape_key()
    assert two.shape_dict()["in_px"] == 2 and two.shape_dict()["layers"][1]["px"] == 3
    top = generate_top(two)
    assert "IN_BEAT_BITS = 2 * 8" in top  # the loader takes 2 pixels of 2 x 4 bits per beat
    # conv: 2 slots; its window buffer written 2 and read 2 at a time; the pool reads 3
    assert top.count(".PX(2)") == 2 and top.count(".PX(3)") == 1
    assert ".WRITE_PX(2),\n    .READ_PX(2)" in top and ".WRITE_PX(2),\n    .READ_PX(3)" in top
    assert ".WRITE_PX(3),\n    .BANKS(2)" in top  # the pool's 3 pixels per beat into the vector


def test_buffer_frames_are_part_of_the_shape_and_the_top():
    two, three = _pixel_cnn({}), _pixel_cnn({}, {"conv": 3})
    assert two.shape_key() != three.shape_key()
    assert [layer["in_banks"] for layer in three.shape_dict()["layers"]] == [2, 3, 2]
    top = generate_top(three)
    # b0 (loader -> conv) and b2 (pool -> fc) keep two frames, b1 (conv -> pool) has three
    assert top.count(".BANKS(2)") == 2 and top.count(".BANKS(3)") == 1


def test_input_beats_pack_px_pixels_of_a_row():
    design = _pixel_cnn({"input": 3})
    x = np.arange(48).reshape(1, 2, 4, 6) % 8 - 4
    words = input_words(design, x)
    assert len(words) == 8  # 24 pixels, 3 per beat
    pixels = [(x[0, 0, 0, j] & 15) | (x[0, 1, 0, j] & 15) << 4 for j in range(3)]
    assert words[0] == f"{pixels[0] | pixels[1] << 8 | pixels[2] << 16:06x}"


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        ({"fc": 2}, "only conv2d and max-pool stages"),
        ({"conv": 4}, "must divide its output width 6"),
        ({"input": 4}, "must divide its output width 6"),
        ({"nowhere": 2}, "not a stage of"),
    ],
)
def test_pixels_per_cycle_are_checked(pixels, message):
    with pytest.raises(ValueError, match=message):
        _pixel_cnn(pixels)


def test_last_layer_keeps_one_pixel_per_beat():
    rng = np.random.default_rng(1)
    conv = nw.engine(rng, "conv", "conv2d", (1, 4, 4), 2, out_bits=None)
    with pytest.raises(ValueError, match="not the last layer"):
        nw.design("last", (conv,), {"conv": 2})
