"""Generator: a `Design` -> generated network top + run-time memory files.

    files = generate(design, "out/digits-mlp")   # hws_net.sv, *.mem, shape.json, README.md

The generated top `hws_net` only sets parameters of, and wires, the hand-written modules in
rtl/hdl/ (loader, engines, max-pools, frame buffers); it contains no logic of its own.
Shapes, kinds and windows come from the contract network (hw_models), folding from its
`Folding`, and each engine's requantization shift and threshold are parameters (constants in
synthesis, so the shift is wiring). Weights and biases go into memory files loaded at
simulation start (hws_pkg). `generate_top(design, runtime_requant=True)` is the top of the
simulation build shared by every weight set of a hardware shape (`Design.shape_key`): the
engines take shift and threshold from plusargs instead (`requant_plusargs`). Number formats
are in the README written next to them (`_readme.py`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hw_models import ENGINE_DRAIN, ENGINE_FILL, FIXED_DRAIN, HANDOFF, LayerSpec
from rtl._readme import README_TEMPLATE
from rtl.design import Design
from rtl.memfiles import STORE_CODES, write_memories

TOP_NAME = "hws_net"
HDL_DIR = Path(__file__).parent / "hdl"
# Hand-written modules in compile order (package first); the harness is separate.
HDL_MODULES = (
    "hws_pkg.sv",
    "hws_pingpong.sv",
    "hws_vector_buffer.sv",
    "hws_window_buffer.sv",
    "hws_requant.sv",
    "hws_engine_lane.sv",
    "hws_engine.sv",
    "hws_maxpool.sv",
    "hws_loader.sv",
)
HARNESS = "hws_tb.sv"


def contract() -> dict[str, int]:
    """The contract constants the RTL implements (hw_models): the handoff is a parameter of
    the generated top, the fill and drain are the depth of the hand-written pipelines."""
    return {
        "ENGINE_FILL": ENGINE_FILL,
        "ENGINE_DRAIN": ENGINE_DRAIN,
        "FIXED_DRAIN": FIXED_DRAIN,
        "HANDOFF": HANDOFF,
    }


def hdl_sources() -> list[Path]:
    """Paths of the hand-written modules (compile order), without the harness."""
    return [HDL_DIR / name for name in HDL_MODULES]


# ---------------------------------------------------------------------------------------------
# the generated top


class _Expr(str):
    """A parameter value emitted as a SystemVerilog expression (not as a string literal)."""


def _params(values: dict[str, object]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, bool):
            return "1'b1" if v else "1'b0"
        if isinstance(v, _Expr):
            return str(v)
        return f'"{v}"' if isinstance(v, str) else str(v)

    return ",\n".join(f"    .{k}({fmt(v)})" for k, v in values.items())


def _ports(values: dict[str, str]) -> str:
    return ",\n".join(f"    .{k}({v})" for k, v in values.items())


def _inst(module: str, name: str, params: dict[str, object], ports: dict[str, str]) -> str:
    return f"  {module} #(\n{_params(params)}\n  ) {name} (\n{_ports(ports)}\n  );\n"


def _buffer(design: Design, i: int, producer_bits: int, consumer: LayerSpec, pixels: int) -> str:
    """Buffer b<i> between stage i (producer) and stage i+1 (consumer)."""
    write_px = design.stage_px(i)
    ports = {
        "clk_i": "clk_i",
        "rst_ni": "rst_ni",
        "s_pix_valid_i": f"st{i}_pix_valid",
        "s_pix_data_i": f"st{i}_pix_data",
        "prod_start_i": f"st{i}_start",
        "prod_done_i": f"st{i}_done",
        "wr_free_o": f"b{i}_wr_free",
        "rd_req_i": f"b{i}_rd_req",
        "rd_valid_o": f"b{i}_rd_valid",
        "rd_data_o": f"b{i}_rd_data",
        "cons_done_i": f"st{i + 1}_release",
        "rd_avail_o": f"b{i}_rd_avail",
    }
    if consumer.kind == "linear":
        params = {
            "PIX_BITS": producer_bits,
            "PIXELS": pixels,
            "HANDOFF": _Expr("HANDOFF"),
            "WRITE_PX": write_px,
            "BANKS": design.stage_banks(i),
        }
        return _inst("hws_vector_buffer", f"u_b{i}", params, ports)
    c, h, w = consumer.in_shape  # a window stage reads its source frame as it is
    params = {
        "CHANNELS": c,
        "BITS": consumer.a_bits,
        "HEIGHT": h,
        "WIDTH": w,
        "KERNEL": consumer.kernel,
        "STRIDE": consumer.stride,
        "PADDING": consumer.padding,
        "HANDOFF": _Expr("HANDOFF"),
        "WRITE_PX": write_px,
        "READ_PX": design.stage_px(i + 1),
        "BANKS": design.stage_banks(i),
    }
    ports |= {"rd_row_i": f"b{i}_rd_row", "rd_col_i": f"b{i}_rd_col"}
    return _inst("hws_window_buffer", f"u_b{i}", params, ports)


def _stage(design: Design, i: int, layer: LayerSpec, last: bool, runtime_requant: bool) -> str:
    """Stage i (>= 1) running `layer`, reading buffer b<i-1>, writing b<i> or the outputs."""
    _, ho, wo = layer.out_shape
    ports = {
        "clk_i": "clk_i",
        "rst_ni": "rst_ni",
        "in_avail_i": f"b{i - 1}_rd_avail",
        "out_free_i": "1'b1" if last else f"b{i}_wr_free",
        "start_o": f"st{i}_start",
        "release_o": f"st{i}_release",
        "done_o": f"st{i}_done",
        "m_win_req_o": f"b{i - 1}_rd_req",
        "m_win_row_o": "" if layer.kind == "linear" else f"b{i - 1}_rd_row",
        "m_win_col_o": "" if layer.kind == "linear" else f"b{i - 1}_rd_col",
        "s_win_valid_i": f"b{i - 1}_rd_valid",
        "s_win_data_i": f"b{i - 1}_rd_data",
        "m_pix_valid_o": f"st{i}_pix_valid",
        "m_pix_data_o": f"st{i}_pix_data",
    }
    if not layer.is_engine:
        params: dict[str, object] = {
            "CHANNELS": layer.in_shape[0],
            "BITS": layer.a_bits,
            "SIGNED": layer.input_signed,
            "KERNEL": layer.kernel,
            "OUT_H": ho,
            "OUT_W": wo,
            "PX": design.stage_px(i),
        }
        return _inst("hws_maxpool", f"u_st{i}_{layer.name}", params, ports)
    params = engine_parameters(design, layer.name, runtime_requant)
    return _inst("hws_engine", f"u_st{i}_{layer.name}", params, ports)


def engine_parameters(
    design: Design, name: str, runtime_requant: bool = False
) -> dict[str, object]:
    """hws_engine parameters of engine `name` (without the contract constants): its
    requantization shift and threshold as SHIFT and THRESHOLD, or with `runtime_requant`
    RUNTIME_REQUANT (they come from plusargs, so the parameters depend only on the shape)."""
    layer = design.layer(name)
    _, ho, wo = layer.out_shape
    pe, simd = design.folding[name]
    store = design.weight_store(name)
    requant = design.requantization(name)
    if requant is None:
        constants: dict[str, object] = {}
    elif runtime_requant:
        constants = {"RUNTIME_REQUANT": True}
    else:
        constants = {"SHIFT": requant[0], "THRESHOLD": requant[1]}
    return {
        "M": layer.rows,
        "FAN_IN": layer.fan_in,
        "PE": pe,
        "SIMD": simd,
        "W_BITS": layer.w_bits,
        "A_BITS": layer.a_bits,
        "A_SIGNED": layer.input_signed,
        "ACC_BITS": design.acc_bits(name),
        "ACT_SKIP": layer.act_skip,
        "STORE": STORE_CODES[store],
        "MAX_NNZ": design.max_row_nnz(name) if store == "skip" else 1,
        "DEPTH": design.lane_words(name) if store == "sparse" else 1,
        "REQUANT": requant is not None,
        **constants,
        "OUT_BITS": design.layer_out_bits(layer),
        "OUT_H": ho,
        "OUT_W": wo,
        "PX": design.folding.px(name),
        "NAME": name,
    }


def _bits(n: int) -> int:
    return max(1, (n - 1).bit_length())


def generate_top(design: Design, runtime_requant: bool = False) -> str:
    """SystemVerilog of the generated top `hws_net` of `design`, its engines' requantization
    constants as parameters; with `runtime_requant` the top of the simulation build shared by
    every weight set of the hardware shape (constants from plusargs, `requant_plusargs`)."""
    layers = design.layers
    n_stages = len(layers) + 1
    c, h, w = design.in_shape
    in_bits = c * design.in_bits
    out_bits = design.out_shape[0] * design.out_bits
    k = contract()
    decl = []
    body = []
    frame_bits = [in_bits] + [x.out_shape[0] * design.layer_out_bits(x) for x in layers]
    for i in range(n_stages):
        release = f" st{i}_release," if i > 0 else ""
        decl.append(f"  logic st{i}_start,{release} st{i}_done, st{i}_pix_valid;")
        decl.append(f"  logic [{design.stage_px(i) * frame_bits[i] - 1}:0] st{i}_pix_data;")
    for i, consumer in enumerate(layers):
        pixels = math.prod(design.frame_shape(consumer)[1:])
        decl.append(f"  logic b{i}_wr_free, b{i}_rd_avail, b{i}_rd_req, b{i}_rd_valid;")
        if consumer.kind == "linear":
            decl.append(f"  logic [{pixels * frame_bits[i] - 1}:0] b{i}_rd_data;")
        else:
            _, ho, wo = consumer.out_shape
            read_px = design.stage_px(i + 1)
            win = read_px * consumer.kernel**2 * frame_bits[i]
            decl.append(f"  logic [{_bits(ho) - 1}:0] b{i}_rd_row;")
            decl.append(f"  logic [{_bits(wo // read_px) - 1}:0] b{i}_rd_col;")
            decl.append(f"  logic [{win - 1}:0] b{i}_rd_data;")
    loader_ports = {
        "clk_i": "clk_i",
        "rst_ni": "rst_ni",
        "s_pix_valid_i": "s_in_valid_i",
        "s_pix_ready_o": "s_in_ready_o",
        "s_pix_data_i": "s_in_data_i",
        "out_free_i": "b0_wr_free",
        "start_o": "st0_start",
        "done_o": "st0_done",
        "m_pix_valid_o": "st0_pix_valid",
        "m_pix_data_o": "st0_pix_data",
    }
    body.append("  // ---- stage 0: loader\n")
    body.append(
        _inst(
            "hws_loader",
            "u_st0_loader",
            {"PIX_BITS": in_bits, "PIXELS": h * w, "PX": design.stage_px(0)},
            loader_ports,
        )
    )
    for i, layer in enumerate(layers, start=1):
        body.append(f"  // ---- buffer b{i - 1}, stage {i}: {layer.name} ({layer.kind})\n")
        pixels = math.prod(design.frame_shape(layer)[1:])
        body.append(_buffer(design, i - 1, frame_bits[i - 1], layer, pixels))
        body.append(_stage(design, i, layer, i == len(layers), runtime_requant))
    starts = ", ".join(f"st{i}_start" for i in reversed(range(n_stages)))
    dones = ", ".join(f"st{i}_done" for i in reversed(range(n_stages)))
    last = n_stages - 1
    return _TOP.format(
        name=design.name,
        key=design.shape_key(contract()),
        requant=_REQUANT_NOTE[runtime_requant],
        stages=", ".join(design.network.stage_names),
        n_stages=n_stages,
        in_bits=in_bits,
        in_px=design.stage_px(0),
        in_pixels=h * w,
        out_bits=out_bits,
        handoff=k["HANDOFF"],
        fill=k["ENGINE_FILL"],
        drain=k["ENGINE_DRAIN"],
        fixed_drain=k["FIXED_DRAIN"],
        decl="\n".join(decl),
        body="\n".join(body),
        starts=starts,
        dones=dones,
        last=last,
    )


_REQUANT_NOTE = {
    False: "Requantization shift and threshold: engine parameters SHIFT and THRESHOLD.",
    True: "Requantization shift and threshold: plusargs +<layer>_shift, +<layer>_threshold.",
}

_TOP = """\
// GENERATED by rtl/generate.py -- do not edit. Network "{name}", hardware shape {key}.
// Stages: {stages}. Parameters and instances of the hand-written modules in rtl/hdl/ only.
// {requant}
//
// Input: a stream of beats of {in_px} pixels of one row ({in_pixels} pixels per frame, {in_bits}
// bits each, all channels).
// Output: one pixel of the last layer's accumulators ({out_bits} bits) per m_out_valid_o.
// stage_start_o[l] / stage_done_o[l] pulse when stage l starts / finishes a frame
// (SPEC section 4: start[l][n] and done[l][n]); stages overlap frames (fill {fill} and drain
// {drain} cycles of an engine, {fixed_drain} of a max-pool, show only in latency).
`default_nettype none

module hws_net #(
  parameter int unsigned HANDOFF = {handoff},  // cycles done -> next start (contract)
  localparam int unsigned IN_BEAT_BITS = {in_px} * {in_bits},
  localparam int unsigned OUT_PIX_BITS = {out_bits},
  localparam int unsigned N_STAGES     = {n_stages}
) (
  input  wire logic                    clk_i,
  input  wire logic                    rst_ni,
  input  wire logic                    s_in_valid_i,
  output logic                         s_in_ready_o,
  input  wire logic [IN_BEAT_BITS-1:0] s_in_data_i,
  output logic                         m_out_valid_o,
  output logic [OUT_PIX_BITS-1:0]      m_out_data_o,
  output logic [N_STAGES-1:0]          stage_start_o,
  output logic [N_STAGES-1:0]          stage_done_o
);

{decl}

{body}
  assign m_out_valid_o = st{last}_pix_valid;
  assign m_out_data_o  = st{last}_pix_data;
  assign stage_start_o = {{{starts}}};
  assign stage_done_o  = {{{dones}}};

endmodule

`default_nettype wire
"""


def requant_plusargs(design: Design) -> list[str]:
    """Plusargs giving the engines of the `runtime_requant` top their shift and threshold."""
    args = []
    for layer in design.network.engines:
        requant = design.requantization(layer.name)
        if requant is not None:
            args += [f"+{layer.name}_shift={requant[0]}", f"+{layer.name}_threshold={requant[1]}"]
    return args


def harness_parameters(design: Design) -> dict[str, int]:
    """-G parameters of the harness hws_tb for `design`."""
    c, h, w = design.in_shape
    px = design.stage_px(0)
    return {
        "IN_BEAT_BITS": px * c * design.in_bits,
        "IN_BEATS": h * w // px,
        "OUT_PIX_BITS": design.out_shape[0] * design.out_bits,
        "N_STAGES": len(design.layers) + 1,
    }


def generate(design: Design, out_dir: str | Path) -> dict[str, Path]:
    """Write the generated top, memory files, shape.json and README.md into `out_dir`.

    Returns {"top": ..., "shape": ..., "readme": ..., <memory file name>: ...}.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    top = out / f"{TOP_NAME}.sv"
    top.write_text(generate_top(design))
    shape = out / "shape.json"
    key = design.shape_key(contract())
    shape.write_text(
        json.dumps({"key": key, "contract": contract(), **design.shape_dict()}, indent=1)
    )
    readme = out / "README.md"
    stages = ", ".join(design.network.stage_names)
    readme.write_text(README_TEMPLATE.format(name=design.name, key=key, stages=stages))
    files = {"top": top, "shape": shape, "readme": readme}
    files |= {p.name: p for p in write_memories(design, out)}
    return files
