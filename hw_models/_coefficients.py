"""Every resource-model coefficient, named, in one place, calibrated against Yosys
`synth_xilinx` on generated designs (bench/synth.py). Units are in the names; formulas are in
`_resources.py` and `_buffers.py`. Those marked fitted: non-negative least squares on the
relative LUT error of the suite's non-held-back designs; the others measured per module
(Yosys's per-module statistics) or taken from the tool's source.
"""

from __future__ import annotations

# --- multipliers -----------------------------------------------------------------------------
# Yosys `synth_xilinx` maps a product to a DSP48 when both operands are at least this wide
# and the product at least DSP_MIN_PRODUCT_BITS (its mul2dsp DSP_A/B_MINWIDTH = 2,
# DSP_Y_MINWIDTH = 9), widths as signed operands (an unsigned activation of A bits is A + 1).
# Vivado's rule (fabric up to about w + a <= 10) differs and is not modelled.
DSP_MIN_OPERAND_BITS = 2
DSP_MIN_PRODUCT_BITS = 9
# FINN-R (Blott et al. 2018) LUT multiplier cost: (2 * ceil((W + A) / 6) - 1) * (W + A)
# (not fitted: the suite's fabric multipliers, 2-3 bits, are too few LUTs to pin a scale).
LUT_MULT_BITS_PER_LUT6 = 6

# --- datapath ---------------------------------------------------------------------------------
# Ripple-carry adders/accumulators map one bit per LUT on the CARRY4/CARRY8 chain.
ADDER_LUTS_PER_BIT = 1.0
# Requantization (hws_requant with constant shift and threshold: two compares of the
# accumulator with constant bounds on the carry chain, an out_bits increment of the rounding
# bit and the output select; the shift is wiring). Least squares on the module alone over
# widths, shifts and thresholds (bench/synth_requant.py), not on the calibration suite.
REQUANT_LUTS_PER_ACC_BIT = 0.26
REQUANT_LUTS_PER_OUT_BIT = 1.38
# Scale of the lockstep activation-select muxes (fitted).
SELECT_LUTS_SCALE = 1.68
# A sparse slot's activation select, per activation bit and bit of log2(columns it can name)
# (its ROM's column indexes and the mux merge in synthesis; fitted).
SPARSE_SELECT_LUTS_PER_BIT = 4.17
LUT6_INPUTS = 6
# An N:1 mux costs about N/4 LUT6 per bit (LUT6 = 4:1 mux, F7/F8 muxes combine them).
MUX_INPUTS_PER_LUT = 4
# Activation-skip compaction: per live column (nonzero in some row of the lane; the others
# fold away) and bit of (value, activation), a step of the priority chain finding the next set
# bit of the work mask (once per lane: COLUMN) and one selecting it into each SIMD slot (SLOT),
# times 1 + COMPACT_MASK_KIND_WEIGHT * log2 of the number of different row masks in the lane's
# ROM (rows per lane, 1 if no weight is zero). Fitted on the suite's non-held-back skip designs by
# bench/fit_skip_chain.py (NNLS on relative LUT error; the mask weight by grid on the same
# designs): relative RMS error 0.165 with the earlier form (SIMD-proportional steps, weight
# 1), 0.120 with this one.
COMPACT_LUTS_PER_COLUMN_BIT = 0.115
COMPACT_LUTS_PER_SLOT_BIT = 0.944
COMPACT_MASK_KIND_WEIGHT = 0.4
# ... counting at most this many masks (the suite measured up to 8 rows per lane; beyond,
# the chain is bounded by the logic for an arbitrary mask)
COMPACT_MAX_MASK_KINDS = 8
# Max-pool: comparator (carry chain) plus 2:1 select, per bit.
MAX_LUTS_PER_BIT = 2.02

# Window buffer (hws_window_buffer): the read and write address logic per bank and address bit
# (fitted).
WINDOW_ADDRESS_LUTS_PER_BANK_BIT = 1.94
# An engine's current input vector: a 2:1 select per bit of the prefetched or arriving one.
VECTOR_SELECT_LUTS_PER_BIT = 1.0

# --- control ---------------------------------------------------------------------------------
# Measured per module on the calibration suite's designs (bench/synth.py --keep: Yosys's
# per-module statistics), the engine's FF count fitted (NNLS on the relative error of the
# non-held-back designs, with the lane's counters and flags, which it absorbs).
STAGE_CONTROL_LUTS = 0  # a fixed stage's FSM and frame counters (add, norm: not calibrated)
STAGE_CONTROL_FFS = 0
LOADER_LUTS = 46  # beat counter and handshake (hws_loader)
LOADER_FFS = 34
MAXPOOL_CONTROL_LUTS = 65  # window request counters and pipeline control (hws_maxpool)
FRAME_BUFFER_CONTROL_LUTS = 8  # ping-pong bank handshake (hws_pingpong), per frame buffer
FRAME_BUFFER_CONTROL_FFS = 7
ENGINE_CONTROL_LUTS = 30  # group sequencer, output pixel enables (hws_engine)
ENGINE_CONTROL_FFS = 96

# --- memories ---------------------------------------------------------------------------------
# Yosys `memory_libmap` (passes/memory/memory_libmap.cc with techlibs/xilinx/lutrams_xc5v.txt
# and brams_xc4v.txt) picks, per memory, the cheapest of soft logic and the primitives below
# by its own cost units; the model repeats that choice (SPEC section 6).
# Soft logic costs 1 per bit for a RAM (registers) and 1/64 per bit for a ROM (LUTs;
# synth_xilinx passes -logic-cost-rom 0.015625 for xc6v, xc7 and UltraScale).
LOGIC_COST_RAM_PER_BIT = 1.0
LOGIC_COST_ROM_PER_BIT = 1.0 / 64.0
# A deeper memory than one primitive is several primitives behind a read mux costing this
# per mux input and data bit (memory_libmap FACTOR_MUX).
MUX_COST_PER_BIT = 0.5
# Simple-dual-port distributed RAM (RAM32M: 32 x 6, RAM64M: 64 x 3, 4 LUTs each): cost 8 per
# primitive, 7 of it scaled by the width used. ROMs are never mapped to LUTRAM (prune_rom).
LUTRAM_SHAPES = ((32, 6), (64, 3))
LUTRAM_PRIMITIVE_LUTS = 4
LUTRAM_COST = 8.0
LUTRAM_WIDTH_COST = 7.0
# Block RAM (depth, width, cost, RAMB18 equivalents): RAMB18E1 true dual port up to 18 bits
# or simple dual port 512 x 36 (cost 129), RAMB36E1 up to 36 bits or 512 x 72 (cost 257).
BRAM_SHAPES = (
    (16384, 1, 129.0, 1), (8192, 2, 129.0, 1), (4096, 4, 129.0, 1), (2048, 9, 129.0, 1),
    (1024, 18, 129.0, 1), (512, 36, 129.0, 1),
    (32768, 1, 257.0, 2), (16384, 2, 257.0, 2), (8192, 4, 257.0, 2), (4096, 9, 257.0, 2),
    (2048, 18, 257.0, 2), (1024, 36, 257.0, 2), (512, 72, 257.0, 2),
)  # fmt: skip
# A ROM left to soft logic: LUT6 per data bit and 64 words (each bit a function of the
# address; data-dependent, fitted on the calibration suite).
ROM_LUTS_PER_BIT_64_WORDS = 1.0

# --- normalisations (norm, softmax) -----------------------------------------------------------
# Fixed-point width of a LayerNorm scale and a reciprocal (one DSP48 port).
NORM_SCALE_BITS = 18
# Width of a softmax exponential in [0, 1]: a 256-entry table of it fits one LUTRAM budget.
EXP_BITS = 16
# Entries of the reciprocal (square root) ROM indexed by the leading bits of a sum.
NORM_ROM_DEPTH = 1024
