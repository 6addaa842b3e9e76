"""Network description: validation errors name the layer and the field; accumulator width."""

import itertools

import numpy as np
import pytest

from hw_models import (
    Folding,
    LayerSpec,
    Network,
    NotAChainError,
    accumulator_bits,
    require_chain,
    sliding_window_size,
)
from tests.hw_models.hw_factories import conv, linear, maxpool


def _layer(**overrides):
    spec = dict(name="fc", kind="linear", in_shape=(8, 1, 1), out_shape=(4, 1, 1))
    spec.update(overrides)
    return LayerSpec(**spec)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(kind="dense"), "kind"),
        (dict(in_shape=(8, 1)), "in_shape"),
        (dict(out_shape=(0, 1, 1)), "out_shape"),
        (dict(w_bits=1), "w_bits"),
        (dict(a_bits=33), "a_bits"),
        (dict(act_density=1.5), "act_density"),
        (dict(weight_mask=np.ones((4, 8), dtype=np.int8)), "weight_mask"),
        (dict(weight_mask=np.ones((8, 4), dtype=bool)), "weight_mask"),
        (dict(window_nnz_hist=np.ones(5)), "window_nnz_hist"),
        (dict(window_nnz_hist=-np.ones(9)), "window_nnz_hist"),
        (dict(column_density=np.full(4, 0.5)), "column_density"),
        (dict(column_density=np.full(8, 1.5)), "column_density"),
        (dict(column_density=np.full(8, np.nan)), "column_density"),
        (dict(kind="maxpool", out_shape=(8, 1, 1), column_density=np.ones(8)), "column_density"),
        (dict(window_counts=np.zeros((2, 1, 1), dtype=np.int64)), "window_counts"),
        (dict(kernel=3), "kernel"),
        (dict(in_shape=(8, 2, 2)), "in_shape"),
        (dict(second_input="x"), "second_input"),
        (dict(name=""), "name"),
        (dict(name="input"), "name"),
    ],
)
def test_bad_layer_spec_raises_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"field '{field}'"):
        _layer(**overrides)


@pytest.mark.parametrize(
    "counts",
    [
        np.zeros((2, 4, 8), dtype=np.int64),  # not the output's (H, W)
        np.zeros((8, 8), dtype=np.int64),  # no frame axis
        np.zeros((0, 8, 8), dtype=np.int64),  # no frame
        np.full((2, 8, 8), 28),  # above K = 27
        np.full((2, 8, 8), -1),
        np.zeros((2, 8, 8)),  # not integers
    ],
)
def test_bad_window_counts_raise_naming_the_field(counts):
    with pytest.raises(ValueError, match="field 'window_counts'"):
        LayerSpec("c", "conv2d", (3, 8, 8), (4, 8, 8), kernel=3, padding=1, window_counts=counts)


def test_conv_out_shape_must_match_kernel_stride_padding():
    with pytest.raises(ValueError, match="layer 'c': field 'out_shape'"):
        LayerSpec("c", "conv2d", (3, 8, 8), (4, 8, 8), kernel=3, padding=0)


def test_act_skip_on_a_maxpool_is_rejected():
    with pytest.raises(ValueError, match="field 'act_skip'"):
        LayerSpec("p", "maxpool", (4, 8, 8), (4, 4, 4), kernel=2, stride=2, act_skip=True)


def test_network_checks_the_frame_chain(rng):
    a = conv("c1", 3, 8, 8, rng)
    with pytest.raises(ValueError, match="layer 'c2': field 'in_shape'"):
        Network("n", (a, conv("c2", 4, 8, 8, rng)))
    with pytest.raises(ValueError, match="layer 'fc': field 'in_shape'"):
        Network("n", (a, linear("fc", 100, 10, rng)))


def test_network_checks_the_bits_chain(rng):
    a = linear("a", 8, 8, rng, input_signed=True)
    with pytest.raises(ValueError, match="layer 'b': field 'a_bits'"):
        Network("n", (a, linear("b", 8, 4, rng, bits=4)))


def test_signed_input_is_allowed_after_an_engine(rng):
    """A LayerNorm or residual stream feeds signed values to later engines (transformers)."""
    a = linear("a", 8, 8, rng, input_signed=True)
    net = Network("n", (a, linear("b", 8, 4, rng, input_signed=True)))
    assert net.layers[1].input_signed


def test_source_reads_an_earlier_frame(rng):
    norm = LayerSpec("ln", "norm", (8, 4, 1), (8, 4, 1))
    q = _pointwise("q", rng)
    k = _pointwise("k", rng, source="ln")
    scores = LayerSpec(
        "scores", "matmul", (8, 4, 1), (8, 4, 1), source="q", second_input="k", groups=2
    )
    net = Network("n", (norm, q, k, scores))
    assert net.source_of(k) == "ln" and net.source_of(q) == "ln"
    assert [c.name for c, _ in net.consumers("ln")] == ["q", "k"]
    assert net.layers[-1].fan_in == 4  # one head's channels


def test_require_chain_names_the_first_stage_that_breaks_the_chain(rng):
    kinds = ("linear", "conv2d", "maxpool")
    chain = Network("c", (conv("c1", 1, 4, 8, rng), maxpool("p", 4, 8), linear("fc", 64, 10, rng)))
    require_chain(chain, kinds, "the generator")
    norm = LayerSpec("ln", "norm", (8, 4, 1), (8, 4, 1))
    q = _pointwise("q", rng)
    k = _pointwise("k", rng, source="ln")
    scores = LayerSpec(
        "scores", "matmul", (8, 4, 1), (8, 4, 1), source="q", second_input="k", groups=2
    )
    with pytest.raises(NotAChainError, match="'ln' is a norm stage"):
        require_chain(Network("t", (norm, q, k, scores)), kinds, "the generator")
    with pytest.raises(NotImplementedError, match="'k' does not read only the previous"):
        require_chain(Network("t", (norm, q, k, scores)), ("norm", *kinds), "the generator")


def test_sliding_window_size_is_pytorchs():
    assert sliding_window_size(8, 2, 2, 0) == 4
    assert sliding_window_size(7, 3, 2, 1) == 4
    assert sliding_window_size(5, 3, 1, 1) == 5


def test_source_must_be_earlier_and_match_the_frame(rng):
    q = _pointwise("q", rng)
    later = _pointwise("k", rng, source="z")
    with pytest.raises(ValueError, match="layer 'k': field 'source'"):
        Network("n", (q, later))
    wrong = LayerSpec("p", "norm", (4, 4, 1), (4, 4, 1), source="q")
    with pytest.raises(ValueError, match="layer 'p': field 'in_shape'"):
        Network("n", (q, wrong, linear("fc", 16, 2, rng)))


def test_a_frame_nobody_reads_is_rejected(rng):
    q = _pointwise("q", rng)
    k = _pointwise("k", rng, source="input")
    with pytest.raises(ValueError, match="layer 'q': field 'name': no later layer reads"):
        Network("n", (q, k))


def test_grouped_matmul_checks_its_operand_orientation():
    """Attention: scores = q k^T per head (B rows are pixels), y = p v (B rows are channels)."""
    q = LayerSpec("q", "norm", (8, 4, 1), (8, 4, 1))
    scores = LayerSpec("s", "matmul", (8, 4, 1), (8, 4, 1), second_input="q", groups=2)
    probs = LayerSpec("p", "softmax", (8, 4, 1), (8, 4, 1), groups=2)
    attend = LayerSpec(
        "y", "matmul", (8, 4, 1), (8, 4, 1), second_input="q", groups=2, second_transposed=True
    )
    Network("n", (q, scores, probs, attend))
    untransposed = LayerSpec("y", "matmul", (8, 4, 1), (6, 4, 1), second_input="q", groups=2)
    with pytest.raises(ValueError, match="layer 'y': field 'second_input'"):
        Network("n", (q, scores, probs, untransposed))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(kind="linear", groups=2), "groups"),
        (dict(kind="softmax", groups=3), "in_shape"),
        (dict(kind="norm", out_shape=(4, 4, 1)), "out_shape"),
        (dict(kind="add", second_input="q", second_transposed=True), "second_transposed"),
    ],
)
def test_bad_grouped_or_normalising_layer_raises_naming_the_field(overrides, field):
    spec = dict(name="x", kind="norm", in_shape=(8, 4, 1), out_shape=(8, 4, 1))
    if overrides.get("kind") == "linear":
        spec.update(in_shape=(8, 1, 1), out_shape=(4, 1, 1))
    spec.update(overrides)
    with pytest.raises(ValueError, match=f"layer 'x': field '{field}'"):
        LayerSpec(**spec)


def _pointwise(name: str, rng: np.random.Generator, **kw) -> LayerSpec:
    """A linear layer applied to each of 4 tokens: a 1x1 conv over an (8, 4, 1) frame."""
    mask = rng.random((8, 8, 1, 1)) < 0.5
    return LayerSpec(name, "conv2d", (8, 4, 1), (8, 4, 1), weight_mask=mask, **kw)


def test_network_rejects_duplicate_names_and_a_non_engine_last_layer(rng):
    a = conv("c", 3, 8, 8, rng)
    with pytest.raises(ValueError, match="field 'name': duplicate"):
        Network("n", (a, conv("c", 8, 8, 8, rng)))
    with pytest.raises(ValueError, match="layer 'p': field 'kind'"):
        Network("n", (a, maxpool("p", 8, 8)))


def test_second_input_must_name_an_earlier_layer_of_the_right_shape(rng):
    c1 = conv("c1", 4, 4, 8, rng)
    add = LayerSpec("add", "add", (4, 8, 8), (4, 8, 8), second_input="later")
    tail = conv("c2", 4, 4, 8, rng)
    with pytest.raises(ValueError, match="layer 'add': field 'second_input'"):
        Network("n", (c1, add, tail))
    ok = LayerSpec("add", "add", (4, 8, 8), (4, 8, 8), second_input="input")
    assert Network("n", (c1, ok, tail)).stage_of("add") == 2


def test_folding_check_enforces_divisibility_and_powers_of_two(rng):
    net = Network("n", (linear("fc", 16, 12, rng, weight_density=1.0),))
    Folding.from_dict({"fc": (4, 16)}).check(net)
    for bad in ((5, 1), (4, 3), (4, 32)):
        with pytest.raises(ValueError, match="layer 'fc'"):
            Folding.from_dict({"fc": bad}).check(net)
    with pytest.raises(ValueError, match="missing"):
        Folding.from_dict({}).check(net)


def test_sparse_rows_also_fold_to_exact_fits_of_the_longest_row():
    mask = np.zeros((4, 40), dtype=bool)
    mask[:, :23] = True  # every row keeps 23 of 40 weights
    layer = LayerSpec("fc", "linear", (40, 1, 1), (4, 1, 1), weight_mask=mask)
    net = Network("n", (layer,))
    for simd in (23, 12, 8, 6):  # 23 in 1, 2, 3 and 4 cycles
        Folding.from_dict({"fc": (4, simd)}).check(net)
    with pytest.raises(ValueError, match=r"or ceil\(23 / c\) for c <= 4"):
        Folding.from_dict({"fc": (4, 5)}).check(net)


@pytest.mark.parametrize("signed", [False, True])
def test_accumulator_bits_is_the_exact_bound(signed):
    for w_bits, a_bits, k in itertools.product((2, 3, 5, 8), (1, 2, 4, 8), (1, 3, 9, 100)):
        bits = accumulator_bits(w_bits, a_bits, k, signed)
        w_max = 2 ** (w_bits - 1) - 1
        x_max = 2 ** (a_bits - 1) if signed else 2**a_bits - 1
        bound = 2 * k * w_max * x_max  # products plus a bias within the same range
        assert -(2 ** (bits - 1)) <= -bound and bound <= 2 ** (bits - 1) - 1
        assert bound > 2 ** (bits - 2) - 1  # one bit fewer would overflow
