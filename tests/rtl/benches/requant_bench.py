"""cocotb bench of hws_requant: random accumulators, shifts and thresholds; expected values
from search.transforms.fixed_point.requantize, computed by the pytest entry (the simulator's
Python does not import torch) and passed in the case."""

import cocotb
from cocotb.triggers import Timer

from tests.rtl.benches.common import load_case


@cocotb.test()
async def requant_matches_reference(dut):
    case = load_case()
    acc_bits, out_bits = int(dut.ACC_BITS.value), int(dut.OUT_BITS.value)
    assert (acc_bits, out_bits) == (case["acc_bits"], case["out_bits"])
    errors = []
    for acc, shift, threshold, want in case["vectors"]:
        dut.acc_i.value = acc & ((1 << acc_bits) - 1)
        dut.shift_i.value = shift & 0xFFFFFFFF
        dut.threshold_i.value = threshold
        await Timer(1, unit="ns")
        got = int(dut.y_o.value)
        if got != want:
            errors.append(f"acc={acc} shift={shift} thr={threshold}: want {want}, got {got}")
    assert not errors, "\n".join(errors[:10])
