"""rtl: the hwsearch accelerator in SystemVerilog, its generator and the confirmation runner.

    network = Network("mlp", (Layer("fc1", "linear", (64, 1, 1), w, b, ...), ...))
    generate(network, "out/mlp")                    # generated top + run-time memory files
    report = confirm(network, input_codes, golden)  # Verilator: bit-exact? cycles per stage?
    counts = rtl.synth.synthesize(network)          # Yosys synth_xilinx: LUT/FF/DSP/BRAM18

Hand-written modules live in rtl/hdl/ (one module per file, see each header for its timing);
the generator only instantiates them. This package does not import search/ or service/.
"""

from rtl.confirm import (
    ConfirmationError,
    ConfirmationJob,
    ConfirmationReport,
    Mismatch,
    confirm,
    confirm_many,
)
from rtl.description import DescriptionError, Layer, Network, Requant
from rtl.generate import generate, generate_top
from rtl.memfiles import parse_outputs, write_inputs, write_memories

__all__ = [
    "ConfirmationError",
    "ConfirmationJob",
    "ConfirmationReport",
    "DescriptionError",
    "Layer",
    "Mismatch",
    "Network",
    "Requant",
    "confirm",
    "confirm_many",
    "generate",
    "generate_top",
    "parse_outputs",
    "write_inputs",
    "write_memories",
]
