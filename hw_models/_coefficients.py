"""Every resource-model coefficient, named, in one place (to be calibrated against Yosys
`synth_xilinx` on generated designs). Units are in the names; formulas are in `_resources.py`
and `_stage_resources.py`.
"""

from __future__ import annotations

# --- multipliers -----------------------------------------------------------------------------
# A product whose operand widths sum to at most this is built from LUTs, not a DSP (Vivado and
# Yosys map small multipliers to fabric; hls4ml reports the same crossover for <= ~10-bit
# products).
LUT_MULT_MAX_SUM_BITS = 10
# FINN-R (Blott et al. 2018) LUT multiplier cost: (2 * ceil((W + A) / 6) - 1) * (W + A).
LUT_MULT_BITS_PER_LUT6 = 6
# Shift between the two weights packed into one DSP pre-adder operand (Xilinx WP486 "Deep
# Learning with INT8 Optimization on Xilinx Devices": two products sharing one activation).
DSP_PACK_SHIFT_BITS = 18
# LUTs per packed DSP to split and sign-correct the two products (WP486 correction term).
DSP_PACK_CORRECTION_LUTS = 4

# --- datapath ---------------------------------------------------------------------------------
# Ripple-carry adders/accumulators map one bit per LUT on the CARRY4/CARRY8 chain.
ADDER_LUTS_PER_BIT = 1.0
# Requantization (rounding adder, threshold compare, saturation) per accumulator bit.
REQUANT_LUTS_PER_BIT = 2.0
# An N:1 mux costs about N/4 LUT6 per bit (LUT6 = 4:1 mux, F7/F8 muxes combine them).
MUX_INPUTS_PER_LUT = 4
# Activation-skip compaction: per SIMD slot and mask bit, a priority-encoder/prefix-popcount
# cell selecting the next set bit of the work mask.
COMPACT_LUTS_PER_SLOT_BIT = 1.0
# Sparse engines undo the banked window's rotation in each slot's column index: two mod-k
# adders on the (kh, kw) fields.
INDEX_ROTATION_LUTS_PER_SLOT = 8
# Max-pool: comparator (carry chain) plus 2:1 select, per bit.
MAX_LUTS_PER_BIT = 1.5

# --- control ----------------------------------------------------------------------------------
STAGE_CONTROL_LUTS = 60  # stage FSM, frame counters, ping-pong handshake
STAGE_CONTROL_FFS = 80
ENGINE_CONTROL_LUTS = 120  # vector/window counters, lane synchronisation
ENGINE_CONTROL_FFS = 120
LANE_CONTROL_LUTS = 16  # row counter, weight address, last-of-row detection
LANE_CONTROL_FFS = 32

# --- memories ---------------------------------------------------------------------------------
# Memories at most this deep are registers.
REGISTER_MAX_DEPTH = 2
# Memories at most this deep, or with at most LUTRAM_MAX_BITS bits, are distributed RAM.
LUTRAM_MAX_DEPTH = 64
LUTRAM_MAX_BITS = 4096
# RAM64M: 4 LUTs hold a 64-deep, 3-bit simple dual-port memory (UG474 / UG574, SLICEM).
LUTRAM_PRIMITIVE_DEPTH = 64
LUTRAM_PRIMITIVE_BITS = 3
LUTRAM_PRIMITIVE_LUTS = 4
# RAMB18 simple-dual-port aspect ratios (depth, width) (UG473 / UG573).
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))

# --- normalisations (norm, softmax) -----------------------------------------------------------
# Fixed-point width of a LayerNorm scale and a reciprocal (one DSP48 port).
NORM_SCALE_BITS = 18
# Width of a softmax exponential in [0, 1]: a 256-entry table of it fits one LUTRAM budget.
EXP_BITS = 16
# Entries of the reciprocal (square root) ROM indexed by the leading bits of a sum.
NORM_ROM_DEPTH = 1024
