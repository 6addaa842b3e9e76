"""Network description: validation errors name the layer and the field; accumulator width."""

import itertools

import numpy as np
import pytest

from hw_models import Folding, LayerSpec, Network, accumulator_bits
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


def test_network_checks_bits_chain_and_signed_input(rng):
    a = linear("a", 8, 8, rng, input_signed=True)
    with pytest.raises(ValueError, match="layer 'b': field 'a_bits'"):
        Network("n", (a, linear("b", 8, 4, rng, bits=4)))
    with pytest.raises(ValueError, match="layer 'b': field 'input_signed'"):
        Network("n", (a, linear("b", 8, 4, rng, input_signed=True)))


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
    net = Network("n", (linear("fc", 16, 12, rng),))
    Folding.from_dict({"fc": (4, 16)}).check(net)
    for bad in ((5, 1), (4, 3), (4, 32)):
        with pytest.raises(ValueError, match="layer 'fc'"):
            Folding.from_dict({"fc": bad}).check(net)
    with pytest.raises(ValueError, match="missing"):
        Folding.from_dict({}).check(net)


@pytest.mark.parametrize("signed", [False, True])
def test_accumulator_bits_is_the_exact_bound(signed):
    for w_bits, a_bits, k in itertools.product((2, 3, 5, 8), (1, 2, 4, 8), (1, 3, 9, 100)):
        bits = accumulator_bits(w_bits, a_bits, k, signed)
        w_max = 2 ** (w_bits - 1) - 1
        x_max = 2 ** (a_bits - 1) if signed else 2**a_bits - 1
        bound = 2 * k * w_max * x_max  # products plus a bias within the same range
        assert -(2 ** (bits - 1)) <= -bound and bound <= 2 ** (bits - 1) - 1
        assert bound > 2 ** (bits - 2) - 1  # one bit fewer would overflow
