"""Max-pool and loader stages: outputs, exact start, release and done cycles, the start rule."""

import numpy as np
import pytest

from hw_models import FIXED_DRAIN, sliding_window_size
from search.transforms.integer_model import MaxPool

pytestmark = pytest.mark.sim


@pytest.mark.parametrize(
    ("c", "bits", "signed", "k", "s", "h", "w", "px"),
    [
        (3, 4, False, 2, 2, 6, 6, 1),
        (2, 5, True, 3, 1, 4, 5, 1),
        (1, 3, False, 2, 2, 2, 2, 1),
        (3, 4, False, 2, 2, 6, 8, 2),
        (2, 3, True, 3, 1, 5, 8, 3),
    ],
    ids=["2x2-s2", "3x3-s1-signed", "one-pixel-frames", "2x2-s2-px2", "3x3-s1-signed-px3"],
)
def test_maxpool(cocotb_sim, c, bits, signed, k, s, h, w, px):
    rng = np.random.default_rng(bits)
    lo_x, hi_x = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
    frames = rng.integers(lo_x, hi_x, size=(4, c, h, w))
    oh, ow = (sliding_window_size(x, k, s, 0) for x in (h, w))
    params = {
        "CHANNELS": c,
        "BITS": bits,
        "SIGNED": int(signed),
        "KERNEL": k,
        "OUT_H": oh,
        "OUT_W": ow,
        "PX": px,
    }
    case = {
        "kernel": k,
        "stride": s,
        "bits": bits,
        "signed": signed,
        "fixed_drain": FIXED_DRAIN,
        "px": px,
        "frames": frames.tolist(),
        "pooled": MaxPool("pool", k, s)(frames).tolist(),
        "seed": 5,
    }
    cocotb_sim(
        "hws_maxpool", params, "tests.rtl.benches.stage_bench", case, testcase="maxpool_frames"
    )


@pytest.mark.parametrize(("pix_bits", "pixels", "px"), [(8, 4, 1), (3, 1, 1), (5, 6, 2)])
def test_loader(cocotb_sim, pix_bits, pixels, px):
    rng = np.random.default_rng(pixels)
    beats = pixels // px  # the loader takes px pixels per beat: a frame is pixels/px cycles
    words = rng.integers(0, 2 ** (px * pix_bits), size=6 * beats).tolist()
    case = {"words": words, "pixels": beats, "seed": 2}
    cocotb_sim(
        "hws_loader",
        {"PIX_BITS": pix_bits, "PIXELS": pixels, "PX": px},
        "tests.rtl.benches.stage_bench",
        case,
        testcase="loader_frames",
    )
