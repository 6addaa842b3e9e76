"""Resource formulas: FPGA primitives (multipliers, adders, muxes, memories) and engines.

Every function broadcasts over numpy arrays, so one call prices all (PE, SIMD) options of a
layer. Coefficients live in `_coefficients.py`. Resource vectors are ordered as
`RESOURCE_NAMES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _coefficients as c
from ._contract import accumulator_bits
from ._network import LayerSpec

RESOURCE_NAMES = ("lut", "ff", "dsp", "bram18")


def _ceil_div(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return -(-np.asarray(a) // np.asarray(b))


def lut_multiplier_luts(w_bits: int, a_bits: int) -> int:
    """LUT6 per fabric multiplier, FINN-R (Blott et al. 2018): `(2*ceil((W+A)/6) - 1)*(W+A)`."""
    width = w_bits + a_bits
    return (2 * int(_ceil_div(width, c.LUT_MULT_BITS_PER_LUT6)) - 1) * width


def uses_lut_multipliers(w_bits: int, a_bits: int) -> bool:
    """Small products go to LUTs (`w + a <= LUT_MULT_MAX_SUM_BITS`), others to DSPs."""
    return w_bits + a_bits <= c.LUT_MULT_MAX_SUM_BITS


def dsp_per_product(w_signed_bits: int, a_signed_bits: int, port_a: int, port_b: int) -> int:
    """DSP slices for one signed product: DSP48E1 multiplies 25x18, DSP48E2 27x18 (UG479,
    UG579). A wider operand is split into one signed chunk of the port width plus unsigned
    chunks of port-1 bits; the best of the two operand-to-port assignments is used."""

    def chunks(bits: int, port: int) -> int:
        return 1 if bits <= port else 1 + int(_ceil_div(bits - port, port - 1))

    return min(
        chunks(w_signed_bits, port_a) * chunks(a_signed_bits, port_b),
        chunks(w_signed_bits, port_b) * chunks(a_signed_bits, port_a),
    )


def dsp_packs_two(w_signed_bits: int, a_signed_bits: int, port_a: int, port_b: int) -> bool:
    """Two products sharing an activation fit one DSP (WP486): weights `w1 << SHIFT + w2` in
    the wide port, the activation in the 18-bit port, and the two products must not overlap."""
    return (
        w_signed_bits + a_signed_bits <= c.DSP_PACK_SHIFT_BITS
        and c.DSP_PACK_SHIFT_BITS + w_signed_bits <= port_a
        and a_signed_bits <= port_b
    )


def adder_tree_luts(simd: np.ndarray, product_bits: int) -> np.ndarray:
    """LUTs of a SIMD-input adder tree: SIMD-1 adders, each about `product_bits + log2 SIMD`
    bits wide on the carry chain (FINN-R adder-tree term)."""
    depth = np.ceil(np.log2(np.maximum(simd, 1)))
    return (simd - 1) * (product_bits + depth) * c.ADDER_LUTS_PER_BIT


def mux_luts(n_inputs: np.ndarray | int, bits: int) -> np.ndarray:
    """LUT6 of an N:1 mux, `bits` wide: `ceil(N / MUX_INPUTS_PER_LUT)` per bit (0 for N = 1)."""
    n = np.asarray(n_inputs)
    return np.where(n > 1, _ceil_div(n, c.MUX_INPUTS_PER_LUT), 0) * bits


def window_rotation_luts(kernel: int, fan_in: int, a_bits: int) -> int:
    """LUTs un-rotating a banked k x k window for a lockstep engine: tap (i, j) comes from bank
    ((r + i) mod k, (c + j) mod k), so each tap passes a row then a column k:1 rotation,
    `2 * K * a_bits * ceil(k / MUX_INPUTS_PER_LUT)` LUTs (none for k = 1)."""
    if kernel == 1:
        return 0
    return int(2 * mux_luts(kernel, fan_in * a_bits))


def bram18_count(depth: np.ndarray | int, width: np.ndarray | int) -> np.ndarray:
    """RAMB18 for a depth x width memory: the best simple-dual-port aspect ratio, each block
    16Kx1 ... 512x36 (UG473; the same cascade rule as FINN's `bram_estimation`)."""
    d, w = np.asarray(depth), np.asarray(width)
    counts = [_ceil_div(d, sd) * _ceil_div(w, sw) for sd, sw in c.BRAM18_SHAPES]
    return np.where((d > 0) & (w > 0), np.minimum.reduce(counts), 0)


def lutram_luts(depth: np.ndarray | int, width: np.ndarray | int) -> np.ndarray:
    """LUTs of a distributed RAM: RAM64M primitives, 64 deep x 3 bits per 4 LUTs (UG474)."""
    return (
        _ceil_div(depth, c.LUTRAM_PRIMITIVE_DEPTH)
        * _ceil_div(width, c.LUTRAM_PRIMITIVE_BITS)
        * c.LUTRAM_PRIMITIVE_LUTS
    )


def memory_resources(
    depth: np.ndarray | int, width: np.ndarray | int, copies: np.ndarray | int = 1
) -> np.ndarray:
    """(..., 4) resources of `copies` memories of depth x width bits: registers up to
    `REGISTER_MAX_DEPTH`, LUTRAM up to `LUTRAM_MAX_DEPTH` deep or `LUTRAM_MAX_BITS` bits,
    else BRAM18 (the split Vivado and Yosys `memory_libmap` make by size)."""
    d, w, n = np.broadcast_arrays(np.asarray(depth), np.asarray(width), np.asarray(copies))
    regs = d <= c.REGISTER_MAX_DEPTH
    lutram = ~regs & ((d <= c.LUTRAM_MAX_DEPTH) | (d * w <= c.LUTRAM_MAX_BITS))
    bram = ~regs & ~lutram
    out = np.zeros((*d.shape, 4))
    out[..., 0] = np.where(lutram, lutram_luts(d, w), 0) * n
    out[..., 1] = np.where(regs, d * w, 0) * n
    out[..., 3] = np.where(bram, bram18_count(d, w), 0) * n
    return out


@dataclass(frozen=True)
class EngineShape:
    """What an engine's resources depend on besides (PE, SIMD); built once per layer."""

    rows: int  # M
    fan_in: int  # K
    w_bits: int  # weight (or matmul second operand) width
    w_signed_bits: int  # width as a signed multiplier operand
    a_bits: int
    a_signed_bits: int
    acc_bits: int
    out_bits: int  # requantized output width, or acc_bits for the last layer
    requantizes: bool
    window_register: bool  # conv/matmul hold the input vector in a double-buffered register
    kernel: int  # conv kernel (1 otherwise): the banked window arrives rotated
    weight_store: str  # "dense" | "sparse" | "skip" | "operand"
    max_row_nnz: int
    operand_depth_frames: int  # matmul: frames of B the skip buffer holds

    @classmethod
    def of(cls, layer: LayerSpec, is_last: bool, operand_depth_frames: int = 0) -> EngineShape:
        """Shape of `layer` (an engine); `is_last`: it outputs accumulators."""
        matmul = layer.kind == "matmul"
        w_signed = layer.w_bits + 1 if matmul else layer.w_bits  # B is an unsigned activation
        acc = accumulator_bits(w_signed, layer.a_bits, layer.fan_in, layer.input_signed)
        if matmul:
            store = "operand"
        elif layer.act_skip:
            store = "skip"
        elif int(layer.row_nnz.min()) < layer.fan_in:
            store = "sparse"
        else:
            store = "dense"
        return cls(
            rows=layer.rows,
            fan_in=layer.fan_in,
            w_bits=layer.w_bits,
            w_signed_bits=w_signed,
            a_bits=layer.a_bits,
            a_signed_bits=layer.a_bits + (0 if layer.input_signed else 1),
            acc_bits=acc,
            out_bits=acc if is_last else layer.out_bits,
            requantizes=not is_last,
            window_register=layer.kind != "linear",
            kernel=layer.kernel if layer.kind == "conv2d" else 1,
            weight_store=store,
            max_row_nnz=max(1, int(layer.row_nnz.max())),
            operand_depth_frames=operand_depth_frames,
        )

    @property
    def lockstep(self) -> bool:
        """All lanes consume the same columns each cycle (dense weights, no skipping)."""
        return self.weight_store in ("dense", "operand")


def weight_memory_resources(
    shape: EngineShape, pe: np.ndarray, simd: np.ndarray, lane_words: np.ndarray
) -> np.ndarray:
    """(nP, nS, 4) weight (or matmul operand) memory. Layouts (SPEC section 6):
    dense: one memory, `PE*SIMD*w` wide, `(M/PE) * ceil(K/SIMD)` deep (FINN MVAU);
    sparse: per lane, SIMD (value, column index) pairs plus a last-of-row bit per word, as
    deep as the longest lane (`lane_words`); skip: per lane, one row per word (its nonzero
    values and a K-bit nonzero mask); operand: B in PE banks of whole rows, for D frames."""
    rows_per_lane = shape.rows // pe
    if shape.weight_store == "dense":
        depth = rows_per_lane * _ceil_div(shape.fan_in, simd)
        return memory_resources(depth, pe * simd * shape.w_bits)
    if shape.weight_store == "sparse":
        index_bits = max(1, (shape.fan_in - 1).bit_length())
        return memory_resources(lane_words, simd * (shape.w_bits + index_bits) + 1, pe)
    if shape.weight_store == "skip":
        width = shape.max_row_nnz * shape.w_bits + shape.fan_in
        return memory_resources(np.broadcast_to(rows_per_lane, lane_words.shape), width, pe)
    depth = np.broadcast_to(shape.operand_depth_frames * rows_per_lane, lane_words.shape)
    return memory_resources(depth, shape.fan_in * shape.w_bits, pe)


def engine_resources(
    shape: EngineShape,
    pe: np.ndarray,
    simd: np.ndarray,
    lane_words: np.ndarray,
    port_a: int,
    port_b: int,
) -> np.ndarray:
    """(nP, nS, 4) LUT, FF, DSP, BRAM18 of an engine for PE (nP, 1) x SIMD (1, nS)."""
    k, w, a = shape.fan_in, shape.w_bits, shape.a_bits
    n_mult = pe * simd
    product_bits = shape.w_signed_bits + shape.a_signed_bits
    lut_mult = uses_lut_multipliers(w, a)
    lut = np.zeros(np.broadcast_shapes(pe.shape, simd.shape), dtype=np.float64)
    ff = np.zeros_like(lut)
    dsp = np.zeros_like(lut)
    if lut_mult:
        lut += n_mult * lut_multiplier_luts(w, a)
        ff += n_mult * (w + a)  # product register
    elif shape.lockstep and dsp_packs_two(shape.w_signed_bits, shape.a_signed_bits, port_a, port_b):
        dsp += _ceil_div(pe, 2) * simd  # lanes paired on a shared activation
        lut += (pe // 2) * simd * c.DSP_PACK_CORRECTION_LUTS
    else:
        dsp += n_mult * dsp_per_product(shape.w_signed_bits, shape.a_signed_bits, port_a, port_b)
    tree_bits = product_bits + np.ceil(np.log2(simd))
    lut += pe * adder_tree_luts(simd, product_bits)
    ff += pe * (simd - 1) * tree_bits  # one register per adder (pipelined tree)
    lut += pe * shape.acc_bits * c.ADDER_LUTS_PER_BIT
    lut += pe * shape.acc_bits * c.REQUANT_LUTS_PER_BIT * shape.requantizes
    ff += pe * (shape.acc_bits + shape.out_bits)
    if shape.lockstep:  # SIMD slots pick column chunk j of K/SIMD, shared by every lane
        lut += simd * mux_luts(_ceil_div(k, simd), a)
        lut += window_rotation_luts(shape.kernel, k, a)
        if shape.weight_store == "operand":  # each lane picks its chunk of a whole B row
            lut += n_mult * mux_luts(_ceil_div(k, simd), w)
    else:  # every lane slot picks any of the K activations (rotation folded into the index)
        lut += n_mult * (mux_luts(k, a) + c.INDEX_ROTATION_LUTS_PER_SLOT * (shape.kernel > 1))
    if shape.weight_store == "skip":
        lut += n_mult * (k * c.COMPACT_LUTS_PER_SLOT_BIT + mux_luts(shape.max_row_nnz, w))
        ff += pe * (k + shape.max_row_nnz * w + k)  # work mask and current row word
    if shape.window_register:
        ff += 2 * k * a
    lut += c.ENGINE_CONTROL_LUTS + pe * c.LANE_CONTROL_LUTS
    ff += c.ENGINE_CONTROL_FFS + pe * c.LANE_CONTROL_FFS
    out = weight_memory_resources(shape, pe, simd, lane_words)
    out[..., 0] += lut
    out[..., 1] += ff
    out[..., 2] += dsp
    return out
