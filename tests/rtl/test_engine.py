"""hws_engine: sparse matrix-vector layer engine, outputs bit-exact to the integer reference
model; frames overlap, and every start, release and done cycle is the one of SPEC section 4
(work sum_v max_p L_p(v) per frame, fill ENGINE_FILL, drain ENGINE_DRAIN). With pixel
parallelism px, groups of px vectors go through px slots of lanes: the work is
sum_g max_j max_p L_p(vector g*px + j)."""

import numpy as np
import pytest

from hw_models import ENGINE_DRAIN, ENGINE_FILL, accumulator_bits
from rtl.generate import engine_parameters
from rtl.memfiles import memory_files
from search.transforms import FixedPoint, requantize
from tests.rtl.benches.common import pack
from tests.rtl.networks import design, engine_part, random_weights

pytestmark = pytest.mark.sim

# (M, K, PE, SIMD, w_bits, a_bits, signed, act_skip, out_bits or None, OUT_H, OUT_W)
SHAPES = {
    "linear-skip": (8, 16, 2, 4, 4, 4, True, True, 4, 1, 1),
    "conv-dense-ternary": (6, 9, 3, 1, 2, 8, False, False, 6, 2, 2),
    "wide-simd-last": (4, 32, 4, 32, 8, 2, False, False, None, 1, 3),
    "one-cycle-vectors": (5, 12, 5, 8, 3, 3, False, True, 3, 2, 1),
    # SIMD = K, not a power of two: a whole row per cycle (a first conv layer's K = 9)
    "simd-is-k": (4, 9, 2, 9, 6, 4, True, False, 4, 2, 1),
    "simd-is-k-skip": (6, 12, 3, 12, 4, 4, False, True, None, 2, 2),
}
# Rows pruned alike to 11 of 20 weights: SIMD 6 takes each in two cycles (an exact fit of the
# longest row, neither a power of two nor K), SIMD 11 in one
ROW_FIT_SHAPES = {
    "row-fit-sparse": (6, 20, 3, 6, 4, 4, False, False, 4, 2, 1),
    "row-fit-skip": (6, 20, 2, 11, 4, 4, False, True, None, 2, 2),
}
ROW_FIT_NNZ = 11
# (shape, px): slots of lanes, OUT_W divisible by px
PIXEL_SHAPES = {
    "px2-skip": ((8, 18, 2, 4, 4, 4, False, True, 4, 2, 4), 2),
    "px3-skip-last": ((6, 12, 3, 2, 4, 3, True, True, None, 2, 3), 3),
    "px2-no-skip": ((4, 9, 2, 2, 3, 4, False, False, 4, 3, 2), 2),
}


def _case(
    shape, sparsity: float, density: float, seed: int, px: int = 1, row_nnz: int | None = None
) -> tuple[dict, dict, dict]:
    """`row_nnz`: every row keeps exactly that many weights (`sparsity` then unused)."""
    m, k, pe, simd, w_bits, a_bits, signed, skip, out_bits, oh, ow = shape
    rng = np.random.default_rng(seed)
    weight = random_weights(rng, (m, k), w_bits, 0.0 if row_nnz else sparsity)
    if row_nnz:
        weight[weight == 0] = 1
        kept = rng.random((m, k)).argsort(axis=1) < row_nnz
        weight = np.where(kept, weight, 0)
    elif sparsity > 0:
        weight[0] = 0  # an empty row still costs one cycle
    acc_bits = accumulator_bits(w_bits, a_bits, k, signed)
    bias = rng.integers(-(2 ** (acc_bits - 2)), 2 ** (acc_bits - 2), size=m)
    shift = None if out_bits is None else int(rng.integers(0, 6))
    parts = [
        engine_part(
            "eng", "linear", (k, 1, 1), weight, bias, w_bits=w_bits, a_bits=a_bits,
            signed=signed, out_bits=out_bits, shift=shift or 0, threshold=1, pe=pe, simd=simd,
            act_skip=skip,
        )
    ]  # fmt: skip
    if out_bits is not None:  # a last layer after it, so that it requantizes
        ones = np.ones((1, m), dtype=np.int64)
        parts.append(engine_part("out", "linear", (m, 1, 1), ones, np.zeros(1), a_bits=out_bits))
    eng = design("eng", parts)
    lo_x, hi_x = (-(2 ** (a_bits - 1)), 2 ** (a_bits - 1)) if signed else (0, 2**a_bits)
    n_frames = 6
    frames = rng.integers(lo_x, hi_x, size=(n_frames, oh * ow, k))
    frames = np.where(rng.random(frames.shape) < density, frames, 0)
    frames[1, 0] = 0  # an all-zero vector
    acc = frames @ weight.T + bias  # (N, vectors, M): the reference model's accumulation
    if shift is not None:
        out = FixedPoint(out_bits, 0, signed=False)
        acc = requantize(acc, shift, 1, out)
    # one output beat per group: px pixels of M channels, pixel j at [j*M*bits +: M*bits]
    expected = [pack(v, out_bits or acc_bits) for v in acc.reshape(-1, px * m)]
    case = {
        "m": m, "fan_in": k, "pe": pe, "simd": simd, "out_h": oh, "out_w": ow, "px": px,
        "a_bits": a_bits, "acc_bits": acc_bits, "act_skip": skip,
        "requant": None if shift is None else [shift, 1, out_bits],
        "fill": ENGINE_FILL, "drain": ENGINE_DRAIN, "weight": weight.tolist(),
        "expected_pixels": expected, "frames": frames.tolist(), "seed": seed, "out_busy": 0.3,
    }  # fmt: skip
    # the layer's own parameters (weight layout included), as vectors of an OUT_H x OUT_W frame
    # computed px at a time
    params = {
        k: int(v) if isinstance(v, bool) else (f'"{v}"' if isinstance(v, str) else v)
        for k, v in engine_parameters(eng, "eng").items()
    } | {"OUT_H": oh, "OUT_W": ow, "PX": px}
    files = {name: "\n".join(lines) + "\n" for name, lines in memory_files(eng, "eng").items()}
    return case, params, files


def _simulate(cocotb_sim, case: dict, params: dict, files: dict) -> None:
    """Run the engine bench on one `_case`, its memories read from the run directory."""
    cocotb_sim(
        "hws_engine",
        params,
        "tests.rtl.benches.engine_bench",
        case,
        plusargs=["+hws_mem_dir=."],
        files=files,
    )


@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
@pytest.mark.parametrize(("sparsity", "density"), [(0.0, 1.0), (0.7, 0.5)], ids=["dense", "sparse"])
def test_engine(cocotb_sim, shape, sparsity, density):
    _simulate(
        cocotb_sim, *_case(SHAPES[shape], sparsity, density, seed=len(shape) + int(10 * density))
    )


@pytest.mark.parametrize("shape", list(ROW_FIT_SHAPES), ids=list(ROW_FIT_SHAPES))
def test_engine_at_an_exact_fit_of_the_longest_row(cocotb_sim, shape):
    _simulate(cocotb_sim, *_case(ROW_FIT_SHAPES[shape], 0.0, 0.5, seed=3, row_nnz=ROW_FIT_NNZ))


@pytest.mark.parametrize("shape", list(PIXEL_SHAPES), ids=list(PIXEL_SHAPES))
@pytest.mark.parametrize(("sparsity", "density"), [(0.0, 1.0), (0.7, 0.5)], ids=["dense", "sparse"])
def test_engine_pixels(cocotb_sim, shape, sparsity, density):
    dims, px = PIXEL_SHAPES[shape]
    _simulate(cocotb_sim, *_case(dims, sparsity, density, seed=px + int(10 * density), px=px))
