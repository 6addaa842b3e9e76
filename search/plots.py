"""Draw a `search.front_plot.FrontPlot`: pareto.png with matplotlib, and the same view with
plotly for pareto.html and optuna-dashboard. A PNG label that would overlap another label is
moved, or left to the table and the HTML hover.
"""

import math
from pathlib import Path

from search.front_plot import FrontPlot, PlotAxis, PlotPoint

FRONT_COLOUR = "#d62728"
CONFIRMED_COLOUR = "#2ca02c"
UNIFORM_COLOUR = "#1f77b4"
DENSE_COLOUR = "#000000"
TRIAL_COLOUR = "#bbbbbb"
FLOOR_COLOUR = "#7f7f7f"
# the line through the front designs best in the two drawn objectives (search.front_plot)
OUTLINE_NAME = "best trade-off of the two axes"

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
            [p.x for p in plot.outline],
            [p.y for p in plot.outline],
            "-",
            c=FRONT_COLOUR,
            lw=1,
            label=OUTLINE_NAME,
        )
        ax.scatter(
            [p.x for p in plot.front],
            [p.y for p in plot.front],
            s=25,
            c=FRONT_COLOUR,
            zorder=3,
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


def save_png(plot: FrontPlot, path: Path, dpi: int = 110) -> None:
    import matplotlib.pyplot as plt

    figure = pareto_figure(plot)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


# --- plotly: pareto.html and the dashboard's graph -----------------------------------------


def _plotly_axis(spec: PlotAxis) -> dict:
    axis: dict = {"title": {"text": spec.title}, "tickformat": ".1%" if spec.percent else "~s"}
    if spec.log:
        axis["type"] = "log"
    if spec.limits is not None:
        low, high = spec.limits
        axis["range"] = [math.log10(low), math.log10(high)] if spec.log else [low, high]
    return axis


def _label_side(x: float, axis: PlotAxis) -> str:
    """Where a label goes below its marker: towards the middle of the x axis, so that a point
    near an edge keeps its label inside the plot."""
    if axis.limits is None:
        return "bottom center"
    low, high = (math.log(v) for v in axis.limits) if axis.log else axis.limits
    where = ((math.log(x) if axis.log else x) - low) / ((high - low) or 1.0)
    return "bottom left" if where > 2 / 3 else "bottom right" if where < 1 / 3 else "bottom center"


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
    figure.add_scatter(
        x=[p.x for p in plot.outline],
        y=[p.y for p in plot.outline],
        mode="lines",
        name=OUTLINE_NAME,
        line={"color": FRONT_COLOUR, "width": 1},
        hoverinfo="skip",
    )
    scatter(
        plot.front,
        mode="markers+text",
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
            textposition=[_label_side(p.x, plot.x) for p in group],
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
