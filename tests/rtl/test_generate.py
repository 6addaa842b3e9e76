"""Description checks, generated top and memory-file formats (no simulation)."""

from dataclasses import fields

import numpy as np
import pytest

from rtl.description import DescriptionError, Layer, Network, Requant
from rtl.generate import generate, generate_top
from rtl.memfiles import input_words, memory_files, parse_outputs
from tests.rtl import networks as nw


def _mlp(rng, **kw) -> Network:
    fc1 = nw.engine(rng, "fc1", "linear", (6, 1, 1), 4, signed=True, pe=2, simd=2, **kw)
    fc2 = nw.engine(rng, "fc2", "linear", (4, 1, 1), 2, out_bits=None)
    return Network("tiny", (fc1, fc2))


def _layer(w, act_skip=False, pe=1, simd=1):
    w = np.array(w)
    return Layer(
        "fc",
        "linear",
        (w.shape[1], 1, 1),
        np.array(w),
        np.array([5, -2]),
        w_bits=3,
        a_bits=2,
        requant=Requant(-2, 7, 4),
        act_skip=act_skip,
        pe=pe,
        simd=simd,
    )


def test_skip_layout_holds_nonzero_values_and_mask():
    layer = _layer([[1, -1, 0], [0, 0, 3]], act_skip=True)
    files = memory_files(layer)
    assert layer.weight_store == "skip" and layer.max_row_nnz == 2
    # row 0: values 1, 7 (-1) in 3-bit slots, mask 0b011 from bit 6
    assert files["fc_weight.mem"] == [f"{0b011_111_001:03x}", f"{0b100_000_011:03x}"]
    acc_bits = layer.acc_bits
    assert files["fc_bias.mem"][1] == f"{(1 << acc_bits) - 2:0{-(-acc_bits // 4)}x}"
    assert files["fc_requant.mem"] == ["fffffffe", "00000007"]


def test_dense_layout_is_finn_lockstep():
    layer = _layer([[1, -1, 2], [3, 2, 1]], pe=2, simd=2)
    assert layer.weight_store == "dense"
    # word g: lane 0 (row 0) then lane 1 (row 1), SIMD columns each; column 3 is padding
    words = memory_files(layer)["fc_weight.mem"]
    assert words == [f"{(1 | 7 << 3 | 3 << 6 | 2 << 9):03x}", f"{(2 | 1 << 6):03x}"]


def test_sparse_layout_pairs_values_with_columns():
    layer = _layer([[0, -1, 2], [0, 0, 0]], simd=1)
    assert layer.weight_store == "sparse" and layer.lane_words == 3
    # pairs are value (3 bits) | column << 3 (2 bits), after the last-of-row bit
    words = memory_files(layer)["fc_weight.mem"]
    assert words == [f"{(7 | 1 << 3) << 1:02x}", f"{((2 | 2 << 3) << 1) | 1:02x}", "01"]


def test_conv_and_flattened_linear_columns_follow_the_vector_order():
    rng = np.random.default_rng(0)
    conv = nw.engine(rng, "c", "conv2d", (2, 4, 4), 3, kernel=3)
    assert np.array_equal(conv.weight_matrix[:, 1], conv.weight[:, 1, 0, 0])  # (kh, kw, cin)
    assert np.array_equal(conv.weight_matrix[:, 2], conv.weight[:, 0, 0, 1])
    fc = nw.engine(rng, "f", "linear", (2, 2, 2), 3, out_bits=None)
    # frame order (h, w, c): column 1 is channel 1 of pixel (0, 0) = PyTorch index 1*4 + 0
    assert np.array_equal(fc.weight_matrix[:, 1], fc.weight[:, 4])


def _negated(network: Network) -> Network:
    """The same network with every weight and bias negated (same zero pattern)."""
    layers = []
    for x in network.layers:
        same = {f.name: getattr(x, f.name) for f in fields(x)}
        layers.append(Layer(**same | {"weight": -x.weight, "bias": -x.bias}))
    return Network(network.name, tuple(layers))


def test_shape_key_ignores_weight_values_but_not_layout_or_folding():
    a = _mlp(np.random.default_rng(1))
    c = _mlp(np.random.default_rng(1), act_skip=True)
    assert a.shape_key() == _negated(a).shape_key() != c.shape_key()
    assert generate_top(a) == generate_top(_negated(a))
    dense = _mlp(np.random.default_rng(1), sparsity=0.0)
    assert dense.layers[0].weight_store == "dense" != a.layers[0].weight_store


def test_generate_writes_top_memories_and_readme(tmp_path):
    files = generate(_mlp(np.random.default_rng(0)), tmp_path)
    top = files["top"].read_text()
    assert top.startswith("// GENERATED") and "hws_engine #(" in top and "hws_loader #(" in top
    assert {"fc1_weight.mem", "fc1_bias.mem", "fc1_requant.mem", "fc2_weight.mem"} <= set(files)
    assert "fc2_requant.mem" not in files
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
        ({"pe": 3}, "pe"),
        ({"simd": 3}, "simd"),
        ({"simd": 8}, "simd"),
        ({"w_bits": 2}, "weight"),
        ({"requant": Requant(0, -1, 4)}, "requant"),
    ],
)
def test_invalid_layers_name_the_field(change, field):
    rng = np.random.default_rng(0)
    base = nw.engine(rng, "fc", "linear", (6, 1, 1), 4, w_bits=4)
    kwargs = {
        f: getattr(base, f) for f in ("weight", "bias", "w_bits", "a_bits", "requant", "pe", "simd")
    }
    with pytest.raises(DescriptionError, match=f"field '{field}'"):
        Layer("fc", "linear", (6, 1, 1), **(kwargs | change))


def test_network_rules():
    rng = np.random.default_rng(0)
    fc1 = nw.engine(rng, "fc1", "linear", (6, 1, 1), 4, out_bits=4)
    fc2 = nw.engine(rng, "fc2", "linear", (4, 1, 1), 2, a_bits=3, out_bits=None)
    with pytest.raises(DescriptionError, match="a_bits"):
        Network("n", (fc1, fc2))
    with pytest.raises(DescriptionError, match="requant"):
        Network("n", (fc1,))
    pool = Layer("p", "maxpool", (4, 1, 1), kernel=1, a_bits=4)
    with pytest.raises(DescriptionError, match="last layer"):
        Network("n", (fc1, pool))


@pytest.mark.parametrize("kind", ["add", "matmul"])
def test_stages_without_rtl_raise_not_implemented(kind):
    with pytest.raises(NotImplementedError, match=kind):
        Layer("x", kind, (4, 2, 2))
