"""cocotb bench of hws_engine: a frame source answering the engine's vector requests, a pixel
monitor, the expected pixels (from the integer reference model of search.transforms, computed
by the pytest entry, so the simulator's Python needs no torch), the SPEC section 3 cycle model
for the frame times, and in-order checkers.

Frames are offered at random times and the output buffer is randomly busy, so the start rule
(idle, input available, output free) is checked cycle by cycle as well.
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from tests.rtl.benches.common import InOrderChecker, load_case, pack, start_and_reset


class EngineModel:
    """Cycles of one vector and of one frame (SPEC section 3)."""

    def __init__(self, case: dict) -> None:
        self.w = np.array(case["weight"], dtype=np.int64)  # (M, K)
        self.c = case

    def vector_cycles(self, x: np.ndarray) -> int:
        c = self.c
        work = (self.w != 0) & ((x != 0)[None, :] if c["act_skip"] else True)
        rows = np.maximum(1, -(-work.sum(axis=1) // c["simd"]))  # (M,)
        lanes = rows.reshape(-1, c["pe"]).sum(axis=0)  # row o belongs to lane o mod PE
        return c["vector_overhead"] + int(lanes.max())

    def frame_cycles(self, frame: np.ndarray) -> int:
        return self.c["layer_overhead"] + sum(self.vector_cycles(x) for x in frame)


@cocotb.test()
async def engine_frames(dut):
    case = load_case()
    for name in ("M", "FAN_IN", "PE", "SIMD", "OUT_H", "OUT_W"):
        assert int(getattr(dut, name).value) == case[name.lower()], name
    model = EngineModel(case)
    frames = [np.array(f, dtype=np.int64) for f in case["frames"]]  # (N, vectors, K)
    a_bits, out_w = case["a_bits"], case["out_w"]
    rng = np.random.default_rng(case["seed"])
    ready_at = np.cumsum(rng.integers(0, 2 * model.frame_cycles(frames[0]), len(frames)))
    busy_out = rng.random(100_000) < case["out_busy"]  # per-cycle output-buffer busy pattern

    pixels, times = InOrderChecker("pixels"), InOrderChecker("frame cycles")
    for word in case["expected_pixels"]:
        pixels.expect(word)
    for frame in frames:
        times.expect(model.frame_cycles(frame))

    await start_and_reset(dut)
    dut.in_avail_i.value = 0
    dut.out_free_i.value = 0
    dut.s_win_valid_i.value = 0
    cycle, n_started, running, started_at, pending = 0, 0, False, 0, None
    writes_in_frame, errors = 0, []
    limit = sum(model.frame_cycles(f) for f in frames) * 3 + int(ready_at[-1]) + 200
    while times.expected and cycle < limit:
        await RisingEdge(dut.clk_i)
        # ---- drive this cycle's inputs
        avail = n_started < len(frames) and cycle >= ready_at[n_started]
        free = not busy_out[cycle]
        dut.in_avail_i.value = int(avail)
        dut.out_free_i.value = int(free)
        if pending is not None:  # answer last cycle's request (1-cycle read latency)
            frame, (row, col) = frames[pending[0]], pending[1]
            dut.s_win_data_i.value = pack(frame[row * out_w + col], a_bits)
            dut.s_win_valid_i.value = 1
        else:
            dut.s_win_valid_i.value = 0
        await FallingEdge(dut.clk_i)
        # ---- sample this cycle's outputs
        done = bool(dut.done_o.value)
        start = bool(dut.start_o.value)
        if done:
            if not running:
                errors.append(f"cycle {cycle}: done without a frame")
            times.observe(cycle - started_at)
            if writes_in_frame != len(frames[0]):
                errors.append(f"cycle {cycle}: {writes_in_frame} pixels written in the frame")
            running, writes_in_frame = False, 0
        if start != ((not running) and avail and free):
            errors.append(f"cycle {cycle}: start_o={start}, expected {not start}")
        if start:
            running, started_at = True, cycle
            n_started += 1
        pending = None
        if int(dut.m_win_req_o.value):
            row, col = int(dut.m_win_row_o.value), int(dut.m_win_col_o.value)
            pending = (n_started - 1, (row, col))
        if int(dut.m_pix_valid_o.value):
            pixels.observe(int(dut.m_pix_data_o.value))
            writes_in_frame += 1
        cycle += 1
    assert not errors, "\n".join(errors[:10])
    pixels.check()
    times.check()
    dut._log.info(
        "%d frames, %d pixels, frame cycles %s",
        len(frames),
        pixels.matched,
        [model.frame_cycles(f) for f in frames][:8],
    )
