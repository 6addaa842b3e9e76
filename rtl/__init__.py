"""rtl: the hwsearch accelerator in SystemVerilog, its generator and its simulation runner.

rtl/ has no description of the accelerator of its own: it generates from hw_models' contract
types, the `hw_models.Network` (stages, shapes, widths, weight masks) and its
`hw_models.Folding` (PE, SIMD, pixels per cycle), plus what only the RTL needs, each engine's
`MemoryImage` (integer weight and bias codes, requantization shift and threshold):

    design = Design(network, folding, {"fc1": MemoryImage(weight, bias, shift=3), ...})
    generate(design, "out/mlp")                    # generated top + run-time memory files
    report = confirm(design, input_codes, golden)  # Verilator: bit-exact? cycles per stage?
    counts = rtl.synth.synthesize(design)          # Yosys synth_xilinx: LUT/FF/DSP/BRAM18

Synthesis checks compare Yosys' counts with `hw_models.estimate` of the same network and
folding (`rtl.synth.estimate_resources`). Hand-written modules live in rtl/hdl/ (one module per
file, see each header for its timing); the generator only instantiates them. This package
does not import search/ or service/.
"""

from rtl.design import RTL_KINDS, Design, DesignError, MemoryImage
from rtl.generate import generate, generate_top
from rtl.memfiles import parse_outputs, write_inputs, write_memories
from rtl.simulate import (
    ConfirmationError,
    ConfirmationJob,
    ConfirmationReport,
    Mismatch,
    confirm,
    confirm_many,
)

__all__ = [
    "RTL_KINDS",
    "ConfirmationError",
    "ConfirmationJob",
    "ConfirmationReport",
    "Design",
    "DesignError",
    "MemoryImage",
    "Mismatch",
    "confirm",
    "confirm_many",
    "generate",
    "generate_top",
    "parse_outputs",
    "write_inputs",
    "write_memories",
]
