"""Frame buffers of 2 or 3 frames: the conv window unit (banked, stride, zero padding) and the
flat vector buffer, with the bank flags of hws_pingpong checked every cycle."""

import numpy as np
import pytest

from hw_models import sliding_window_size

pytestmark = pytest.mark.sim

# (channels, bits, height, width, kernel, stride, padding, handoff, write_px, read_px, frames)
WINDOW_SHAPES = {
    "3x3-pad1": (2, 3, 5, 6, 3, 1, 1, 1, 1, 1, 2),
    "pool-2x2-s2": (1, 4, 8, 8, 2, 2, 0, 1, 1, 1, 2),
    "3x3-s2-pad2-handoff3": (3, 2, 7, 5, 3, 2, 2, 3, 1, 1, 2),
    "5x5-1x1-frame": (2, 5, 1, 1, 1, 1, 0, 1, 1, 1, 2),
    # pixel parallelism: banks K x max(write_px, (read_px - 1) * stride + K)
    "3x3-pad1-write2-read3": (2, 3, 5, 6, 3, 1, 1, 1, 2, 3, 2),
    "3x3-s2-pad1-write3-read3": (1, 4, 5, 6, 3, 2, 1, 2, 3, 3, 2),
    "pool-2x2-s2-write4-read2": (2, 3, 4, 8, 2, 2, 0, 1, 4, 2, 2),
    "1x1-write6-read2": (1, 3, 3, 6, 1, 1, 0, 1, 6, 2, 2),
    # triple-buffered: the producer runs up to three frames ahead of its consumer
    "3x3-pad1-3frames": (2, 3, 5, 6, 3, 1, 1, 1, 1, 1, 3),
    "pool-2x2-s2-handoff2-write2-read2-3frames": (1, 4, 4, 8, 2, 2, 0, 2, 2, 2, 3),
}


def _frames(rng, shape, bits, n=5):
    return rng.integers(0, 2**bits, size=(n, *shape)).tolist()


@pytest.mark.parametrize("shape", list(WINDOW_SHAPES), ids=list(WINDOW_SHAPES))
def test_window_buffer(cocotb_sim, shape):
    c, bits, h, w, k, s, p, handoff, write_px, read_px, banks = WINDOW_SHAPES[shape]
    rng = np.random.default_rng(h * w + k)
    oh, ow = (sliding_window_size(x, k, s, p) for x in (h, w))
    case = {
        "kind": "window",
        "bits": bits,
        "kernel": k,
        "stride": s,
        "padding": p,
        "out_w": ow,
        "n_reads": oh * ow // read_px,
        "handoff": handoff,
        "write_px": write_px,
        "read_px": read_px,
        "banks": banks,
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
        "WRITE_PX": write_px,
        "READ_PX": read_px,
        "BANKS": banks,
    }
    cocotb_sim("hws_window_buffer", params, "tests.rtl.benches.buffer_bench", case)


@pytest.mark.parametrize(
    ("c", "bits", "h", "w", "handoff", "write_px", "banks"),
    [(3, 4, 1, 1, 1, 1, 2), (2, 3, 2, 3, 2, 1, 2), (2, 3, 2, 4, 1, 2, 2), (2, 3, 2, 4, 2, 2, 3)],
)
def test_vector_buffer(cocotb_sim, c, bits, h, w, handoff, write_px, banks):
    rng = np.random.default_rng(c * bits)
    case = {
        "kind": "vector",
        "bits": bits,
        "n_reads": 1,
        "handoff": handoff,
        "write_px": write_px,
        "banks": banks,
        "seed": 3,
        "frames": _frames(rng, (c, h, w), bits, n=8),
    }
    params = {
        "PIX_BITS": c * bits,
        "PIXELS": h * w,
        "HANDOFF": handoff,
        "WRITE_PX": write_px,
        "BANKS": banks,
    }
    cocotb_sim("hws_vector_buffer", params, "tests.rtl.benches.buffer_bench", case)
