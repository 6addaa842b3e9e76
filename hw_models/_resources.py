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
from ._folding import shared_pe_options
from ._network import LayerSpec

RESOURCE_NAMES = ("lut", "ff", "dsp", "bram18")


def _ceil_div(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return -(-np.asarray(a) // np.asarray(b))


def lut_multiplier_luts(w_bits: int, a_bits: int) -> int:
    """LUT6 per fabric multiplier, FINN-R (Blott et al. 2018): `(2*ceil((W+A)/6) - 1)*(W+A)`."""
    width = w_bits + a_bits
    return (2 * -(-width // c.LUT_MULT_BITS_PER_LUT6) - 1) * width


def uses_lut_multipliers(w_signed_bits: int, a_signed_bits: int) -> bool:
    """Yosys `synth_xilinx` builds a product in fabric unless both signed operands have at
    least `DSP_MIN_OPERAND_BITS` and the product at least `DSP_MIN_PRODUCT_BITS` (mul2dsp)."""
    return not (
        min(w_signed_bits, a_signed_bits) >= c.DSP_MIN_OPERAND_BITS
        and w_signed_bits + a_signed_bits >= c.DSP_MIN_PRODUCT_BITS
    )


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


def adder_tree_luts(simd: np.ndarray, bits: np.ndarray | int) -> np.ndarray:
    """LUTs of a SIMD-input sum: SIMD-1 adders of `bits` on the carry chain (FINN-R)."""
    return (simd - 1) * bits * c.ADDER_LUTS_PER_BIT


def requantizer_luts(acc_bits: np.ndarray | int, out_bits: np.ndarray | int) -> np.ndarray:
    """LUT6 of a requantizer with constant shift and threshold (hws_requant, SPEC section 1):
    the threshold and the saturation are compares of the accumulator with constant bounds,
    the shift is wiring and the rounding an `out_bits` increment (fitted on the module)."""
    acc, out = np.asarray(acc_bits), np.asarray(out_bits)
    return acc * c.REQUANT_LUTS_PER_ACC_BIT + out * c.REQUANT_LUTS_PER_OUT_BIT


def mux_luts(n_inputs: np.ndarray | int, bits: np.ndarray | int) -> np.ndarray:
    """LUT6 of an N:1 mux, `bits` wide: `ceil(N / MUX_INPUTS_PER_LUT)` per bit (0 for N = 1)."""
    n = np.asarray(n_inputs)
    return np.where(n > 1, _ceil_div(n, c.MUX_INPUTS_PER_LUT), 0) * bits


def window_buffer_luts(
    kernel: int, stride: int, padding: int, kc: int, pixel_bits: int, depth: int, px: int
) -> float:
    """LUTs of a window buffer's logic (hws_window_buffer) for `px` windows per cycle from
    kernel x kc banks of `depth` words (both ping-pong halves):
    - the rotation putting bank words in window order: per (tap row, bank column) a one-hot
      k:1 AND-OR select of the bank row, then per window tap a kc:1 select of the bank
      column, a LUT6 per bit and 5 select inputs; a select whose one-hot value is the same
      for every window (stride a multiple of the banks, no padding) is a constant and folds;
    - per bank, the read and write address logic, per address bit."""
    static_rows = kernel == 1 or (padding == 0 and stride % kernel == 0)
    static_cols = kc == 1 or (padding == 0 and (px * stride) % kc == 0)
    per_lut = c.LUT6_INPUTS - 1  # new inputs per LUT6 of a chain (one is the previous link)
    rows = 0 if static_rows else kernel * kc * pixel_bits * -(-(2 * kernel - 1) // per_lut)
    cols = 0 if static_cols else px * kernel * kernel * pixel_bits * -(-(2 * kc - 1) // per_lut)
    address_bits = max(1, int(depth - 1).bit_length())
    return float(rows + cols + kernel * kc * address_bits * c.WINDOW_ADDRESS_LUTS_PER_BANK_BIT)


def bram18_count(depth: np.ndarray | int, width: np.ndarray | int) -> np.ndarray:
    """RAMB18 equivalents of a depth x width memory in block RAM at the primitive shape
    Yosys `memory_libmap` picks (`memory_resources`)."""
    d, w = np.asarray(depth), np.asarray(width)
    _, shape, _, repl = _bram_choice(d, w)
    return np.where((d > 0) & (w > 0), np.asarray(_BRAM[:, 3])[shape] * repl, 0)


_BRAM = np.array(c.BRAM_SHAPES)  # (depth, width, cost, RAMB18s) per block RAM shape
_LUTRAM = np.array(c.LUTRAM_SHAPES)  # (depth, width) per distributed RAM shape


def _bram_choice(depth: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, ...]:
    """memory_libmap cost of the cheapest block RAM shape, its index in BRAM_SHAPES, its
    address ranges (`mult_a`) and its primitives (the ranges side by side in the data
    bits)."""
    d, w = depth[..., None], width[..., None]
    mult_a = _ceil_div(d, _BRAM[:, 0])
    repl = _ceil_div(mult_a * w, _BRAM[:, 1])
    cost = _BRAM[:, 2] * repl + c.MUX_COST_PER_BIT * (mult_a - 1) * w
    shape = cost.argmin(axis=-1)
    return _pick(cost, shape), shape, _pick(mult_a, shape), _pick(repl, shape)


def _lutram_choice(depth: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, ...]:
    """memory_libmap cost of the cheapest simple-dual-port LUTRAM shape, its primitives and
    its read-mux inputs (address ranges)."""
    d, w = depth[..., None], width[..., None]
    mult_a = _ceil_div(d, _LUTRAM[:, 0])
    repl = _ceil_div(mult_a * w, _LUTRAM[:, 1])
    cost = (c.LUTRAM_COST - c.LUTRAM_WIDTH_COST) * repl
    cost = cost + c.LUTRAM_WIDTH_COST * mult_a * w / _LUTRAM[:, 1]
    cost = cost + c.MUX_COST_PER_BIT * (mult_a - 1) * w
    shape = cost.argmin(axis=-1)
    return _pick(cost, shape), _pick(repl, shape), _pick(mult_a, shape)


def _pick(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """`table[..., index]` element by element: (..., S) and (...) -> (...) (what
    `np.take_along_axis` does, without its overhead)."""
    if table.shape[:-1] != index.shape:  # (a term that does not vary along some axis)
        table = np.broadcast_to(table, (*index.shape, table.shape[-1]))
    flat = table.reshape(-1, table.shape[-1])
    return flat[np.arange(len(flat)), index.reshape(-1)].reshape(index.shape)


def lutram_luts(depth: np.ndarray | int, width: np.ndarray | int) -> np.ndarray:
    """LUTs of a simple-dual-port distributed RAM at the shape memory_libmap picks (RAM32M or
    RAM64M, 4 LUTs each, UG474), plus its read mux when deeper than one primitive."""
    d, w = np.asarray(depth), np.asarray(width)
    _, repl, mult_a = _lutram_choice(d, w)
    return repl * c.LUTRAM_PRIMITIVE_LUTS + mux_luts(mult_a, w)


def rom_logic_luts(depth: np.ndarray | int, width: np.ndarray | int) -> np.ndarray:
    """LUTs of a ROM left to soft logic: each data bit a function of the address, about
    `ROM_LUTS_PER_BIT_64_WORDS` LUT6 per 64 words (none up to two words: each bit is then a
    constant or an address bit)."""
    d, w = np.asarray(depth), np.asarray(width)
    return np.where(d > 2, _ceil_div(d, 64) * w * c.ROM_LUTS_PER_BIT_64_WORDS, 0)


def memory_resources(
    depth: np.ndarray | int,
    width: np.ndarray | int,
    copies: np.ndarray | int = 1,
    rom: np.ndarray | bool = False,
) -> np.ndarray:
    """(..., 4) resources of `copies` memories of depth x width bits, each with one
    synchronous read port (and, unless `rom`, one write port), as Yosys `memory_libmap` maps
    them: the cheapest by its cost of soft logic (registers for a RAM, LUTs for a ROM),
    simple-dual-port LUTRAM (RAMs only) and block RAM at its best shape. The read register
    is inside a block RAM, at the (already registered) address of a ROM in logic, and
    `width` flip-flops otherwise. Depths and widths are whole numbers; each distinct memory
    is priced once (a network's option tables repeat a few dozen memories hundreds of
    times)."""
    d, w, n = np.asarray(depth, dtype=np.int64), np.asarray(width), np.asarray(copies)
    span = int(w.max(initial=0)) + 1
    key = (d * span + w) * 2 + np.asarray(rom)  # one number per (depth, width, ROM)
    distinct, inverse = np.unique(key.reshape(-1), return_inverse=True)
    luts, ffs, brams = _one_memory(distinct // 2 // span, distinct // 2 % span, distinct % 2 == 1)
    out = np.zeros((*np.broadcast_shapes(key.shape, n.shape), 4))
    out[..., 0] = luts[inverse].reshape(key.shape) * n
    out[..., 1] = ffs[inverse].reshape(key.shape) * n
    out[..., 3] = brams[inverse].reshape(key.shape) * n
    return out


def _one_memory(
    d: np.ndarray, w: np.ndarray, is_rom: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LUTs, flip-flops and RAMB18s of one memory of each depth x width (`memory_resources`)."""
    logic_cost = np.floor(
        d * w * np.where(is_rom, c.LOGIC_COST_ROM_PER_BIT, c.LOGIC_COST_RAM_PER_BIT)
    )
    bram_cost, bram_shape, bram_mult, bram_repl = _bram_choice(d, w)
    lutram_cost, lutram_repl, lutram_mult = _lutram_choice(d, w)
    lutram_cost = np.where(is_rom, np.inf, lutram_cost)
    bram = (bram_cost < logic_cost) & (bram_cost < lutram_cost)  # LUTRAM is tried first
    lutram = ~bram & (lutram_cost < logic_cost)
    logic = ~bram & ~lutram & (d > 0) & (w > 0)
    lutram_lut = lutram_repl * c.LUTRAM_PRIMITIVE_LUTS + mux_luts(lutram_mult, w)
    luts = np.where(  # (np.select, without its overhead)
        lutram,
        lutram_lut,
        np.where(bram, mux_luts(bram_mult, w), np.where(logic & is_rom, rom_logic_luts(d, w), 0)),
    )
    # the read register: inside a block RAM; of a ROM in logic, moved to the address (which
    # the RTL registers anyway); else `width` flip-flops
    ffs = np.where(logic & ~is_rom, d * w + w, np.where(lutram, w, 0))
    brams = np.where(bram, _BRAM[bram_shape, 3] * bram_repl, 0)
    return luts, ffs, brams


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
    weight_store: str  # "dense" | "sparse" | "skip" | "operand"
    max_row_nnz: int
    full_rows: bool  # every weight nonzero: all skip-layout row masks are the same
    operand_depth_frames: int  # matmul: frames of B the skip buffer holds
    # skip layout: per PE dividing M, the columns that some row of a lane has nonzero, summed
    # over the lanes (the other columns' compaction steps fold away in synthesis)
    live_columns: tuple[tuple[int, int], ...] = ()

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
            weight_store=weight_store(layer),
            max_row_nnz=max(1, int(layer.row_nnz.max())),
            full_rows=bool((layer.row_nnz == layer.fan_in).all()),
            operand_depth_frames=operand_depth_frames,
            live_columns=_live_columns(layer) if weight_store(layer) == "skip" else (),
        )

    @property
    def lockstep(self) -> bool:
        """All lanes consume the same columns each cycle (dense weights, no skipping)."""
        return self.weight_store in ("dense", "operand")


def _live_columns(layer: LayerSpec) -> tuple[tuple[int, int], ...]:
    """(PE, columns with a nonzero weight in some row of a lane, summed over the PE lanes)
    for every PE dividing M; lane p owns rows p, p + PE, ... (masks packed 8 columns a byte:
    this runs for every new candidate)."""
    rows = layer.rows
    divisors = [int(d) for d in shared_pe_options(rows)]
    if layer.weight_mask is None:
        return tuple((pe, pe * layer.fan_in) for pe in divisors)
    # lane masks at PE from those at its smallest multiple already known (lanes q = j*PE + p
    # of that PE' make lane p), from PE = M (a row per lane) down
    lanes = {rows: np.packbits(layer.weight_mask.reshape(rows, -1), axis=1)}
    live = {rows: int(np.bitwise_count(lanes[rows]).sum(dtype=np.int64))}
    for pe in reversed(divisors[:-1]):
        finer = next(d for d in reversed(lanes) if d % pe == 0)  # (keys descend)
        lanes[pe] = np.bitwise_or.reduce(lanes[finer].reshape(finer // pe, pe, -1), axis=0)
        live[pe] = int(np.bitwise_count(lanes[pe]).sum(dtype=np.int64))
    return tuple((pe, live[pe]) for pe in divisors)


def weight_memory_resources(
    shape: EngineShape, pe: np.ndarray, simd: np.ndarray, lane_words: np.ndarray
) -> np.ndarray:
    """(nP, nS, 4) weight (or matmul operand) and bias memories. Layouts (SPEC section 6):
    dense: one memory, `PE*SIMD*w` wide, `(M/PE) * ceil(K/SIMD)` deep (FINN MVAU);
    sparse: per lane, SIMD (value, column index) pairs plus a last-of-row bit per word, as
    deep as the longest lane (`lane_words`); skip: per lane, one row per word (its nonzero
    values and a K-bit nonzero mask); operand: B in PE banks of whole rows, for D frames.
    Biases: per lane, its rows x accumulator bits."""
    return _weight_memory(_Shapes([shape]), pe[None], simd[None], lane_words[None])[0][0]


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
    max_row_nnz: np.ndarray
    full_rows: np.ndarray
    operand_depth: np.ndarray
    index_bits: np.ndarray
    dense: np.ndarray  # weight store flags
    sparse: np.ndarray
    skip: np.ndarray
    operand: np.ndarray
    lockstep: np.ndarray
    lut_mult: np.ndarray  # multiplier in fabric (else DSPs)
    lut_mult_luts: np.ndarray
    dsp_per_product: np.ndarray

    def __init__(self, shapes: list[EngineShape], port_a: int = 0, port_b: int = 0) -> None:
        self.shapes = shapes
        table = []
        for s in shapes:
            lut_mult = uses_lut_multipliers(s.w_signed_bits, s.a_signed_bits)
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
                    "max_row_nnz": s.max_row_nnz,
                    "full_rows": s.full_rows,
                    "operand_depth": s.operand_depth_frames,
                    "index_bits": max(1, (s.fan_in - 1).bit_length()),
                    "dense": s.weight_store == "dense",
                    "sparse": s.weight_store == "sparse",
                    "skip": s.weight_store == "skip",
                    "operand": s.weight_store == "operand",
                    "lockstep": s.lockstep,
                    "lut_mult": lut_mult,
                    "lut_mult_luts": lut_multiplier_luts(s.w_bits, s.a_bits),
                    "dsp_per_product": dsp_each,
                }
            )
        columns = np.array([list(t.values()) for t in table], dtype=np.int64)[:, :, None, None]
        for i, name in enumerate(table[0]):
            setattr(self, name, columns[:, i])

    def live_columns(self, pe: np.ndarray) -> np.ndarray:
        """`EngineShape.live_columns` at PE (E, nP, 1) of each engine; 0 where an engine
        does not skip."""
        out = np.zeros(pe.shape)
        for e, shape in enumerate(self.shapes):
            if shape.live_columns:
                table = dict(shape.live_columns)
                out[e] = np.vectorize(table.__getitem__, otypes=[float])(pe[e])
        return out


def _weight_memory(
    s: _Shapes, pe: np.ndarray, simd: np.ndarray, lane_words: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`weight_memory_resources` of E engines: PE (E, nP, 1), SIMD (E, 1, nS), lane words
    (E, nP, nS) -> (E, nP, nS, 4), and whether the weights are in block RAM (E, nP, nS).
    Weights and biases are ROMs (the SYNTHESIS build initialises them from files); a matmul
    operand is written at run time (a RAM)."""
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
    # the weights, and the biases (per lane, rows x ACC), priced in one pass
    both = np.empty((4, 2, *depth.shape), dtype=np.int64)  # depth, width, copies, ROM
    weight_terms = (depth, width, np.where(s.dense, 1, pe), s.operand == 0)
    bias_terms = (rows_per_lane, s.acc, pe, 1)
    for i, (weight_term, bias_term) in enumerate(zip(weight_terms, bias_terms, strict=True)):
        both[i, 0], both[i, 1] = weight_term, bias_term
    weights, biases = memory_resources(*both[:3], rom=both[3] == 1)
    return weights + biases, weights[..., 3] > 0


def _shared_by_slots(s: _Shapes, pe: np.ndarray, simd: np.ndarray) -> np.ndarray:
    """(E, nP, nS, 4) what the px slots of a pixel-parallel engine share: the engine's control
    and, in the lockstep (dense) layout, the one weight memory all slots read in step (every
    other layout gives each slot's lanes their own memories; SPEC section 6)."""
    shared = np.zeros((*np.broadcast_shapes(pe.shape, simd.shape), 4))
    dense = s.dense[:, 0, 0] == 1
    if dense.any():  # (the engines of the dense layout only)
        pe, simd = pe[dense], simd[dense]
        depth = s.rows[dense] // pe * -(-s.k[dense] // simd)
        shared[dense] = memory_resources(depth, pe * simd * s.w[dense], rom=True)
    shared[..., 0] += c.ENGINE_CONTROL_LUTS
    shared[..., 1] += c.ENGINE_CONTROL_FFS
    return shared


def engine_resources_many(
    shapes: list[EngineShape],
    pe: np.ndarray,
    simd: np.ndarray,
    lane_words: np.ndarray,
    port_a: int,
    port_b: int,
    px: np.ndarray | None = None,
) -> np.ndarray:
    """`engine_resources` of E engines at once: PE (E, nP, 1), SIMD (E, 1, nS) and lane words
    (E, nP, nS) (engines with fewer options padded with any legal value) -> (E, nP, nS, 4);
    with pixel parallelisms `px` (E, nX) -> (E, nX, nP, nS, 4): px slots of lanes (each with
    its input window, output pixel and, but for the dense layout, weight memories) sharing
    the engine's control and a dense weight memory.
    Each engine's terms are added in the same order as for one engine alone (the terms of the
    branches an engine does not take are zeros). The terms follow hws_engine / hws_engine_lane:
    per lane a selection stage, a registered (weight, activation) pair per slot, the
    multipliers, the sum of the SIMD products into the accumulator, requantization."""
    s = _Shapes(shapes, port_a, port_b)
    k, w, a = s.k, s.w, s.a
    n_mult = pe * simd
    lut = np.zeros(np.broadcast_shapes(pe.shape, simd.shape), dtype=np.float64)
    ff = np.zeros(lut.shape)
    dsp = np.zeros(lut.shape)
    # multipliers: fabric (LUTs, the operand and product registers) or DSPs (which absorb
    # those registers)
    lut += n_mult * s.lut_mult_luts * s.lut_mult
    ff += n_mult * (w + a + s.product_bits) * s.lut_mult
    dsp += n_mult * s.dsp_per_product * (1 - s.lut_mult)
    # the SIMD products and the bias or accumulator summed in one cycle, accumulator-wide
    # (a tree as wide as the products; with DSP products it goes into the DSPs' post-adders)
    tree_bits = s.product_bits + np.ceil(np.log2(simd))
    lut += pe * (adder_tree_luts(simd, tree_bits) * s.lut_mult + s.acc * c.ADDER_LUTS_PER_BIT)
    lut += pe * requantizer_luts(s.acc, s.out_bits) * s.requantizes
    ff += pe * 3 * s.acc  # bias read, accumulator and result
    ff += s.rows * s.out_bits  # the output pixel register
    # selection: lockstep slots pick column chunk j of K/SIMD; a sparse slot picks among the
    # columns its ROM words name (at most one per word); a skipping slot walks a priority
    # chain over the K columns, each step a (value, activation) select and a slot count
    chunk = _ceil_div(k, simd)
    out, weights_in_bram = _weight_memory(s, pe, simd, lane_words)
    sparse_choices = np.minimum(k, np.maximum(lane_words, 1))
    lut += n_mult * mux_luts(chunk, a) * s.lockstep * c.SELECT_LUTS_SCALE
    # (ROM indexes and mux merge in synthesis: measured to grow with log2 of the choices)
    sparse_select = a * np.ceil(np.log2(np.maximum(sparse_choices, 2)))
    sparse_select = sparse_select * c.SPARSE_SELECT_LUTS_PER_BIT
    # (a column index read from block RAM is a run-time value: a full K:1 select, as lockstep)
    runtime_select = mux_luts(k, a) * c.SELECT_LUTS_SCALE
    lut += n_mult * np.where(weights_in_bram, runtime_select, sparse_select) * s.sparse
    lut += n_mult * mux_luts(chunk, w) * s.operand  # each lane picks its chunk of a B row
    # (the row masks are ROM constants: the more different masks a lane holds, the more logic)
    mask_kinds = np.where(s.full_rows, 1, np.minimum(s.rows // pe, c.COMPACT_MAX_MASK_KINDS))
    chain = s.live_columns(pe) * (w + a) * (1 + c.COMPACT_MASK_KIND_WEIGHT * np.log2(mask_kinds))
    per_step = c.COMPACT_LUTS_PER_COLUMN_BIT + c.COMPACT_LUTS_PER_SLOT_BIT * simd
    lut += chain * per_step * s.skip
    ff += pe * k * s.skip  # remaining work mask
    ff += 2 * k * a  # prefetched and current input vector
    lut += k * a * c.VECTOR_SELECT_LUTS_PER_BIT  # the current one: prefetched or arriving
    lut += c.ENGINE_CONTROL_LUTS
    ff += c.ENGINE_CONTROL_FFS
    out[..., 0] += lut
    out[..., 1] += ff
    out[..., 2] += dsp
    if px is None:
        return out
    shared = _shared_by_slots(s, pe, simd)
    slots = px[:, :, None, None, None] * (out - shared)[:, None]
    slots += shared[:, None]
    return slots
