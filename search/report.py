"""What a finished job shows: its front as distinct designs beside the reference designs
(dense int8 and the uniform baselines), the search gain, the plots, and the same in
optuna-dashboard (study user attrs, a note and the plotly figure).

Every view is made from `front_rows` and `baseline_rows`, so the CLI table, the REST front,
the plots and the dashboard show the same designs with the same numbers.
"""

from pathlib import Path

import optuna

from search.front import (
    ACCURACY_SLACK,
    DENSE_LABEL,
    JobView,
    StoredJob,
    accuracy_floor,
    dense_accuracy,
    design_key,
    front_designs,
    worth_building,
)
from search.spec import JobSpec

__all__ = [
    "ACCURACY_SLACK",
    "baseline_rows",
    "confirmation_summary",
    "front_rows",
    "hypervolume",
    "layer_summary",
    "publish_front",
    "search_gain",
    "write_plots",
]

DASHBOARD_GRAPH_ID = "pareto-front"  # optuna-dashboard graph object, replaced on each publish


def layer_summary(layers: dict[str, dict]) -> str:
    """`fc1 50/30% 4/8b` per layer: weight/activation sparsity, weight/input bits."""
    return ", ".join(
        f"{name} {info['weight_sparsity']:.0%}/{info['act_sparsity']:.0%} "
        f"{info['w_bits']}/{info['a_bits']}b"
        for name, info in layers.items()
    )


def trials_label(numbers: list[int]) -> str:
    """`trial 3`, or `trials 3, 17` for a design several trials built."""
    return f"trial{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}"


def _row(
    label: str,
    numbers: list[int],
    objectives: list[str],
    values: list[float],
    attrs: dict,
    test: dict | None = None,
) -> dict:
    hardware = attrs["hardware"]
    res = hardware["resources"]
    return {
        "label": label,
        "trial": numbers[0] if numbers else None,
        "trials": numbers,
        "objectives": dict(zip(objectives, values, strict=True)),
        "val_accuracy": attrs["metrics"].get("accuracy"),
        "test_accuracy": (test or {}).get("accuracy"),
        "throughput_fps": hardware["throughput_fps"],
        "latency_us": hardware["latency_us"],
        "lut": res["lut"],
        "ff": res["ff"],
        "dsp": res["dsp"],
        "bram": res["bram18"],
        "fits": hardware["fits"],
        "layers": layer_summary(attrs["layers"]),
    }


def confirmation_summary(report: dict | None) -> str:
    """`bit-exact, cycles = model, expected off by 3.1%`, or why not."""
    if report is None:
        return "-"
    if "error" in report:
        return f"failed: {report['error']}"
    exact = "bit-exact" if report["bit_exact"] else f"{report['mismatches']} mismatches"
    cycles = "cycles = model" if report["cycles_equal"] else "CYCLES DIFFER from the model"
    return f"{exact}, {cycles}, expected off by {report['expected_interval_error_pct']:.1f}%"


def front_rows(job: JobView) -> list[dict]:
    """One row per distinct front design, best first objective first: `trials` lists every
    trial that built it (`trial` is the first), `confirmation` its RTL report if one is
    stored, `confirmed` whether that report is bit- and cycle-exact."""
    tests = job.study.user_attrs.get("front_test_metrics", {})
    rows = []
    for design in front_designs(job.study):
        trial = design.trial
        row = _row(
            trials_label(design.numbers),
            design.numbers,
            job.spec.objectives,
            trial.values,
            trial.user_attrs,
            tests.get(str(trial.number)),
        )
        row["confirmation"] = design.confirmation
        row["confirmed"] = design.confirmed
        rows.append(row)
    return rows


def baseline_rows(job: JobView) -> list[dict]:
    """The reference designs in the order scored: `reference` is "dense" or "uniform";
    `same_design_as` names an earlier reference that is the identical design (uniform
    s=0 8b is dense int8), else None."""
    rows, first_label = [], {}
    for baseline in job.baselines:
        key = design_key(baseline["values"], baseline)
        first = first_label.setdefault(key, baseline["label"])
        row = _row(baseline["label"], [], job.spec.objectives, baseline["values"], baseline)
        row["reference"] = "dense" if baseline["label"] == DENSE_LABEL else "uniform"
        row["same_design_as"] = None if first == baseline["label"] else first
        rows.append(row)
    return rows


def search_gain(job: JobView) -> dict:
    """Best front throughput at or above the accuracy floor (`search.front.accuracy_floor`:
    1 point below dense int8), over the best uniform design's; both sides must fit."""
    floor = accuracy_floor(job.spec, job.baselines)
    dense = dense_accuracy(job.baselines)
    if dense is None or floor is None:
        raise ValueError(f"job {job.spec.name!r} has no {DENSE_LABEL} baseline with accuracy")

    def best(rows: list[dict]) -> dict | None:
        ok = [r for r in rows if worth_building(r["val_accuracy"], r["fits"], floor)]
        return max(ok, key=lambda r: r["throughput_fps"], default=None)

    front = best(front_rows(job))
    uniform = best(baseline_rows(job))
    ratio = (
        front["throughput_fps"] / uniform["throughput_fps"]
        if front and uniform and uniform["throughput_fps"] > 0
        else None
    )
    return {
        "dense_accuracy": dense,
        "accuracy_floor": floor,
        "best_front": front,
        "best_uniform": uniform,
        "throughput_ratio": ratio,
    }


def write_plots(job: JobView, out_dir: str | Path) -> tuple[Path, Path]:
    """pareto.png (matplotlib) and pareto.html (plotly) of the front (`search.plots`)."""
    from search.front_plot import front_plot
    from search.plots import pareto_plotly, save_png

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = front_plot(job, front_rows(job), baseline_rows(job))
    png, html = out_dir / "pareto.png", out_dir / "pareto.html"
    save_png(plot, png)
    pareto_plotly(plot).write_html(html, include_plotlyjs=True)
    return png, html


def _dashboard_row(row: dict) -> dict:
    """A row as the REST front has it, without the RTL report (`confirmation:<n>` holds it)."""
    return {k: v for k, v in row.items() if k != "confirmation"}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def front_note(rows: list[dict], references: list[dict], floor: float | None) -> str:
    """Markdown for the study's optuna-dashboard note: the front table and the references."""
    lines = [
        "## Pareto front (distinct designs)",
        "",
        f"Accuracy floor of the useful region: {_percent(floor)}. "
        "RTL ✓: simulated bit-exact and cycle-exact against the model.",
        "",
        "| design | val acc | test acc | inf/s | latency µs | LUT | FF | DSP | BRAM18 | RTL |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows + references:
        mark = "✓" if r.get("confirmed") else ("" if "confirmed" in r else "reference")
        same = f" (= {r['same_design_as']})" if r.get("same_design_as") else ""
        lines.append(
            f"| {r['label']}{same} | {_percent(r['val_accuracy'])} "
            f"| {_percent(r['test_accuracy'])} "
            f"| {r['throughput_fps']:,.0f} | {r['latency_us']:.2f} | {r['lut']:,} | {r['ff']:,} "
            f"| {r['dsp']} | {r['bram']:g} | {mark} |"
        )
    return "\n".join(lines) + "\n"


def publish_front(study: optuna.Study, spec: JobSpec) -> None:
    """Show the front in optuna-dashboard: study user attrs `front` (rows without the RTL
    reports, which are `confirmation:<n>`), `front_references` and `front_accuracy_floor`,
    the study note (a table) and the plotly figure of pareto.html."""
    from optuna_dashboard import save_note, save_plotly_graph_object

    from search.front_plot import front_plot
    from search.plots import pareto_plotly

    job = StoredJob.of(study, spec)
    rows, references = front_rows(job), baseline_rows(job)
    floor = accuracy_floor(spec, job.baselines)
    study.set_user_attr("front", [_dashboard_row(r) for r in rows])
    study.set_user_attr("front_references", [_dashboard_row(r) for r in references])
    study.set_user_attr("front_accuracy_floor", floor)
    save_note(study, front_note(rows, references, floor))
    figure = pareto_plotly(front_plot(job, rows, references))
    save_plotly_graph_object(study, figure, graph_object_id=DASHBOARD_GRAPH_ID)


def hypervolume(study: optuna.Study, reference: list[float]) -> float:
    """Hypervolume of the feasible front dominating `reference` (maximised objectives are
    negated, as Optuna does); front members worse than the reference in any objective add
    nothing."""
    import numpy as np
    from optuna._hypervolume import compute_hypervolume

    signs = np.array(
        [-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in study.directions]
    )
    values = np.array([t.values for t in study.best_trials], dtype=float)
    losses = values.reshape(-1, len(signs)) * signs
    corner = np.asarray(reference, dtype=float) * signs
    losses = losses[np.all(losses <= corner, axis=1)]
    if len(losses) == 0:
        return 0.0
    return float(compute_hypervolume(losses, corner, assume_pareto=False))
