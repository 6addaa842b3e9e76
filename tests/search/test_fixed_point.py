"""The requantization rule, checked against hand-computed values."""

import numpy as np
import pytest
import torch

from search.transforms import FixedPoint, fake_requantize, requantize

U4 = FixedPoint(4, 0, signed=False)


@pytest.mark.parametrize(
    ("acc", "shift", "threshold", "expected"),
    [
        (5, 1, 0, 3),  # 2.5 rounds half up to 3
        (-5, 1, 0, 0),  # -2.5 -> -2, then ReLU
        (7, 2, 0, 2),  # 1.75 -> 2
        (6, 2, 0, 2),  # 1.5 -> 2 (half up)
        (100, 1, 0, 15),  # saturates at 2^4 - 1
        (9, 1, 5, 0),  # 4.5 -> 5, not above threshold 5
        (11, 1, 5, 6),  # 5.5 -> 6 > 5
        (3, -2, 0, 12),  # left shift
        (3, 0, 0, 3),
    ],
)
def test_requantize_rounds_half_up_thresholds_then_saturates(acc, shift, threshold, expected):
    assert requantize(np.array([acc]), shift, threshold, U4)[0] == expected


@pytest.mark.parametrize("bits", range(2, 17))
def test_fake_requantize_equals_integer_requantize(bits):
    rng = np.random.default_rng(bits)
    acc = rng.integers(-(2**30), 2**30, 10_000)
    out = FixedPoint(bits, 3, signed=False)
    for shift in (-2, 0, 1, 7, 15):
        real = torch.from_numpy(acc.astype(np.float64)) * 2.0 ** -(shift + out.frac)
        expected = requantize(acc, shift, 2, out)
        assert np.array_equal(fake_requantize(real, 2, out).numpy(), expected)


def test_weight_format_is_symmetric():
    w2 = FixedPoint(2, 0, signed=True, symmetric=True)
    assert (w2.qmin, w2.qmax) == (-1, 1)
    assert list(w2.to_int(np.array([-3.0, -0.5, 0.49, 0.5, 2.0]))) == [-1, 0, 0, 1, 1]


def test_bits_outside_2_to_16_are_rejected():
    with pytest.raises(ValueError, match="bits"):
        FixedPoint(17, 0, signed=True)
