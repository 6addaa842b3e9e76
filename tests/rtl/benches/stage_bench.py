"""cocotb benches of the simple stages: hws_maxpool (a window source; expected pixels from the
reference `MaxPool` of search.transforms, computed by the pytest entry; `px` windows per request
and px pixels per output beat) and hws_loader (a stalling stream of beats). Both check outputs
in order and the frame times exactly (SPEC sections 2 and 4) plus the start rule, cycle by
cycle."""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from tests.rtl.benches.common import InOrderChecker, load_case, pack, start_and_reset


@cocotb.test()
async def maxpool_frames(dut):
    case = load_case()
    k, s, bits, signed = case["kernel"], case["stride"], case["bits"], case["signed"]
    frames = np.array(case["frames"], dtype=np.int64)  # (N, C, H, W)
    pooled = np.array(case["pooled"], dtype=np.int64)  # reference model, (N, C, OH, OW)
    n, _, oh, ow = pooled.shape
    px = case["px"]
    groups = oh * ow // px
    pixels = InOrderChecker("pixels")
    releases, dones = InOrderChecker("release cycles"), InOrderChecker("done cycles")
    for f in pooled:
        for r in range(oh):
            for g in range(ow // px):  # one beat: px pixels, pixel-major
                pixels.expect(pack(f[:, r, g * px : (g + 1) * px].T.reshape(-1), bits))
    rng = np.random.default_rng(case["seed"])
    await start_and_reset(dut)
    dut.s_win_valid_i.value = 0
    busy, n_started, n_done, pending, errors = False, 0, 0, None, []
    for cycle in range(n * (case["fixed_drain"] + groups) * 4 + 100):
        await RisingEdge(dut.clk_i)
        avail, free = n_started < n and rng.random() < 0.7, rng.random() < 0.7
        dut.in_avail_i.value, dut.out_free_i.value = int(avail), int(free)
        dut.s_win_valid_i.value = int(pending is not None)
        if pending is not None:  # 1-cycle read latency, px windows in (kh, kw, c) order
            f, (r, g) = frames[pending[0]], pending[1]
            wins = [
                f[:, r * s : r * s + k, q * s : q * s + k].transpose(1, 2, 0).reshape(-1)
                for q in range(g * px, (g + 1) * px)
            ]
            dut.s_win_data_i.value = pack(np.concatenate(wins), bits)
        await FallingEdge(dut.clk_i)
        if int(dut.release_o.value):
            releases.observe(cycle)
            busy = False
        if int(dut.done_o.value):
            dones.observe(cycle)
            n_done += 1
        start = bool(dut.start_o.value)
        if start != ((not busy) and avail and free):
            errors.append(f"cycle {cycle}: start_o={start}")
        if start:  # frames overlap: release after the last window, done a drain later
            busy, n_started = True, n_started + 1
            releases.expect(cycle + groups)
            dones.expect(cycle + groups + case["fixed_drain"])
        pending = None
        if int(dut.m_win_req_o.value):
            pending = (n_started - 1, (int(dut.m_win_row_o.value), int(dut.m_win_col_o.value)))
        if int(dut.m_pix_valid_o.value):
            pixels.observe(int(dut.m_pix_data_o.value))
        if n_done == n:
            break
    assert not errors, "\n".join(errors[:10])
    pixels.check()
    releases.check()
    dones.check()
    assert signed in (True, False)


@cocotb.test()
async def loader_frames(dut):
    case = load_case()
    words, pixels_per_frame = case["words"], case["pixels"]
    rng = np.random.default_rng(case["seed"])
    out, times = InOrderChecker("pixels"), InOrderChecker("frame cycles")
    for w in words:
        out.expect(w)
    for _ in range(len(words) // pixels_per_frame):
        times.expect(pixels_per_frame)  # the stream below never stalls inside a frame
    await start_and_reset(dut)
    ptr, busy, started_at, errors = 0, False, 0, []
    for cycle in range(len(words) * 8 + 100):
        await RisingEdge(dut.clk_i)
        # the stream pauses only between frames; the output buffer is randomly busy
        between = not busy
        valid = ptr < len(words) and not (between and rng.random() < 0.3)
        free = rng.random() < 0.6
        dut.s_pix_valid_i.value = int(valid)
        dut.s_pix_data_i.value = words[ptr] if valid else 0
        dut.out_free_i.value = int(free)
        await FallingEdge(dut.clk_i)
        if int(dut.done_o.value):
            times.observe(cycle - started_at)
            busy = False
        start = bool(dut.start_o.value)
        if start != ((not busy) and valid and free):
            errors.append(f"cycle {cycle}: start_o={start}")
        if start:
            busy, started_at = True, cycle
        ready = bool(dut.s_pix_ready_o.value)
        if int(dut.m_pix_valid_o.value) != int(valid and ready):
            errors.append(f"cycle {cycle}: m_pix_valid_o != valid && ready")
        if valid and ready:
            out.observe(int(dut.m_pix_data_o.value))
            ptr += 1
        if not times.expected:
            break
    assert not errors, "\n".join(errors[:10])
    out.check()
    times.check()
