"""What a finished job shows: the Pareto front beside the baselines, and its plots."""

from pathlib import Path

import optuna
from optuna.trial import TrialState

from search.study import JobResult

ACCURACY_SLACK = 0.01  # "within 1 point of dense accuracy"


def layer_summary(layers: dict[str, dict]) -> str:
    """`fc1 50/30% 4/8b` per layer: weight/activation sparsity, weight/input bits."""
    return ", ".join(
        f"{name} {info['weight_sparsity']:.0%}/{info['act_sparsity']:.0%} "
        f"{info['w_bits']}/{info['a_bits']}b"
        for name, info in layers.items()
    )


def _row(
    label: str,
    number: int | None,
    objectives: list[str],
    values: list[float],
    metrics: dict,
    hardware: dict,
    layers: dict,
    test: dict | None = None,
) -> dict:
    res = hardware["resources"]
    return {
        "label": label,
        "trial": number,
        "objectives": dict(zip(objectives, values, strict=True)),
        "val_accuracy": metrics.get("accuracy"),
        "test_accuracy": (test or {}).get("accuracy"),
        "throughput_fps": hardware["throughput_fps"],
        "latency_us": hardware["latency_us"],
        "lut": res["lut"],
        "ff": res["ff"],
        "dsp": res["dsp"],
        "bram": res["bram18"],
        "fits": hardware["fits"],
        "layers": layer_summary(layers),
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


def front_rows(result: JobResult) -> list[dict]:
    attrs = result.study.user_attrs
    tests = attrs.get("front_test_metrics", {})
    rows = []
    for t in result.front:
        row = _row(
            f"trial {t.number}",
            t.number,
            result.spec.objectives,
            t.values,
            t.user_attrs["metrics"],
            t.user_attrs["hardware"],
            t.user_attrs["layers"],
            tests.get(str(t.number)),
        )
        row["confirmation"] = attrs.get(f"confirmation:{t.number}")
        rows.append(row)
    return rows


def baseline_rows(result: JobResult) -> list[dict]:
    return [
        _row(
            b["label"],
            None,
            result.spec.objectives,
            b["values"],
            b["metrics"],
            b["hardware"],
            b["layers"],
        )
        for b in result.baselines
    ]


def search_gain(result: JobResult) -> dict:
    """Best front throughput within 1 point of dense accuracy, over the best uniform one.

    Dense accuracy is the dense int8 baseline's validation accuracy; both sides must fit.
    """
    dense = next(b for b in result.baselines if b["label"] == "dense int8")
    floor = dense["metrics"]["accuracy"] - ACCURACY_SLACK

    def best(rows: list[dict]) -> dict | None:
        ok = [r for r in rows if r["fits"] and (r["val_accuracy"] or 0) >= floor]
        return max(ok, key=lambda r: r["throughput_fps"], default=None)

    front = best(front_rows(result))
    uniform = best(baseline_rows(result))
    ratio = (
        front["throughput_fps"] / uniform["throughput_fps"]
        if front and uniform and uniform["throughput_fps"] > 0
        else None
    )
    return {
        "dense_accuracy": dense["metrics"]["accuracy"],
        "accuracy_floor": floor,
        "best_front": front,
        "best_uniform": uniform,
        "throughput_ratio": ratio,
    }


def _points(result: JobResult) -> tuple[list, list, list]:
    done = result.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    front_numbers = {t.number for t in result.front}
    others = [t.values[:2] for t in done if t.number not in front_numbers]
    front = sorted(t.values[:2] for t in result.front)
    baselines = [(b["label"], b["values"][:2]) for b in result.baselines]
    return others, front, baselines


def write_plots(result: JobResult, out_dir: str | Path) -> tuple[Path, Path]:
    """pareto.png (matplotlib) and pareto.html (plotly) of the first two objectives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = result.spec.objectives[:2]
    if len(names) < 2:
        names = [*names, names[0]]
    others, front, baselines = _points(result)
    fig, ax = plt.subplots(figsize=(7, 5))
    if others:
        ax.scatter(*zip(*others, strict=True), s=12, c="#bbbbbb", label="trials")
    if front:
        ax.plot(*zip(*front, strict=True), "o-", c="#d62728", label="Pareto front")
    for label, (x, y) in baselines:
        ax.scatter([x], [y], marker="s", c="#1f77b4", s=25)
        ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set(xlabel=names[0], ylabel=names[1], title=f"{result.spec.name} on {result.spec.device}")
    if names[1] in ("throughput", "lut", "ff", "dsp", "latency"):
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    png = out_dir / "pareto.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)

    figure = go.Figure()
    if others:
        figure.add_scatter(
            x=[p[0] for p in others],
            y=[p[1] for p in others],
            mode="markers",
            name="trials",
            marker={"color": "#bbbbbb"},
        )
    figure.add_scatter(
        x=[p[0] for p in front],
        y=[p[1] for p in front],
        mode="lines+markers",
        name="Pareto front",
        marker={"color": "#d62728"},
    )
    figure.add_scatter(
        x=[b[1][0] for b in baselines],
        y=[b[1][1] for b in baselines],
        mode="markers+text",
        text=[b[0] for b in baselines],
        name="baselines",
        textposition="top center",
        marker={"symbol": "square"},
    )
    figure.update_layout(
        title=f"{result.spec.name} on {result.spec.device}",
        xaxis_title=names[0],
        yaxis_title=names[1],
    )
    html = out_dir / "pareto.html"
    figure.write_html(html, include_plotlyjs=True)
    return png, html


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
