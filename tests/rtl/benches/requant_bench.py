"""cocotb benches of hws_requant: accumulators through constant requantizers (a
hws_requant_bank of (shift, threshold) pairs) and through the run-time one (shift and threshold
per vector). Expected values from search.transforms.fixed_point.requantize, computed by the
pytest entry (the simulator's Python does not import torch) and passed in the case."""

import cocotb
from cocotb.triggers import Timer

from tests.rtl.benches.common import load_case, unpack


@cocotb.test()
async def constant_requant_matches_reference(dut):
    case = load_case()
    acc_bits, out_bits = int(dut.ACC_BITS.value), int(dut.OUT_BITS.value)
    assert (acc_bits, out_bits) == (case["acc_bits"], case["out_bits"])
    pairs = case["pairs"]
    assert int(dut.N.value) == len(pairs)
    errors = []
    for acc, want in zip(case["accs"], case["expected"], strict=True):
        dut.acc_i.value = acc & ((1 << acc_bits) - 1)
        await Timer(1, unit="ns")
        got = unpack(int(dut.y_o.value), len(pairs), out_bits, signed=False)
        for (shift, threshold), w, g in zip(pairs, want, got, strict=True):
            if w != g:
                errors.append(f"acc={acc} SHIFT={shift} THRESHOLD={threshold}: want {w}, got {g}")
    assert not errors, f"{len(errors)} mismatches:\n" + "\n".join(errors[:10])


@cocotb.test()
async def runtime_requant_matches_reference(dut):
    case = load_case()
    acc_bits, out_bits = int(dut.ACC_BITS.value), int(dut.OUT_BITS.value)
    assert (acc_bits, out_bits) == (case["acc_bits"], case["out_bits"])
    assert int(dut.RUNTIME.value) == 1
    errors = []
    for acc, shift, threshold, want in case["vectors"]:
        dut.acc_i.value = acc & ((1 << acc_bits) - 1)
        dut.shift_i.value = shift & 0xFFFFFFFF
        dut.threshold_i.value = threshold
        await Timer(1, unit="ns")
        got = int(dut.y_o.value)
        if got != want:
            errors.append(f"acc={acc} shift={shift} thr={threshold}: want {want}, got {got}")
    assert not errors, f"{len(errors)} mismatches:\n" + "\n".join(errors[:10])
