"""Simulation runner: run a design on test vectors with Verilator, check it against golden outputs.

    report = confirm(design, input_codes, golden_outputs)
    report.bit_exact, report.first_mismatch, report.total_cycles
    report.start_cycles, report.done_cycles      # (stages, N): SPEC section 4's start and done

Steps: generate the top and the memory files (rtl.generate) -> build the pure SystemVerilog
harness `hws_tb` with the generated top (`verilator --binary`, cached per hardware shape under
`<build root>/rtl/shapes/<shape key>` with ccache, see rtl.verilator.build_root) -> run it with
the inputs under a cycle watchdog and a process timeout -> parse outputs and per-stage
per-frame start/done cycles.
The shared build's top takes the requantization constants from plusargs (`generate_top(...,
runtime_requant=True)`), so one build serves every weight set of a shape; the requantizer's
datapath is the one synthesis builds with constants. `constant_requant=True` builds the
generated top itself (constants as parameters, exactly what synthesis reads), one build per
design.
`confirm_many` runs several candidates in a process pool; builds of one shape happen once.
"""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import hw_models
from hw_models import ENGINE_DRAIN, ENGINE_FILL, HANDOFF
from rtl.design import Design
from rtl.generate import (
    HARNESS,
    HDL_DIR,
    contract,
    generate,
    generate_top,
    harness_parameters,
    hdl_sources,
    requant_plusargs,
)
from rtl.memfiles import parse_outputs, write_inputs
from rtl.verilator import build_binary, build_root, locked, sources_digest

SIM_CYCLES_PER_SECOND = 100_000  # pessimistic simulation speed, for the default timeout


class ConfirmationError(RuntimeError):
    """The simulation could not produce a result (build failure, missing file, watchdog,
    timeout); the message says which and includes the simulator's last output."""


@dataclass(frozen=True)
class Mismatch:
    """First output that differs: sample, index inside the sample's output, values."""

    sample: int
    index: tuple[int, ...]
    expected: int
    got: int


@dataclass(frozen=True, eq=False)
class ConfirmationReport:
    """Result of one simulation. Cycle arrays are (stages, N) int64, stage 0 the loader."""

    network: str
    shape_key: str
    n_samples: int
    outputs: np.ndarray
    bit_exact: bool | None  # None when no golden outputs were given
    mismatches: int
    first_mismatch: Mismatch | None
    stage_names: tuple[str, ...]
    start_cycles: np.ndarray
    done_cycles: np.ndarray
    build_seconds: float
    sim_seconds: float
    work_dir: Path | None = field(repr=False)  # None when a temporary directory was used

    @property
    def stage_latency(self) -> np.ndarray:
        """(stages, N) cycles from each stage's start of each frame to its done (frames
        overlap, so this is latency, not the stage's interval)."""
        return self.done_cycles - self.start_cycles

    @property
    def interval_cycles(self) -> float:
        """Measured cycles per frame: the mean spacing of the last stage's done pulses."""
        done = self.done_cycles[-1]
        return float(done[-1] - done[0]) / (len(done) - 1) if len(done) > 1 else float(done[0])

    @property
    def total_cycles(self) -> int:
        """Cycles until the last stage finished the last frame (done[last][N-1])."""
        return int(self.done_cycles[-1, -1])

    @property
    def cycles_per_sample(self) -> float:
        return self.total_cycles / self.n_samples

    def summary(self) -> str:
        """A few human-readable lines."""
        exact = {None: "not checked", True: "bit-exact", False: "MISMATCH"}[self.bit_exact]
        lines = [
            f"{self.network} [{self.shape_key}]: {self.n_samples} samples, {exact}, "
            f"{self.total_cycles} cycles ({self.cycles_per_sample:.1f}/sample, one per "
            f"{self.interval_cycles:.1f} in the pipeline)"
        ]
        if self.first_mismatch is not None:
            m = self.first_mismatch
            lines.append(
                f"  {self.mismatches} mismatches; first: sample {m.sample} index "
                f"{m.index}: expected {m.expected}, got {m.got}"
            )
        for name, t in zip(self.stage_names, self.stage_latency, strict=True):
            lines.append(
                f"  {name:>12}: {t.mean():10.1f} cycles start to done (min {t.min()}, "
                f"max {t.max()})"
            )
        return "\n".join(lines)


def shape_build_key(design: Design, constant_requant: bool = False) -> str:
    """Build cache key: hardware shape + contract constants + hand-written RTL sources (+ the
    requantization constants when they are compiled in)."""
    sources = [*hdl_sources(), HDL_DIR / HARNESS]
    extra: dict = {"contract": contract(), "rtl": sources_digest(sources)}
    if constant_requant:
        extra["requant"] = {x.name: design.requantization(x.name) for x in design.network.engines}
    return design.shape_key(extra)


def build(
    design: Design, root: Path | None = None, constant_requant: bool = False
) -> tuple[Path, float]:
    """Build (or reuse) the harness for `design`'s shape (with `constant_requant`, for the
    design itself); returns (executable, seconds)."""
    t0 = time.monotonic()
    key = shape_build_key(design, constant_requant)
    shape_dir = (root or build_root() / "rtl" / "shapes") / key
    top = shape_dir / "generated" / "hws_net.sv"
    text = generate_top(design, runtime_requant=not constant_requant)
    with locked(shape_dir.with_suffix(".gen.lock")):
        if not top.exists() or top.read_text() != text:  # a changed generator rewrites it
            top.parent.mkdir(parents=True, exist_ok=True)
            top.write_text(text)
    exe = build_binary(
        shape_dir / "sim",
        [*hdl_sources(), top, HDL_DIR / HARNESS],
        top="hws_tb",
        parameters=harness_parameters(design),
    )
    return exe, time.monotonic() - t0


def worst_case_cycles(design: Design, n_samples: int) -> int:
    """An upper bound on the simulated cycles (dense work everywhere), for the watchdog: the
    contract's cycles of the same network with dense weights and no activation skipping, at
    the power of two at or below each SIMD (legal for dense rows, where a SIMD fitting a
    pruned layer's longest row may not be, and never faster)."""
    folding = design.folding
    lanes = {
        name: (pe, 1 << (simd.bit_length() - 1)) for name, (pe, simd) in folding.as_dict().items()
    }
    bound = hw_models.Folding.from_dict(lanes, dict(folding.pixels), dict(folding.banks))
    dense = hw_models.Network(
        design.name,
        tuple(
            dataclasses.replace(x, weight_mask=None, act_skip=False, window_nnz_hist=None)
            for x in design.layers
        ),
    )
    overhead = HANDOFF + ENGINE_FILL + ENGINE_DRAIN  # more than any stage's fill and drain
    per_frame = hw_models.expected_stage_cycles(dense, bound) + overhead
    return (n_samples + len(per_frame)) * int(per_frame.sum()) + 1000


def _compare(outputs: np.ndarray, golden: np.ndarray) -> tuple[int, Mismatch | None]:
    if outputs.shape != golden.shape:
        raise ConfirmationError(
            f"golden outputs have shape {golden.shape}, the simulation produced {outputs.shape}"
        )
    diff = np.argwhere(outputs != golden)
    if len(diff) == 0:
        return 0, None
    idx = tuple(int(i) for i in diff[0])
    return len(diff), Mismatch(idx[0], idx[1:], int(golden[idx]), int(outputs[idx]))


def _parse_cycles(path: Path, n_stages: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    events: dict[str, list[list[int]]] = {
        "start": [[] for _ in range(n_stages)],
        "done": [[] for _ in range(n_stages)],
    }
    for line in path.read_text().splitlines():
        kind, stage, cycle = line.split()
        events[kind][int(stage)].append(int(cycle))
    for kind, per_stage in events.items():
        for stage, cycles in enumerate(per_stage):
            if len(cycles) < n:
                raise ConfirmationError(
                    f"stage {stage} recorded {len(cycles)} {kind} pulses for {n} frames"
                )
    start = np.array([c[:n] for c in events["start"]], dtype=np.int64)
    done = np.array([c[:n] for c in events["done"]], dtype=np.int64)
    return start, done


def confirm(
    design: Design,
    inputs: np.ndarray,
    golden: np.ndarray | None = None,
    *,
    work_dir: str | Path | None = None,
    build_dir: str | Path | None = None,
    max_cycles: int | None = None,
    timeout_s: float | None = None,
    constant_requant: bool = False,
) -> ConfirmationReport:
    """Simulate `design` on integer `inputs` and compare with `golden` outputs.

    Args:
        design: the accelerator (contract network, folding, memory images).
        inputs: input codes, (N, C, H, W), or (N, K) when the input frame is (K, 1, 1).
        golden: expected int64 outputs, (N, M) for a linear last layer or (N, M, H, W); None to
            only simulate.
        work_dir: where memory files, inputs and outputs go (a temporary directory if None).
        build_dir: root of the per-shape build cache (default <build root>/rtl/shapes).
        max_cycles: cycle watchdog (default: a dense worst case).
        timeout_s: process timeout (default: from max_cycles at a pessimistic speed).
        constant_requant: simulate the generated top itself, requantization constants
            compiled in (a build per design), instead of the shape's shared build.

    Raises:
        ConfirmationError: build failure, missing memory file, watchdog or timeout.
    """
    inputs = np.asarray(inputs, dtype=np.int64)
    n = len(inputs)
    if n < 1:
        raise ValueError("confirm needs at least one input sample")
    exe, build_seconds = build(design, Path(build_dir) if build_dir else None, constant_requant)
    max_cycles = max_cycles or worst_case_cycles(design, n)
    timeout_s = timeout_s or 30.0 + max_cycles / SIM_CYCLES_PER_SECOND
    tmp = None if work_dir is not None else tempfile.TemporaryDirectory(prefix="hws_confirm_")
    work = Path(work_dir if work_dir is not None else tmp.name)  # type: ignore[union-attr]
    try:
        work.mkdir(parents=True, exist_ok=True)
        mem_dir = work / "mem"
        generate(design, mem_dir)
        write_inputs(design, inputs, work / "inputs.hex")
        out_file, cycles_file = work / "outputs.hex", work / "cycles.txt"
        out_file.unlink(missing_ok=True)
        cmd = [
            str(exe),
            f"+hws_in={work / 'inputs.hex'}",
            f"+hws_frames={n}",
            f"+hws_out={out_file}",
            f"+hws_cycles={cycles_file}",
            f"+hws_max_cycles={max_cycles}",
            f"+hws_mem_dir={mem_dir}",
            *([] if constant_requant else requant_plusargs(design)),
        ]
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout_s, cwd=work, check=False
            )
        except subprocess.TimeoutExpired as err:
            raise ConfirmationError(
                f"{design.name}: simulation exceeded the {timeout_s:.0f} s process timeout"
            ) from err
        sim_seconds = time.monotonic() - t0
        log = (proc.stdout + proc.stderr)[-3000:]
        if proc.returncode != 0 or "HWS_OK" not in proc.stdout:
            reason = "watchdog expired" if "HWS_WATCHDOG" in log else "simulation failed"
            if "HWS_ERROR" in log:
                reason = next(x for x in log.splitlines() if "HWS_ERROR" in x).strip()
            raise ConfirmationError(f"{design.name}: {reason} (exit {proc.returncode}):\n{log}")
        outputs = parse_outputs(design, out_file.read_text().split(), n)
        start, done = _parse_cycles(cycles_file, len(design.layers) + 1, n)
        mismatches, first = 0, None
        if golden is not None:
            mismatches, first = _compare(outputs, np.asarray(golden, dtype=np.int64))
        return ConfirmationReport(
            network=design.name,
            shape_key=shape_build_key(design, constant_requant),
            n_samples=n,
            outputs=outputs,
            bit_exact=None if golden is None else mismatches == 0,
            mismatches=mismatches,
            first_mismatch=first,
            stage_names=design.network.stage_names,
            start_cycles=start,
            done_cycles=done,
            build_seconds=build_seconds,
            sim_seconds=sim_seconds,
            work_dir=None if tmp is not None else work,
        )
    finally:
        if tmp is not None:
            tmp.cleanup()


@dataclass(frozen=True, eq=False)
class ConfirmationJob:
    """One candidate for `confirm_many`: the arguments of `confirm`."""

    design: Design
    inputs: np.ndarray
    golden: np.ndarray | None = None
    max_cycles: int | None = None
    timeout_s: float | None = None


def _run_job(job: ConfirmationJob, build_dir: Path | None) -> ConfirmationReport | Exception:
    try:
        return confirm(
            job.design,
            job.inputs,
            job.golden,
            build_dir=build_dir,
            max_cycles=job.max_cycles,
            timeout_s=job.timeout_s,
        )
    except (ConfirmationError, ValueError, RuntimeError, SystemExit) as err:
        return ConfirmationError(f"{job.design.name}: {err}")


def confirm_many(
    jobs: Sequence[ConfirmationJob],
    processes: int = 2,
    build_dir: str | Path | None = None,
) -> list[ConfirmationReport | Exception]:
    """Run `confirm` for every job in a process pool; failures are returned, not raised.

    Jobs of one hardware shape share one build (a file lock makes the others wait for it).
    """
    root = Path(build_dir) if build_dir else None
    if processes <= 1 or len(jobs) <= 1:
        return [_run_job(job, root) for job in jobs]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        return list(pool.map(_run_job, jobs, [root] * len(jobs)))
