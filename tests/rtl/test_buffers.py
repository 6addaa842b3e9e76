"""Ping-pong frame buffers: the conv window unit (banked, stride, zero padding) and the flat
vector buffer, with the bank flags of hws_pingpong checked every cycle."""

import numpy as np
import pytest

from hw_models import sliding_window_size

pytestmark = pytest.mark.sim

# (channels, bits, height, width, kernel, stride, padding, handoff)
WINDOW_SHAPES = {
    "3x3-pad1": (2, 3, 5, 6, 3, 1, 1, 1),
    "pool-2x2-s2": (1, 4, 8, 8, 2, 2, 0, 1),
    "3x3-s2-pad2-handoff3": (3, 2, 7, 5, 3, 2, 2, 3),
    "5x5-1x1-frame": (2, 5, 1, 1, 1, 1, 0, 1),
}


def _frames(rng, shape, bits, n=5):
    return rng.integers(0, 2**bits, size=(n, *shape)).tolist()


@pytest.mark.parametrize("shape", list(WINDOW_SHAPES), ids=list(WINDOW_SHAPES))
def test_window_buffer(cocotb_sim, shape):
    c, bits, h, w, k, s, p, handoff = WINDOW_SHAPES[shape]
    rng = np.random.default_rng(h * w + k)
    oh, ow = (sliding_window_size(x, k, s, p) for x in (h, w))
    case = {
        "kind": "window",
        "bits": bits,
        "kernel": k,
        "stride": s,
        "padding": p,
        "out_w": ow,
        "n_reads": oh * ow,
        "handoff": handoff,
        "seed": 7,
        "frames": _frames(rng, (c, h, w), bits),
    }
    params = {
        "CHANNELS": c,
        "BITS": bits,
        "HEIGHT": h,
        "WIDTH": w,
        "KERNEL": k,
        "STRIDE": s,
        "PADDING": p,
        "HANDOFF": handoff,
    }
    cocotb_sim("hws_window_buffer", params, "tests.rtl.benches.buffer_bench", case)


@pytest.mark.parametrize(("c", "bits", "h", "w", "handoff"), [(3, 4, 1, 1, 1), (2, 3, 2, 3, 2)])
def test_vector_buffer(cocotb_sim, c, bits, h, w, handoff):
    rng = np.random.default_rng(c * bits)
    case = {
        "kind": "vector",
        "bits": bits,
        "n_reads": 1,
        "handoff": handoff,
        "seed": 3,
        "frames": _frames(rng, (c, h, w), bits, n=8),
    }
    params = {"PIX_BITS": c * bits, "PIXELS": h * w, "HANDOFF": handoff}
    cocotb_sim("hws_vector_buffer", params, "tests.rtl.benches.buffer_bench", case)
