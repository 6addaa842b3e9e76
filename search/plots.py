"""The Pareto plot of a job, zoomed to the useful region: one description (`FrontPlot`) drawn
twice, as pareto.png (matplotlib) and as pareto.html and the dashboard's graph (plotly), so
both show the same designs, limits and labels.

x and y are the job's first two objectives (with throughput beside a lone objective). An
accuracy axis starts at the accuracy floor (`search.front.accuracy_floor`), or lower when no
front design reaches it, and the other axis spans what is visible there; a footnote counts
what lies below. Axis titles carry units; only front designs and references are labelled,
and a PNG label that would overlap another is moved, or left to the table.
"""

import math
from dataclasses import dataclass

from optuna.trial import TrialState

from search.front import JobView, accuracy_floor

AXIS_TITLES = {
    "accuracy": "validation accuracy (%)",
    "cross_entropy": "validation cross-entropy (nats)",
    "throughput": "throughput (inf/s)",
    "latency": "latency (µs)",
    "lut": "LUTs",
    "ff": "flip-flops (FF)",
    "dsp": "DSP slices",
    "bram": "BRAM18 blocks",
    "utilisation": "largest device utilisation (%)",
}
PERCENT_AXES = ("accuracy", "utilisation")
LOG_SPAN = 10.0  # a positive axis whose visible values span this factor is drawn log-scale
PAD = 0.06  # of the visible span, added beyond the outermost point on each side
MIN_ACCURACY_SPAN = 0.005  # half a point: an accuracy axis never zooms in further
FRONT_COLOUR, CONFIRMED_COLOUR, UNIFORM_COLOUR, DENSE_COLOUR = (
    "#d62728",
    "#2ca02c",
    "#1f77b4",
    "#000000",
)
TRIAL_COLOUR, FLOOR_COLOUR = "#bbbbbb", "#7f7f7f"
MAX_LABEL_NUMBERS = 3  # trial numbers written next to a merged design; the rest as "+k"


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    label: str  # written next to the point ("" for none)
    hover: str  # the HTML plot's hover text
    confirmed: bool = False
    dense: bool = False


@dataclass(frozen=True)
class PlotAxis:
    name: str  # the objective
    title: str  # with its unit
    percent: bool  # values are fractions, shown as %
    log: bool
    limits: tuple[float, float] | None  # None: the plotting library chooses


@dataclass(frozen=True)
class FrontPlot:
    title: str
    x: PlotAxis
    y: PlotAxis
    trials: list[PlotPoint]  # other completed trials in view
    front: list[PlotPoint]  # distinct front designs in view, by x
    references: list[PlotPoint]  # dense and uniform designs in view, identical ones merged
    floor: float | None  # the accuracy floor, on the accuracy axis
    floor_axis: str | None  # "x" or "y": the accuracy axis, when it is zoomed
    footnote: str  # what lies below the view, or ""


def plot_objectives(objectives: list[str]) -> list[str]:
    """The two plotted quantities: the first two objectives, or one beside throughput."""
    if len(objectives) >= 2:
        return objectives[:2]
    alone = objectives[0]
    return [alone, "throughput"] if alone != "throughput" else ["accuracy", "throughput"]


def _coordinate(name: str, objectives: dict, accuracy: float | None, throughput: float) -> float:
    if name in objectives:
        return objectives[name]
    return throughput if name == "throughput" else accuracy


def _design_label(numbers: list[int]) -> str:
    """`#3`, `#3,17`, or `#3,17,20+2` for a design built by five trials."""
    shown = ",".join(map(str, numbers[:MAX_LABEL_NUMBERS]))
    more = len(numbers) - MAX_LABEL_NUMBERS
    return f"#{shown}" + (f"+{more}" if more > 0 else "")


def _hover(row: dict) -> str:
    accuracy = "-" if row["val_accuracy"] is None else f"{row['val_accuracy']:.2%}"
    lines = [
        row["label"],
        f"val accuracy {accuracy}",
        f"{row['throughput_fps']:,.0f} inf/s, {row['latency_us']:.2f} µs",
        f"LUT {row['lut']:,}, FF {row['ff']:,}, DSP {row['dsp']}, BRAM18 {row['bram']:g}",
        row["layers"],
    ]
    if row.get("confirmed"):
        lines.append("RTL: bit-exact, cycles = model")
    return "<br>".join(lines)


def _padded(values: list[float], log: bool) -> tuple[float, float] | None:
    if not values:
        return None
    low, high = min(values), max(values)
    if log:
        factor = (high / low) ** PAD
        return low / factor, high * factor
    span = high - low or abs(high) * 0.1 or 1.0
    return low - PAD * span, high + PAD * span


def _axis(name: str, values: list[float], limits: tuple[float, float] | None) -> PlotAxis:
    """An axis over the visible `values`; `limits` when already chosen (a zoomed accuracy)."""
    positive = bool(values) and min(values) > 0
    log = limits is None and positive and max(values) / min(values) >= LOG_SPAN
    return PlotAxis(
        name,
        AXIS_TITLES.get(name, name),
        name in PERCENT_AXES,
        log,
        limits if limits is not None else _padded(values, log),
    )


def _accuracy_limits(
    floor: float, front: list[float], everything: list[float]
) -> tuple[float, float]:
    """From the floor (or the best front accuracy, when no front design reaches the floor)
    to the highest accuracy seen."""
    low = floor if not front or max(front) >= floor else max(front)
    high = max([*everything, low])
    span = max(high - low, MIN_ACCURACY_SPAN)
    return low - PAD * span, high + PAD * span


def _merge_references(points: list[PlotPoint]) -> list[PlotPoint]:
    """One point per position: `dense int8 = uniform s=0 8b`."""
    merged: dict[tuple[float, float], PlotPoint] = {}
    for p in points:
        first = merged.get((p.x, p.y))
        merged[(p.x, p.y)] = (
            p
            if first is None
            else PlotPoint(
                p.x,
                p.y,
                f"{first.label} = {p.label}",
                f"{first.hover}<br>= {p.label}",
                dense=first.dense or p.dense,
            )
        )
    return list(merged.values())


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def front_plot(job: JobView, front_rows: list[dict], reference_rows: list[dict]) -> FrontPlot:
    """The plot of `search.report.front_rows` and `baseline_rows` over the job's other
    completed trials."""
    spec = job.spec
    names = plot_objectives(spec.objectives)

    def xy(objectives: dict, accuracy: float | None, throughput: float) -> tuple[float, float]:
        return tuple(_coordinate(n, objectives, accuracy, throughput) for n in names)

    front = [
        PlotPoint(
            *xy(r["objectives"], r["val_accuracy"], r["throughput_fps"]),
            _design_label(r["trials"]),
            _hover(r),
            confirmed=r["confirmed"],
        )
        for r in front_rows
    ]
    on_front = {n for r in front_rows for n in r["trials"]}
    trials = [
        PlotPoint(
            *xy(
                dict(zip(spec.objectives, t.values, strict=True)),
                t.user_attrs["metrics"].get("accuracy"),
                t.user_attrs["hardware"]["throughput_fps"],
            ),
            "",
            f"trial {t.number}",
        )
        for t in job.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.number not in on_front and "hardware" in t.user_attrs
    ]
    references = [
        PlotPoint(
            *xy(r["objectives"], r["val_accuracy"], r["throughput_fps"]),
            r["label"],
            _hover(r),
            dense=r["reference"] == "dense",
        )
        for r in reference_rows
    ]
    floor = accuracy_floor(spec, job.baselines)
    accuracy_axis = "x" if names[0] == "accuracy" else "y" if names[1] == "accuracy" else None
    if floor is None:
        accuracy_axis = None
    footnote = ""
    limits: dict[str, tuple[float, float] | None] = {"x": None, "y": None}
    if accuracy_axis is not None:
        at = 0 if accuracy_axis == "x" else 1

        def acc(p: PlotPoint) -> float:
            return (p.x, p.y)[at]

        everything = [acc(p) for p in front + references + trials]
        low, high = limits[accuracy_axis] = _accuracy_limits(
            floor, [acc(p) for p in front], everything
        )
        below = {
            what: sum(acc(p) < low for p in group)
            for what, group in (
                ("front design", front),
                ("reference", references),
                ("other trial", trials),
            )
        }
        if any(below.values()):
            counts = ", ".join(_count(n, what) for what, n in below.items() if n)
            footnote = f"not shown, accuracy below {low:.2%}: {counts}"
        front, references, trials = (
            [p for p in group if low <= acc(p) <= high] for group in (front, references, trials)
        )
    references = _merge_references(references)
    shown = front + references + trials
    floor_text = f", accuracy floor {floor:.2%}" if floor is not None else ""
    return FrontPlot(
        title=f"{spec.name} on {spec.device}: Pareto front{floor_text}",
        x=_axis(names[0], [p.x for p in shown], limits["x"]),
        y=_axis(names[1], [p.y for p in shown], limits["y"]),
        trials=trials,
        front=sorted(front, key=lambda p: (p.x, p.y)),
        references=references,
        floor=floor if accuracy_axis else None,
        floor_axis=accuracy_axis,
        footnote=footnote,
    )


# --- matplotlib: pareto.png ----------------------------------------------------------------

LABEL_OFFSETS = (  # points from the marker, and the text's alignment there
    (5, 5, "left", "bottom"),
    (5, -5, "left", "top"),
    (-5, 5, "right", "bottom"),
    (-5, -5, "right", "top"),
    (0, 10, "center", "bottom"),
    (0, -10, "center", "top"),
)


def _format_axis(axis, spec: PlotAxis, set_scale, set_limits) -> None:
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter, PercentFormatter

    if spec.log:
        set_scale("log")
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(PercentFormatter(1.0) if spec.percent else EngFormatter(sep=""))
    if spec.limits is not None:
        set_limits(*spec.limits)


def _place_labels(fig, ax, points: list[tuple[PlotPoint, str]]) -> None:
    """Each label at the first offset where it overlaps no placed label and stays inside the
    axes; a label with no such place is left out (the table and the HTML hover have it)."""
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed = []
    for point, colour in points:
        for dx, dy, ha, va in LABEL_OFFSETS:
            text = ax.annotate(
                point.label,
                (point.x, point.y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=7,
                color=colour,
            )
            box = text.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1
            inside = inside and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            text.remove()


def pareto_figure(plot: FrontPlot):
    """The PNG's matplotlib figure (the caller saves and closes it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    if plot.trials:
        ax.scatter(
            [p.x for p in plot.trials],
            [p.y for p in plot.trials],
            s=10,
            c=TRIAL_COLOUR,
            label="other trials",
        )
    if plot.front:
        ax.plot(
            [p.x for p in plot.front],
            [p.y for p in plot.front],
            "o-",
            c=FRONT_COLOUR,
            ms=5,
            lw=1,
            label="Pareto front (distinct designs, #trial numbers)",
        )
    confirmed = [p for p in plot.front if p.confirmed]
    if confirmed:
        ax.scatter(
            [p.x for p in confirmed],
            [p.y for p in confirmed],
            s=130,
            facecolors="none",
            edgecolors=CONFIRMED_COLOUR,
            linewidths=2,
            label="RTL-confirmed (bit- and cycle-exact)",
        )
    for dense, marker, colour, label in (
        (False, "s", UNIFORM_COLOUR, "uniform baselines"),
        (True, "D", DENSE_COLOUR, "dense int8"),
    ):
        group = [p for p in plot.references if p.dense == dense]
        if group:
            ax.scatter(
                [p.x for p in group], [p.y for p in group], marker=marker, s=30, c=colour
            ).set_label(label)
    if plot.floor is not None:
        line = ax.axvline if plot.floor_axis == "x" else ax.axhline
        line(plot.floor, ls=":", c=FLOOR_COLOUR, label=f"accuracy floor {plot.floor:.2%}")
    _format_axis(ax.xaxis, plot.x, ax.set_xscale, ax.set_xlim)
    _format_axis(ax.yaxis, plot.y, ax.set_yscale, ax.set_ylim)
    ax.set(xlabel=plot.x.title, ylabel=plot.y.title)
    ax.set_title(plot.title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if plot.footnote:
        fig.text(0.01, 0.01, plot.footnote, fontsize=7, color=FLOOR_COLOUR)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _place_labels(
        fig,
        ax,
        [(p, FRONT_COLOUR) for p in plot.front]
        + [(p, DENSE_COLOUR if p.dense else UNIFORM_COLOUR) for p in plot.references],
    )
    return fig


# --- plotly: pareto.html and the dashboard's graph -----------------------------------------


def _plotly_axis(spec: PlotAxis) -> dict:
    axis: dict = {"title": {"text": spec.title}, "tickformat": ".1%" if spec.percent else "~s"}
    if spec.log:
        axis["type"] = "log"
    if spec.limits is not None:
        low, high = spec.limits
        axis["range"] = [math.log10(low), math.log10(high)] if spec.log else [low, high]
    return axis


def pareto_plotly(plot: FrontPlot):
    """The same plot as a plotly figure; hovering a point shows its numbers and layers."""
    import plotly.graph_objects as go

    figure = go.Figure()

    def scatter(points: list[PlotPoint], **kwargs) -> None:
        figure.add_scatter(
            x=[p.x for p in points],
            y=[p.y for p in points],
            hovertext=[p.hover for p in points],
            hoverinfo="text",
            **kwargs,
        )

    scatter(plot.trials, mode="markers", name="other trials", marker={"color": TRIAL_COLOUR})
    scatter(
        plot.front,
        mode="lines+markers+text",
        name="Pareto front (distinct designs)",
        text=[p.label for p in plot.front],
        textposition=["top left", "bottom right"] * (len(plot.front) // 2 + 1),
        marker={"color": FRONT_COLOUR},
    )
    scatter(
        [p for p in plot.front if p.confirmed],
        mode="markers",
        name="RTL-confirmed (bit- and cycle-exact)",
        marker={
            "symbol": "circle-open",
            "size": 16,
            "color": CONFIRMED_COLOUR,
            "line": {"width": 2},
        },
    )
    for dense, symbol, colour, name in (
        (False, "square", UNIFORM_COLOUR, "uniform baselines"),
        (True, "diamond", DENSE_COLOUR, "dense int8"),
    ):
        group = [p for p in plot.references if p.dense == dense]
        scatter(
            group,
            mode="markers+text",
            name=name,
            text=[p.label for p in group],
            textposition="bottom center",
            marker={"symbol": symbol, "color": colour, "size": 9},
            textfont={"color": colour, "size": 10},
        )
    if plot.floor is not None:
        line = figure.add_vline if plot.floor_axis == "x" else figure.add_hline
        line(
            plot.floor,
            line_dash="dot",
            line_color=FLOOR_COLOUR,
            annotation_text=f"accuracy floor {plot.floor:.2%}",
        )
    if plot.footnote:
        figure.add_annotation(
            text=plot.footnote, xref="paper", yref="paper", x=0, y=-0.15, showarrow=False
        )
    figure.update_layout(
        title=plot.title,
        xaxis=_plotly_axis(plot.x),
        yaxis=_plotly_axis(plot.y),
        template="plotly_white",
    )
    return figure
