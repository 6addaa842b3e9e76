"""The Pareto plot of a job as a description (`FrontPlot`) that search.plots draws twice, as
pareto.png (matplotlib) and as pareto.html and the dashboard's graph (plotly), so both show
the same designs, limits and labels.

x and y are the job's first two objectives (with throughput beside a lone objective). An
accuracy axis starts at the accuracy floor (`search.front.accuracy_floor`), or lower when no
front design reaches it, and the other axis spans what is visible there; a footnote counts
what lies below. Axis titles carry units; only front designs and references are labelled.
With three or more objectives some front designs are there for an objective not drawn (fewer
LUTs): the line joins only those that are best in the two drawn (`FrontPlot.outline`).
"""

from dataclasses import dataclass

from optuna.study import StudyDirection
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
    outline: list[PlotPoint]  # those no other front design beats in both drawn objectives, by x
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


def _outline(points: list[PlotPoint], maximise: tuple[bool, bool]) -> list[PlotPoint]:
    """The points no other point beats in both coordinates (equal in one, better in the
    other counts as beating), by x."""
    sign = [1.0 if m else -1.0 for m in maximise]

    def beats(a: PlotPoint, b: PlotPoint) -> bool:
        ax, ay, bx, by = sign[0] * a.x, sign[1] * a.y, sign[0] * b.x, sign[1] * b.y
        return ax >= bx and ay >= by and (ax > bx or ay > by)

    kept = [p for p in points if not any(beats(q, p) for q in points)]
    return sorted(kept, key=lambda p: (p.x, p.y))


def _maximised(job: JobView, name: str) -> bool:
    """Whether a larger value of plotted quantity `name` is better (throughput beside a lone
    objective is)."""
    objectives = job.spec.objectives
    if name not in objectives:
        return True
    return job.study.directions[objectives.index(name)] == StudyDirection.MAXIMIZE


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
    outline = _outline(front, (_maximised(job, names[0]), _maximised(job, names[1])))
    floor_text = f", accuracy floor {floor:.2%}" if floor is not None else ""
    return FrontPlot(
        title=f"{spec.name} on {spec.device}: Pareto front{floor_text}",
        x=_axis(names[0], [p.x for p in shown], limits["x"]),
        y=_axis(names[1], [p.y for p in shown], limits["y"]),
        trials=trials,
        front=sorted(front, key=lambda p: (p.x, p.y)),
        outline=outline,
        references=references,
        floor=floor if accuracy_axis else None,
        floor_axis=accuracy_axis,
        footnote=footnote,
    )
