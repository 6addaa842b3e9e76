"""Hardware commands: estimate (analytic model), confirm (Verilator), synth (Yosys)."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from service.cli._console import console, fail
from service.cli.local import DataOpt, ModelArg


def estimate(
    model: ModelArg,
    candidate: Annotated[Path, typer.Option(help="candidate JSON (per-layer sparsity and bits)")],
    device: Annotated[str, typer.Option(help="zcu102, u250, zc706, xc7a100t, ...")] = "zcu102",
    clock_mhz: Annotated[float, typer.Option(help="accelerator clock")] = 200.0,
    data: DataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Fold a candidate onto a device: per-layer PE, SIMD, cycles, resources; throughput."""
    from search import CandidateScorer, JobSpec, Workload
    from search.transforms import load_candidate

    try:
        chosen = load_candidate(candidate)
        workload = Workload.load(model, data_path=data)
        spec = JobSpec(name="estimate", model=model, device=device, clock_mhz=clock_mhz)
        scorer = CandidateScorer(spec, workload)
        hardware, _ = scorer.estimate(scorer.build(chosen))
    except (KeyError, ValueError) as err:
        fail(str(err))
    if as_json:
        json.dump(hardware, sys.stdout, indent=2)
        print()
        return
    table = Table(title=f"{model} on {hardware['device']} at {hardware['clock_mhz']:g} MHz")
    table.add_column("stage", overflow="fold")  # transformer stage names are long
    for col in ("kind", "PE", "SIMD", "cycles/frame", "LUT", "FF", "DSP", "BRAM18"):
        table.add_column(col, no_wrap=True)
    for name, st in hardware["layers"].items():
        table.add_row(
            name,
            st["kind"],
            str(st["pe"] or "-"),
            str(st["simd"] or "-"),
            f"{st['cycles']:.1f}",
            str(st["lut"]),
            str(st["ff"]),
            str(st["dsp"]),
            str(st["bram18"]),
        )
    console.print(table)
    util = ", ".join(f"{k} {v:.1%}" for k, v in hardware["utilisation"].items())
    console.print(
        f"throughput {hardware['throughput_fps']:,.0f} inferences/s "
        f"(interval {hardware['interval_cycles']:.1f} cycles, bottleneck "
        f"{hardware['bottleneck']}); latency {hardware['latency_cycles']:.0f} cycles = "
        f"{hardware['latency_us']:.2f} us"
    )
    fits = "fits" if hardware["fits"] else "[bold red]does not fit[/]"
    console.print(f"utilisation: {util}; {fits} (cap {hardware['max_utilisation']:.0%})")


def confirm(
    storage: Annotated[str, typer.Option(help="Optuna storage URL of the study")],
    study: Annotated[str, typer.Option(help="study (job) name")],
    trial: Annotated[int | None, typer.Option(help="one trial number")] = None,
    front: Annotated[bool, typer.Option("--front", help="every Pareto-front member")] = False,
    samples: Annotated[int, typer.Option(help="test vectors per candidate")] = 64,
    processes: Annotated[int, typer.Option(help="simulations in parallel")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Simulate candidates in Verilator: bit-exact outputs, cycles vs the model; stores it."""
    from search import (
        JobRun,
        confirm_trials,
        confirmation_summary,
        front_numbers,
        load_job_study,
    )

    if (trial is None) == (not front):
        fail("give exactly one of --trial N and --front")
    try:
        found, spec = load_job_study(storage, study)
        numbers = [trial] if trial is not None else front_numbers(found, spec)
        reports = confirm_trials(found, JobRun(spec), numbers, samples, processes)
    except (KeyError, ValueError) as err:
        fail(str(err))
    if as_json:
        json.dump(reports, sys.stdout, indent=2)
        print()
        return
    for number, report in reports.items():
        console.print(f"trial {number}: {confirmation_summary(report)}", highlight=False)
        for stage, s in report.get("stages", {}).items():
            console.print(
                f"  {stage:>8}: work {s['exact_mean']:.1f} cycles/frame (simulated start and "
                f"done {'equal' if s['cycles_equal'] else 'DIFFER'}), expected "
                f"{s['expected']:.1f} ({s['expected_error_pct']:.1f}% off)",
                highlight=False,
            )
    if any("error" in r or not (r["bit_exact"] and r["cycles_equal"]) for r in reports.values()):
        raise typer.Exit(1)


def synth(
    model: ModelArg,
    candidate: Annotated[Path, typer.Option(help="candidate JSON (per-layer sparsity and bits)")],
    device: Annotated[str, typer.Option(help="device the candidate is folded for")] = "xc7a100t",
    layer: Annotated[
        str | None, typer.Option(help="synthesise only this engine layer (as a last layer)")
    ] = None,
    clock_mhz: Annotated[float, typer.Option(help="accelerator clock (folding)")] = 200.0,
    data: DataOpt = None,
    timeout: Annotated[float, typer.Option(help="Yosys timeout, seconds")] = 900.0,
    keep: Annotated[Path | None, typer.Option(help="keep the Yosys directory here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Synthesise a candidate's accelerator (or one layer) with Yosys for 7-series; compare
    LUT/FF/DSP/BRAM18 with the hw_models estimate."""
    from rtl.synth import SynthesisError, error_pct, estimate_resources, single_layer, synthesize
    from search import CandidateScorer, JobSpec, Workload, describe_accelerator
    from search.transforms import load_candidate

    try:
        chosen = load_candidate(candidate)
        workload = Workload.load(model, data_path=data)
        spec = JobSpec(name="synth", model=model, device=device, clock_mhz=clock_mhz)
        scorer = CandidateScorer(spec, workload)
        acc = describe_accelerator(scorer, chosen)
        design = acc.design
        if layer is None:
            estimated = {
                k: int(acc.hardware["resources"][k]) for k in ("lut", "ff", "dsp", "bram18")
            }
        else:
            design = single_layer(design, layer)
            estimated = estimate_resources(design, device)
    except (KeyError, ValueError) as err:
        fail(str(err))
    if not as_json:
        console.print(f"synthesising {design.name} with Yosys (synth_xilinx -family xc7) ...")
    try:
        counts = synthesize(design, work_dir=keep, timeout_s=timeout)
    except SynthesisError as err:
        fail(str(err))
    measured = counts.resources()
    errors = {k: error_pct(estimated[k], measured[k]) for k in measured}
    result = {
        "design": design.name,
        "layer": layer,
        "device": device,
        "estimate": estimated,
        "yosys": measured,
        "error_pct": errors,
        "yosys_lutram_luts": counts.lutram,
        "yosys_seconds": counts.seconds,
        "cells": counts.cells,
    }
    if as_json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    table = Table(title=f"{design.name}: hw_models estimate vs Yosys ({counts.seconds:.0f} s)")
    for col in ("resource", "estimate", "Yosys", "error"):
        table.add_column(col)
    for k in ("lut", "ff", "dsp", "bram18"):
        err = errors[k]
        table.add_row(
            k.upper(), str(estimated[k]), str(measured[k]), "-" if err is None else f"{err:+.1f}%"
        )
    console.print(table)
    if counts.lutram:
        console.print(f"(Yosys LUTs include {counts.lutram} used as distributed RAM / SRL)")
