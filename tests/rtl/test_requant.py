"""hws_requant: requantize / threshold / saturate, bit-exact to search.transforms."""

import numpy as np
import pytest

from search.transforms import FixedPoint, requantize

pytestmark = pytest.mark.sim


def _vectors(rng: np.random.Generator, acc_bits: int, out_bits: int, n: int) -> list[list[int]]:
    """(acc, shift, threshold, expected) with edge cases first; expected from the reference."""
    lo, hi = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
    edges = [lo, hi, 0, 1, -1]
    out = FixedPoint(out_bits, 0, signed=False)
    # the int64 reference is exact while acc << -shift and 1 << (shift - 1) fit 63 bits
    shifts = [*range(-6, acc_bits + 4), -(62 - acc_bits), 62]
    vectors = []
    for i in range(n):
        acc = edges[i] if i < len(edges) else int(rng.integers(lo, hi + 1))
        shift = int(rng.choice(shifts))
        threshold = int(rng.choice([0, 0, 1, 2, int(rng.integers(0, 300)), 2**31 - 1]))
        want = int(requantize(np.array([acc]), shift, threshold, out)[0])
        vectors.append([acc, shift, threshold, want])
    return vectors


@pytest.mark.parametrize(("acc_bits", "out_bits"), [(12, 4), (24, 8), (40, 16)])
def test_requant(cocotb_sim, acc_bits, out_bits):
    rng = np.random.default_rng(acc_bits)
    case = {
        "acc_bits": acc_bits,
        "out_bits": out_bits,
        "vectors": _vectors(rng, acc_bits, out_bits, 400),
    }
    cocotb_sim(
        "hws_requant",
        {"ACC_BITS": acc_bits, "OUT_BITS": out_bits},
        "tests.rtl.benches.requant_bench",
        case,
    )
