"""cocotb bench of the multi-bank frame buffers (hws_window_buffer, hws_vector_buffer, and
through them hws_pingpong): a producer writing random frames with gaps, `write_px` pixels of a
row per beat, a consumer reading every group of `read_px` windows (or the whole vector) with
gaps, a numpy model of the windows (stride, zero padding, (kh, kw, cin) order, window j of a
group at the j-th slot of the read word) and a model of the bank flags (SPEC section 4: the
producer claims a bank when it starts a frame, possibly before its previous frame's done
pulse, as an overlapping stage does, at most `banks` frames ahead of its consumer; a frame is
readable HANDOFF cycles after its done pulse; a bank is free in the cycle its consumer
releases it).
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from tests.rtl.benches.common import InOrderChecker, load_case, pack, start_and_reset


def expected_reads(case: dict, frame: np.ndarray) -> list[int]:
    """Read words of one (C, H, W) frame: every group of `read_px` windows (consecutive
    output pixels of one row) in row-major order, or the vector."""
    c, bits = frame.shape[0], case["bits"]
    if case["kind"] == "vector":
        return [pack(frame.transpose(1, 2, 0).reshape(-1), bits)]
    k, s, p = case["kernel"], case["stride"], case["padding"]
    padded = np.pad(frame, ((0, 0), (p, p), (p, p)))
    oh = (padded.shape[1] - k) // s + 1
    ow = (padded.shape[2] - k) // s + 1
    px = case.get("read_px", 1)
    words = []
    for r in range(oh):
        for g in range(ow // px):
            wins = [
                padded[:, r * s : r * s + k, q * s : q * s + k].transpose(1, 2, 0).reshape(-1)
                for q in range(g * px, (g + 1) * px)
            ]  # each (kh, kw, C) flattened
            words.append(pack(np.concatenate(wins), bits))
    assert len(words) == oh * ow // px and c >= 1
    return words


class Producer:
    """Claims a bank (prod_start) and writes frames `px` pixels of a row per beat with random
    gaps; pulses prod_done 1-4 cycles after the last beat, and may claim the next bank before
    that, but writes the next frame only from its done cycle on."""

    def __init__(self, dut, frames, bits, rng, px=1) -> None:
        self.dut, self.frames, self.bits, self.rng, self.px = dut, frames, bits, rng, px
        self.n, self.pix, self.writing, self.done_due, self.done_wait = 0, 0, False, False, 0
        self.start_cycles: list[int] = []
        self.done_cycles: list[int] = []

    def pulse_done(self, cycle: int) -> None:
        """Drive prod_done_i for this cycle (due some cycles after the last pixel)."""
        pulse = self.done_due and self.done_wait == 0
        self.done_wait -= 1
        self.dut.prod_done_i.value = int(pulse)
        if pulse:
            self.done_cycles.append(cycle)
            self.done_due = False

    def act(self, wr_free: bool, cycle: int) -> bool:
        """Write this cycle's pixel, starting a frame only if wr_free; True on a start."""
        dut, started, write = self.dut, False, False
        if not self.writing and self.n < len(self.frames) and wr_free and self.rng.random() < 0.7:
            self.writing, self.pix, started = True, 0, True
            self.start_cycles.append(cycle)
        dut.prod_start_i.value = int(started)
        if self.writing and not self.done_due and (started or self.rng.random() < 0.8):
            frame = self.frames[self.n]
            h, w = frame.shape[1:]
            row, col = self.pix // w, self.pix % w
            beat = frame[:, row, col : col + self.px].T.reshape(-1)  # pixel-major
            dut.s_pix_data_i.value = pack(beat, self.bits)
            write = True
            self.pix += self.px
            if self.pix == h * w:
                self.writing, self.n = False, self.n + 1
                self.done_due = True  # done pulse in a later cycle
                self.done_wait = int(self.rng.integers(0, 4))
        dut.s_pix_valid_i.value = int(write)
        return started


class Consumer:
    """Requests every window of a frame with random gaps; pulses cons_done after the last."""

    def __init__(self, dut, case, rng, checker) -> None:
        self.dut, self.case, self.rng, self.checker = dut, case, rng, checker
        self.n, self.req, self.reading, self.done_due = 0, 0, False, False
        self.n_reads = case["n_reads"]
        self.done_cycles: list[int] = []

    def pulse_done(self, cycle: int) -> None:
        """Drive cons_done_i for this cycle (due since the last request)."""
        self.dut.cons_done_i.value = int(self.done_due)
        if self.done_due:
            self.done_cycles.append(cycle)
            self.done_due = False

    def act(self, rd_avail: bool) -> bool:
        """Request this cycle's window, starting a frame only if rd_avail; True on a request."""
        dut = self.dut
        start = not self.reading and rd_avail and self.rng.random() < 0.7
        if start:
            self.reading, self.req = True, 0
        request = self.reading and (start or self.rng.random() < 0.8)
        if request and self.case["kind"] == "window":
            groups = self.case["out_w"] // self.case.get("read_px", 1)
            dut.rd_row_i.value = self.req // groups
            dut.rd_col_i.value = self.req % groups
        dut.rd_req_i.value = int(request)
        if request:
            self.req += 1
            if self.req == self.n_reads:
                self.reading, self.n, self.done_due = False, self.n + 1, True
        return request


@cocotb.test()
async def buffer_frames(dut):
    case = load_case()
    rng = np.random.default_rng(case["seed"])
    frames = [np.array(f, dtype=np.int64) for f in case["frames"]]
    reads = InOrderChecker("reads")
    for frame in frames:
        for word in expected_reads(case, frame):
            reads.expect(word)
    handoff = case["handoff"]
    producer = Producer(dut, frames, case["bits"], rng, case.get("write_px", 1))
    consumer = Consumer(dut, case, rng, reads)
    for name in ("prod_start_i", "prod_done_i", "cons_done_i", "s_pix_valid_i", "rd_req_i"):
        getattr(dut, name).value = 0
    await start_and_reset(dut)
    flag_errors: list[str] = []
    read_pending = False
    for cycle in range(40 * sum(f.size for f in frames) + 500):
        await RisingEdge(dut.clk_i)
        producer.pulse_done(cycle)
        consumer.pulse_done(cycle)
        await Timer(1, unit="ns")  # the flags see this cycle's done pulses
        claimed, consumed = len(producer.start_cycles), len(consumer.done_cycles)
        readable = sum(1 for d in producer.done_cycles if d <= cycle - handoff)
        want = (claimed - consumed < case["banks"], readable - consumed >= 1)
        got = (bool(dut.wr_free_o.value), bool(dut.rd_avail_o.value))
        if got != want:
            flag_errors.append(f"cycle {cycle}: wr_free/rd_avail {got}, model {want}")
        producer.act(got[0], cycle)
        requested = consumer.act(got[1])
        await FallingEdge(dut.clk_i)
        if read_pending:  # last cycle's request is answered in this cycle
            assert int(dut.rd_valid_o.value) == 1, f"cycle {cycle}: read data not valid"
            reads.observe(int(dut.rd_data_o.value))
        read_pending = requested
        if consumed == len(frames) and not read_pending:
            break
    assert not flag_errors, "\n".join(flag_errors[:10])
    reads.check()
