"""cocotb bench of hws_engine: a frame source answering the engine's group requests (`px`
vectors of consecutive output pixels of one row per request, px = 1 for one vector), a pixel
monitor, the expected pixels (from the integer reference model of search.transforms, computed
by the pytest entry, so the simulator's Python needs no torch), the SPEC section 3-4 cycle
model of the overlapped engine, and in-order checkers.

Frames are offered at random times and the output buffer is randomly busy, so the start rule
(the previous frame released, input available, output free) is checked cycle by cycle, and
every release and done pulse must come in the cycle the model gives for the observed start.
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from tests.rtl.benches.common import InOrderChecker, load_case, pack, start_and_reset


class EngineModel:
    """Work of one group of `px` vectors (the slowest lane of all slots, SPEC section 3) and of
    one frame, and the cycles of a frame's release and done given its start (SPEC section 4,
    a group for a vector)."""

    def __init__(self, case: dict) -> None:
        self.w = np.array(case["weight"], dtype=np.int64)  # (M, K)
        self.c = case
        self.lanes_free = 0  # last cycle the lanes work on the previous frame

    def vector_cycles(self, x: np.ndarray) -> int:
        c = self.c
        work = (self.w != 0) & ((x != 0)[None, :] if c["act_skip"] else True)
        rows = np.maximum(1, -(-work.sum(axis=1) // c["simd"]))  # (M,)
        lanes = rows.reshape(-1, c["pe"]).sum(axis=0)  # row o belongs to lane o mod PE
        return int(lanes.max())

    def groups(self, frame: np.ndarray) -> np.ndarray:
        """(groups, px, K): the frame's vectors, `px` consecutive ones per group."""
        return frame.reshape(-1, self.c["px"], frame.shape[-1])

    def group_cycles(self, group: np.ndarray) -> int:
        return max(self.vector_cycles(x) for x in group)

    def frame_work(self, frame: np.ndarray) -> int:
        return sum(self.group_cycles(g) for g in self.groups(frame))

    def started(self, frame: np.ndarray, cycle: int) -> tuple[int, int]:
        """(release, done) cycles of a frame started in `cycle`."""
        end = max(cycle + self.c["fill"], self.lanes_free) + self.frame_work(frame)
        self.lanes_free = end
        return end - self.group_cycles(self.groups(frame)[-1]), end + self.c["drain"]


@cocotb.test()
async def engine_frames(dut):
    case = load_case()
    for name in ("M", "FAN_IN", "PE", "SIMD", "OUT_H", "OUT_W", "PX"):
        assert int(getattr(dut, name).value) == case[name.lower()], name
    model = EngineModel(case)
    frames = [np.array(f, dtype=np.int64) for f in case["frames"]]  # (N, vectors, K)
    a_bits, px, cols = case["a_bits"], case["px"], case["out_w"] // case["px"]
    rng = np.random.default_rng(case["seed"])
    # frames arrive close together (back to back, overlapping) and sometimes far apart
    gaps = np.where(rng.random(len(frames)) < 0.5, 0, rng.integers(1, 40, len(frames)))
    ready_at = np.cumsum(gaps)
    busy_out = rng.random(100_000) < case["out_busy"]  # per-cycle output-buffer busy pattern

    pixels = InOrderChecker("pixels")
    for word in case["expected_pixels"]:
        pixels.expect(word)
    releases, dones = InOrderChecker("release cycles"), InOrderChecker("done cycles")

    await start_and_reset(dut)
    dut.in_avail_i.value = 0
    dut.out_free_i.value = 0
    dut.s_win_valid_i.value = 0
    cycle, n_started, fetching, pending, n_done, errors = 0, 0, False, None, 0, []
    limit = sum(model.frame_work(f) for f in frames) * 3 + int(ready_at[-1]) + 200
    while n_done < len(frames) and cycle < limit:
        await RisingEdge(dut.clk_i)
        # ---- drive this cycle's inputs
        avail = n_started < len(frames) and cycle >= ready_at[n_started]
        free = not busy_out[cycle]
        dut.in_avail_i.value = int(avail)
        dut.out_free_i.value = int(free)
        if pending is not None:  # answer last cycle's request (1-cycle read latency)
            frame, (row, col) = frames[pending[0]], pending[1]
            first = (row * cols + col) * px
            dut.s_win_data_i.value = pack(frame[first : first + px].reshape(-1), a_bits)
            dut.s_win_valid_i.value = 1
        else:
            dut.s_win_valid_i.value = 0
        await FallingEdge(dut.clk_i)
        # ---- sample this cycle's outputs
        release, start = bool(dut.release_o.value), bool(dut.start_o.value)
        if release:
            releases.observe(cycle)
            fetching = False
        if bool(dut.done_o.value):
            dones.observe(cycle)
            n_done += 1
        if start != ((not fetching) and avail and free):
            errors.append(f"cycle {cycle}: start_o={start}, expected {not start}")
        if start:
            rel, done = model.started(frames[n_started], cycle)
            releases.expect(rel)
            dones.expect(done)
            fetching = True
            n_started += 1
        pending = None
        if int(dut.m_win_req_o.value):
            row, col = int(dut.m_win_row_o.value), int(dut.m_win_col_o.value)
            pending = (n_started - 1, (row, col))
        if int(dut.m_pix_valid_o.value):
            pixels.observe(int(dut.m_pix_data_o.value))
        cycle += 1
    assert not errors, "\n".join(errors[:10])
    pixels.check()
    releases.check()
    dones.check()
    dut._log.info(
        "%d frames, %d pixels, frame work %s",
        len(frames),
        pixels.matched,
        [model.frame_work(f) for f in frames][:8],
    )
