"""Hardware commands: estimate (analytic model) and confirm (Verilator simulation)."""

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
    from search.evaluate import Workload
    from search.scoring import CandidateScorer
    from search.spec import JobSpec
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
    for col in ("stage", "kind", "PE", "SIMD", "cycles/frame", "LUT", "FF", "DSP", "BRAM18"):
        table.add_column(col)
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
    from search.confirm import confirm_trials, front_numbers
    from search.report import confirmation_summary
    from search.stored import load_job_study

    if (trial is None) == (not front):
        fail("give exactly one of --trial N and --front")
    try:
        numbers = [trial] if trial is not None else front_numbers(load_job_study(storage, study)[0])
        reports = confirm_trials(storage, study, numbers, samples, processes)
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
                f"  {stage:>8}: simulated {s['simulated_mean']:.1f} cycles/frame, model exact "
                f"{s['exact_mean']:.1f}, expected {s['expected']:.1f} "
                f"({s['expected_error_pct']:.1f}% off)",
                highlight=False,
            )
    if any("error" in r or not (r["bit_exact"] and r["cycles_equal"]) for r in reports.values()):
        raise typer.Exit(1)
