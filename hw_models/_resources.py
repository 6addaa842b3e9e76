"""Resource formulas: FPGA primitives (multipliers, adders, muxes, memories) and engines.

Every function broadcasts over numpy arrays, so one call prices all (PE, SIMD) options of a
layer. Coefficients live in `_coefficients.py`. Resource vectors are ordered as
`RESOURCE_NAMES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _coefficients as c
from ._contract import accumulator_bits, weight_store
from ._network import LayerSpec

RESOURCE_NAMES = ("lut", "ff", "dsp", "bram18")


def _ceil_div(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return -(-np.asarray(a) // np.asarray(b))


def lut_multiplier_luts(w_bits: int, a_bits: int) -> int:
    """LUT6 per fabric multiplier, FINN-R (Blott et al. 2018): `(2*ceil((W+A)/6) - 1)*(W+A)`."""
    width = w_bits + a_bits
    return (2 * -(-width // c.LUT_MULT_BITS_PER_LUT6) - 1) * width


def uses_lut_multipliers(w_bits: int, a_bits: int) -> bool:
    """Small products go to LUTs (`w + a <= LUT_MULT_MAX_SUM_BITS`), others to DSPs."""
    return w_bits + a_bits <= c.LUT_MULT_MAX_SUM_BITS


def dsp_per_product(w_signed_bits: int, a_signed_bits: int, port_a: int, port_b: int) -> int:
    """DSP slices for one signed product: DSP48E1 multiplies 25x18, DSP48E2 27x18 (UG479,
    UG579). A wider operand is split into one signed chunk of the port width plus unsigned
    chunks of port-1 bits; the best of the two operand-to-port assignments is used."""

    def chunks(bits: int, port: int) -> int:
        return 1 if bits <= port else 1 - (-(bits - port) // (port - 1))

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
    return 2 * -(-kernel // c.MUX_INPUTS_PER_LUT) * fan_in * a_bits  # 2 * mux_luts(k, K * a)


def bram18_count(depth: np.ndarray | int, width: np.ndarray | int) -> np.ndarray:
    """RAMB18 for a depth x width memory: the best simple-dual-port aspect ratio, each block
    16Kx1 ... 512x36 (UG473; the same cascade rule as FINN's `bram_estimation`)."""
    d, w = np.asarray(depth)[..., None], np.asarray(width)[..., None]
    shapes = np.array(c.BRAM18_SHAPES)  # one aspect ratio per entry of the last axis
    counts = (-(-d // shapes[:, 0]) * -(-w // shapes[:, 1])).min(axis=-1)
    return np.where((d[..., 0] > 0) & (w[..., 0] > 0), counts, 0)


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
    d, w, n = np.asarray(depth), np.asarray(width), np.asarray(copies)
    regs = d <= c.REGISTER_MAX_DEPTH
    lutram = ~regs & ((d <= c.LUTRAM_MAX_DEPTH) | (d * w <= c.LUTRAM_MAX_BITS))
    bram = ~regs & ~lutram
    out = np.zeros((*np.broadcast_shapes(d.shape, w.shape, n.shape), 4))
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
            weight_store=weight_store(layer),
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
    return _weight_memory(_Shapes([shape]), pe[None], simd[None], lane_words[None])[0]


def engine_resources(
    shape: EngineShape,
    pe: np.ndarray,
    simd: np.ndarray,
    lane_words: np.ndarray,
    port_a: int,
    port_b: int,
) -> np.ndarray:
    """(nP, nS, 4) LUT, FF, DSP, BRAM18 of an engine for PE (nP, 1) x SIMD (1, nS)."""
    lane_words = np.broadcast_to(lane_words, np.broadcast_shapes(pe.shape, simd.shape))
    out = engine_resources_many([shape], pe[None], simd[None], lane_words[None], port_a, port_b)
    return out[0]


class _Shapes:
    """The fields of several EngineShapes, and per-engine derived terms, as (E, 1, 1) int
    arrays (flags as 0/1), to price the options of all of a network's engines in one
    vectorised pass."""

    rows: np.ndarray
    k: np.ndarray  # fan-in
    w: np.ndarray
    a: np.ndarray
    product_bits: np.ndarray  # signed weight + signed activation bits
    acc: np.ndarray
    out_bits: np.ndarray
    requantizes: np.ndarray
    window_register: np.ndarray
    rotated: np.ndarray  # kernel > 1
    max_row_nnz: np.ndarray
    operand_depth: np.ndarray
    index_bits: np.ndarray
    dense: np.ndarray  # weight store flags
    sparse: np.ndarray
    skip: np.ndarray
    operand: np.ndarray
    lockstep: np.ndarray
    lut_mult: np.ndarray  # multiplier flags: fabric, two lanes per DSP, DSPs
    pack: np.ndarray
    dsp_mult: np.ndarray
    lut_mult_luts: np.ndarray
    dsp_per_product: np.ndarray
    rotation_luts: np.ndarray

    def __init__(self, shapes: list[EngineShape], port_a: int = 0, port_b: int = 0) -> None:
        table = []
        for s in shapes:
            lut_mult = uses_lut_multipliers(s.w_bits, s.a_bits)
            pack = (
                not lut_mult
                and s.lockstep
                and dsp_packs_two(s.w_signed_bits, s.a_signed_bits, port_a, port_b)
            )
            # (weight memories alone are priced without ports: no multiplier terms)
            dsp_each = (
                dsp_per_product(s.w_signed_bits, s.a_signed_bits, port_a, port_b) if port_a else 0
            )
            table.append(
                {
                    "rows": s.rows,
                    "k": s.fan_in,
                    "w": s.w_bits,
                    "a": s.a_bits,
                    "product_bits": s.w_signed_bits + s.a_signed_bits,
                    "acc": s.acc_bits,
                    "out_bits": s.out_bits,
                    "requantizes": s.requantizes,
                    "window_register": s.window_register,
                    "rotated": s.kernel > 1,
                    "max_row_nnz": s.max_row_nnz,
                    "operand_depth": s.operand_depth_frames,
                    "index_bits": max(1, (s.fan_in - 1).bit_length()),
                    "dense": s.weight_store == "dense",
                    "sparse": s.weight_store == "sparse",
                    "skip": s.weight_store == "skip",
                    "operand": s.weight_store == "operand",
                    "lockstep": s.lockstep,
                    "lut_mult": lut_mult,
                    "pack": pack,
                    "dsp_mult": not lut_mult and not pack,
                    "lut_mult_luts": lut_multiplier_luts(s.w_bits, s.a_bits),
                    "dsp_per_product": dsp_each,
                    "rotation_luts": window_rotation_luts(s.kernel, s.fan_in, s.a_bits),
                }
            )
        columns = np.array([list(t.values()) for t in table], dtype=np.int64)[:, :, None, None]
        for i, name in enumerate(table[0]):
            setattr(self, name, columns[:, i])


def _weight_memory(
    s: _Shapes, pe: np.ndarray, simd: np.ndarray, lane_words: np.ndarray
) -> np.ndarray:
    """`weight_memory_resources` of E engines: PE (E, nP, 1), SIMD (E, 1, nS), lane words
    (E, nP, nS) -> (E, nP, nS, 4)."""
    rows_per_lane = s.rows // pe
    depth = np.where(
        s.dense,
        rows_per_lane * -(-s.k // simd),
        np.where(
            s.sparse,
            lane_words,
            np.where(s.skip, rows_per_lane, s.operand_depth * rows_per_lane),
        ),
    )
    width = np.where(
        s.dense,
        pe * simd * s.w,
        np.where(
            s.sparse,
            simd * (s.w + s.index_bits) + 1,
            np.where(s.skip, s.max_row_nnz * s.w + s.k, s.k * s.w),
        ),
    )
    return memory_resources(depth, width, np.where(s.dense, 1, pe))


def engine_resources_many(
    shapes: list[EngineShape],
    pe: np.ndarray,
    simd: np.ndarray,
    lane_words: np.ndarray,
    port_a: int,
    port_b: int,
) -> np.ndarray:
    """`engine_resources` of E engines at once: PE (E, nP, 1), SIMD (E, 1, nS) and lane words
    (E, nP, nS) (engines with fewer options padded with any legal value) -> (E, nP, nS, 4).
    Each engine's terms are added in the same order as for one engine alone (the terms of the
    branches an engine does not take are zeros)."""
    s = _Shapes(shapes, port_a, port_b)
    k, w, a = s.k, s.w, s.a
    n_mult = pe * simd
    lut = np.zeros(np.broadcast_shapes(pe.shape, simd.shape), dtype=np.float64)
    ff = np.zeros(lut.shape)
    dsp = np.zeros(lut.shape)
    # multipliers: fabric (LUTs and a product register), two lanes per DSP, or DSPs
    lut += np.where(
        s.lut_mult, n_mult * s.lut_mult_luts, (pe // 2) * simd * c.DSP_PACK_CORRECTION_LUTS * s.pack
    )
    ff += n_mult * (w + a) * s.lut_mult
    dsp += np.where(s.pack, _ceil_div(pe, 2) * simd, n_mult * s.dsp_per_product * s.dsp_mult)
    tree_bits = s.product_bits + np.ceil(np.log2(simd))
    lut += pe * adder_tree_luts(simd, s.product_bits)
    ff += pe * (simd - 1) * tree_bits  # one register per adder (pipelined tree)
    lut += pe * s.acc * c.ADDER_LUTS_PER_BIT
    lut += pe * s.acc * c.REQUANT_LUTS_PER_BIT * s.requantizes
    ff += pe * (s.acc + s.out_bits)
    # lockstep: SIMD slots pick column chunk j of K/SIMD, shared by every lane; otherwise
    # every lane slot picks any of the K activations (rotation folded into the index)
    chunk = _ceil_div(k, simd)
    lut += np.where(
        s.lockstep,
        simd * mux_luts(chunk, a),
        n_mult * (mux_luts(k, a) + c.INDEX_ROTATION_LUTS_PER_SLOT * s.rotated),
    )
    lut += s.rotation_luts * s.lockstep
    lut += n_mult * mux_luts(chunk, w) * s.operand  # each lane picks its chunk of a B row
    lut += n_mult * (k * c.COMPACT_LUTS_PER_SLOT_BIT + mux_luts(s.max_row_nnz, w)) * s.skip
    ff += pe * (k + s.max_row_nnz * w + k) * s.skip  # work mask and current row word
    ff += 2 * k * a * s.window_register
    lut += c.ENGINE_CONTROL_LUTS + pe * c.LANE_CONTROL_LUTS
    ff += c.ENGINE_CONTROL_FFS + pe * c.LANE_CONTROL_FFS
    out = _weight_memory(s, pe, simd, lane_words)
    out[..., 0] += lut
    out[..., 1] += ff
    out[..., 2] += dsp
    return out
