"""hws_requant: requantize / threshold / saturate, bit-exact to search.transforms, with constant
shift and threshold (parameters, what synthesis builds) and with run-time ones (the shared
simulation build)."""

import numpy as np
import pytest

from rtl.design import MAX_SHIFT, MAX_THRESHOLD
from search.transforms import FixedPoint, requantize

pytestmark = pytest.mark.sim

WIDTHS = [(12, 4), (24, 8), (40, 16)]  # (ACC_BITS, OUT_BITS)
LEFT_SHIFT_SATURATES = 32  # acc << k with k >= 32 exceeds every threshold (< 2^31) if acc > 0


def _reference_shift(shift: int, acc_bits: int) -> int:
    """A shift giving `requantize` (int64) the result of `shift` without overflow.

    `requantize` is exact while acc << -shift and 1 << (shift - 1) fit 63 bits. Beyond: a
    right shift of acc_bits or more rounds every accumulator to 0, as does shift 62; a left
    shift of 32 or more gives 0 (acc <= 0) or a value above every threshold and 2^out - 1, as
    does 32."""
    if shift > 62:
        return 62
    if -shift > 63 - acc_bits:
        assert -shift >= LEFT_SHIFT_SATURATES and acc_bits + LEFT_SHIFT_SATURATES <= 63
        return -LEFT_SHIFT_SATURATES
    return shift


def _expected(acc: np.ndarray, shift: int, threshold: int, acc_bits: int, out_bits: int):
    out = FixedPoint(out_bits, 0, signed=False)
    return requantize(acc, _reference_shift(shift, acc_bits), threshold, out)


def _accumulators(
    rng: np.random.Generator, shift: int, acc_bits: int, out_bits: int, n: int
) -> np.ndarray:
    """`n` accumulators for `shift`: the range's edges, a few anywhere in it, the rest where
    step 1's y falls in [-1, 2^out_bits + 1] (rounding, thresholds and saturation matter)."""
    lo, hi = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
    if shift > 0:
        near = (-(2 ** min(shift, 62)), (2**out_bits + 2) * 2 ** min(shift, 62))
    else:
        near = (-1, ((2**out_bits + 2) >> min(-shift, 62)) + 1)
    near_lo, near_hi = max(lo, near[0]), min(hi, near[1])
    edges = [lo, hi, 0, 1, -1]
    anywhere = rng.integers(lo, hi + 1, size=2).tolist()
    rest = rng.integers(near_lo, near_hi + 1, size=n - len(edges) - len(anywhere)).tolist()
    return np.array(edges + anywhere + rest)


def _crossings(shift: int, threshold: int, acc_bits: int, out_bits: int) -> list[int]:
    """Accumulators on both sides of where step 1's y passes the threshold and 2^out_bits - 1
    (the exact edges of steps 2 and 3), inside the accumulator's range."""
    lo, hi = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
    out = []
    for c in (threshold, 2**out_bits - 1):
        last = c * 2**shift + 2 ** (shift - 1) - 1 if shift > 0 else c >> -shift  # y <= c
        out += [v for v in (last, last + 1) if lo <= v <= hi]
    return out


def _shifts(acc_bits: int, out_bits: int) -> list[int]:
    """Negative, zero, positive and large shifts around the widths' edges, +-MAX_SHIFT
    included where the reference can give them."""
    spread = {0, 1, 2, 3, -1, -2, -3, out_bits - 1, out_bits, out_bits + 1, -out_bits}
    spread |= {-(out_bits + 1), acc_bits - 2, acc_bits - 1, acc_bits, acc_bits + 1}
    spread |= {acc_bits + 2, 40, 62, MAX_SHIFT, -(63 - acc_bits)}
    if acc_bits + LEFT_SHIFT_SATURATES <= 63:
        spread |= {-LEFT_SHIFT_SATURATES, -40, -MAX_SHIFT}
    return sorted(s for s in spread if -MAX_SHIFT <= s <= MAX_SHIFT)


def _thresholds(rng: np.random.Generator, out_bits: int) -> list[int]:
    qmax = 2**out_bits - 1
    return [0, 1, 7, qmax - 1, qmax, qmax + 1, int(rng.integers(0, 300)), MAX_THRESHOLD]


def _pairs(rng: np.random.Generator, acc_bits: int, out_bits: int) -> list[tuple[int, int]]:
    """Each shift with threshold 0 (plain ReLU) and two other thresholds."""
    thresholds = _thresholds(rng, out_bits)
    pairs = []
    for shift in _shifts(acc_bits, out_bits):
        pairs.append((shift, 0))
        for i in rng.choice(np.arange(1, len(thresholds)), size=2, replace=False):
            pairs.append((shift, thresholds[i]))
    return pairs


def _packed(values: list[int]) -> str:
    """A parameter of 32-bit fields (field i at [i*32 +: 32], two's complement), for -G."""
    word = sum((v & 0xFFFFFFFF) << (32 * i) for i, v in enumerate(values))
    return f"{32 * len(values)}'h{word:x}"


@pytest.mark.parametrize(("acc_bits", "out_bits"), WIDTHS)
def test_constant_requant_matches_reference(cocotb_sim, acc_bits, out_bits):
    rng = np.random.default_rng(acc_bits)
    pairs = _pairs(rng, acc_bits, out_bits)
    shifts = _shifts(acc_bits, out_bits)
    accs = [_accumulators(rng, s, acc_bits, out_bits, 12) for s in shifts]
    accs = np.concatenate(
        [*accs, [a for s, t in pairs for a in _crossings(s, t, acc_bits, out_bits)]]
    )
    expected = np.stack([_expected(accs, s, t, acc_bits, out_bits) for s, t in pairs], axis=1)
    case = {
        "acc_bits": acc_bits,
        "out_bits": out_bits,
        "pairs": pairs,
        "accs": accs.tolist(),
        "expected": expected.tolist(),
    }
    params = {
        "ACC_BITS": acc_bits,
        "OUT_BITS": out_bits,
        "N": len(pairs),
        "SHIFTS": _packed([s for s, _ in pairs]),
        "THRESHOLDS": _packed([t for _, t in pairs]),
    }
    cocotb_sim(
        "hws_requant_bank",
        params,
        "tests.rtl.benches.requant_bench",
        case,
        testcase="constant_requant_matches_reference",
        test_sources=["hws_requant_bank.sv"],
    )


@pytest.mark.parametrize(("acc_bits", "out_bits"), WIDTHS)
def test_runtime_requant_matches_reference(cocotb_sim, acc_bits, out_bits):
    rng = np.random.default_rng(acc_bits)
    thresholds = _thresholds(rng, out_bits)
    cases = []  # (acc, shift, threshold): per shift, accumulators with random thresholds and
    for shift in _shifts(acc_bits, out_bits):  # the crossings of one threshold
        for acc in _accumulators(rng, shift, acc_bits, out_bits, 16):
            cases.append((int(acc), shift, int(rng.choice(thresholds))))
        threshold = int(rng.choice(thresholds))
        cases += [(a, shift, threshold) for a in _crossings(shift, threshold, acc_bits, out_bits)]
    vectors = [
        [a, s, t, int(_expected(np.array([a]), s, t, acc_bits, out_bits)[0])] for a, s, t in cases
    ]
    case = {"acc_bits": acc_bits, "out_bits": out_bits, "vectors": vectors}
    cocotb_sim(
        "hws_requant",
        {"ACC_BITS": acc_bits, "OUT_BITS": out_bits, "RUNTIME": 1},
        "tests.rtl.benches.requant_bench",
        case,
        testcase="runtime_requant_matches_reference",
    )
