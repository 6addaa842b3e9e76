"""Reports: the front as distinct designs, references, plots zoomed to the useful region, the
dashboard's copy, and the hypervolume of a maximised (accuracy, throughput) front."""

import itertools

import matplotlib.image
import matplotlib.pyplot as plt
import optuna
import pytest
from optuna_dashboard import get_note

from search.front_plot import front_plot
from search.phases import front_numbers
from search.plots import pareto_figure, pareto_plotly
from search.report import (
    baseline_rows,
    front_rows,
    hypervolume,
    publish_front,
    search_gain,
    write_plots,
)
from tests.utils.fronts import baseline, confirmed_report, design_attrs, front_study, stored_job

DENSE = baseline("dense int8", 0.96, 1000.0, lut=5000, w_bits=8)
UNIFORM_DENSE = baseline("uniform s=0 8b", 0.96, 1000.0, lut=5000, w_bits=8)
UNIFORM_HALF = baseline("uniform s=0.5 4b", 0.70, 3000.0, lut=3000)
BASELINES = [DENSE, UNIFORM_DENSE, UNIFORM_HALF]


def _job(designs: list[dict]):
    return stored_job(front_study(designs), BASELINES)


def test_identical_designs_are_one_front_row_listing_every_trial():
    # trials 0 and 2 built the same design; trial 1 trades accuracy for throughput
    job = _job(
        [design_attrs(0.955, 2000.0), design_attrs(0.90, 4000.0), design_attrs(0.955, 2000.0)]
    )
    rows = front_rows(job)
    assert [r["trials"] for r in rows] == [[0, 2], [1]]  # best accuracy first
    assert [r["label"] for r in rows] == ["trials 0, 2", "trial 1"]
    assert rows[0]["trial"] == 0 and rows[0]["throughput_fps"] == 2000.0


def test_nominal_choices_that_build_the_same_design_are_one_front_row():
    # trial 1 asked for activation sparsity below the layer's natural sparsity: same design
    same, nominal, other = (design_attrs(0.95, 2000.0) for _ in range(3))
    nominal["layers"]["fc1"]["act_sparsity"] = 0.05
    other["layers"]["fc1"]["act_sparsity"] = 0.05
    same["design"] = nominal["design"] = "a1"
    other["design"] = "b2"
    assert [r["trials"] for r in front_rows(_job([same, nominal, other]))] == [[0, 1], [2]]


def test_equal_objectives_on_other_hardware_are_two_designs():
    job = _job([design_attrs(0.95, 2000.0, lut=900), design_attrs(0.95, 2000.0, lut=1100)])
    assert [r["trials"] for r in front_rows(job)] == [[0], [1]]


def test_a_design_built_twice_is_confirmed_once():
    job = _job([design_attrs(0.95, 2000.0), design_attrs(0.95, 2000.0), design_attrs(0.9, 3000.0)])
    assert front_numbers(job.study, job.spec) == [0, 2]


def test_fastest_designs_above_the_floor_are_confirmed_first():
    # dense int8 is at 0.96, so the floor is 0.95: trials 2, 0 and 3 are worth building
    job = _job(
        [
            design_attrs(0.955, 2000.0),
            design_attrs(0.90, 4000.0),
            design_attrs(0.952, 3000.0),
            design_attrs(0.97, 1000.0),
        ]
    )
    assert front_numbers(job.study, job.spec) == [2, 0, 3, 1]
    assert front_numbers(job.study, job.spec, 1) == [search_gain(job)["best_front"]["trial"]]


def test_confirmed_design_is_marked_with_its_report():
    job = _job(
        [design_attrs(0.955, 2000.0), design_attrs(0.90, 4000.0), design_attrs(0.955, 2000.0)]
    )
    job.study.set_user_attr("confirmation:2", confirmed_report(2))  # the duplicate trial ran it
    job.study.set_user_attr("confirmation:1", {"trial": 1, "error": "verilator exploded"})
    first, second = front_rows(job)
    assert first["confirmed"] and first["confirmation"]["trial"] == 2
    assert not second["confirmed"] and second["confirmation"]["error"] == "verilator exploded"


def test_references_name_the_identical_dense_design():
    rows = baseline_rows(_job([design_attrs(0.95, 2000.0)]))
    assert [(r["label"], r["reference"], r["same_design_as"]) for r in rows] == [
        ("dense int8", "dense", None),
        ("uniform s=0 8b", "uniform", "dense int8"),
        ("uniform s=0.5 4b", "uniform", None),
    ]
    assert all(r["trial"] is None and r["trials"] == [] for r in rows)


def test_gain_counts_only_designs_above_the_floor():
    job = _job([design_attrs(0.955, 2000.0), design_attrs(0.90, 4000.0)])
    gain = search_gain(job)
    assert gain["accuracy_floor"] == pytest.approx(0.95)
    assert gain["best_front"]["trials"] == [0] and gain["throughput_ratio"] == pytest.approx(2.0)


def _plotted_job():
    """A front crossing the floor (0.95), a confirmed member, far-off trials and references."""
    designs = [
        design_attrs(0.958, 1500.0),
        design_attrs(0.956, 1800.0),
        design_attrs(0.953, 2500.0),
        design_attrs(0.953, 2500.0),
        design_attrs(0.60, 9000.0),  # on the front, below the floor
        design_attrs(0.30, 500.0),  # dominated, far below
    ]
    job = _job(designs)
    job.study.set_user_attr("confirmation:1", confirmed_report(1))
    return job


def test_plot_line_joins_only_designs_best_in_the_two_drawn_objectives():
    # accuracy x throughput x LUT: trial 1 is on the front for its LUTs alone
    designs = [design_attrs(0.958, 2000.0), design_attrs(0.955, 1000.0, lut=100)]
    designs.append(design_attrs(0.952, 3000.0))
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    for attrs in designs:
        values = [attrs["metrics"]["accuracy"], attrs["hardware"]["throughput_fps"]]
        values.append(attrs["hardware"]["resources"]["lut"])
        study.add_trial(optuna.trial.create_trial(values=values, user_attrs=attrs))
    lut = [dict(b, values=[*b["values"], b["hardware"]["resources"]["lut"]]) for b in BASELINES]
    job = stored_job(study, lut)
    job.spec = job.spec.model_copy(update={"objectives": ["accuracy", "throughput", "lut"]})
    plot = front_plot(job, front_rows(job), baseline_rows(job))
    assert [p.label for p in plot.front] == ["#2", "#1", "#0"]
    assert [p.label for p in plot.outline] == ["#2", "#0"]


def test_plot_zooms_to_the_floor_with_units():
    job = _plotted_job()
    plot = front_plot(job, front_rows(job), baseline_rows(job))
    low, high = plot.x.limits
    assert 0.94 < low < 0.95 and 0.96 < high < 0.965  # the floor and dense are in view
    assert [p.label for p in plot.front] == ["#2,3", "#1", "#0"]
    assert [p.confirmed for p in plot.front] == [False, True, False]
    assert [(p.label, p.dense) for p in plot.references] == [("dense int8 = uniform s=0 8b", True)]
    assert plot.trials == []
    assert plot.footnote == (
        "not shown, accuracy below 94.94%: 1 front design, 1 reference, 1 other trial"
    )
    assert plot.floor == pytest.approx(0.95) and plot.floor_axis == "x"
    assert plot.x.title == "validation accuracy (%)" and plot.x.percent
    assert plot.y.title == "throughput (inf/s)" and not plot.y.log


def test_png_shows_the_zoomed_axes_and_labels_that_do_not_overlap(tmp_path):
    job = _plotted_job()
    figure = pareto_figure(front_plot(job, front_rows(job), baseline_rows(job)))
    (ax,) = figure.axes
    assert ax.get_xlim()[0] > 0.94 and ax.get_xlabel() == "validation accuracy (%)"
    assert ax.get_ylabel() == "throughput (inf/s)"
    labels = [t for t in ax.texts if t.get_text()]
    assert {t.get_text() for t in labels} >= {"#2,3", "#1", "#0"}
    renderer = figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "RTL-confirmed (bit- and cycle-exact)" in legend and "dense int8" in legend
    figure.savefig(tmp_path / "pareto.png", dpi=80)
    plt.close(figure)
    pixels = matplotlib.image.imread(tmp_path / "pareto.png")
    assert pixels.shape[0] > 300 and pixels.std() > 0.05  # drawn, not blank


def test_html_plot_has_the_same_view(tmp_path):
    job = _plotted_job()
    plot = front_plot(job, front_rows(job), baseline_rows(job))
    layout = pareto_plotly(plot).layout
    assert tuple(layout.xaxis.range) == plot.x.limits and layout.xaxis.tickformat == ".1%"
    assert layout.yaxis.title.text == "throughput (inf/s)"
    png, html = write_plots(job, tmp_path)
    assert png.read_bytes().startswith(b"\x89PNG") and "Pareto front" in html.read_text()


def test_html_labels_near_the_right_edge_stay_inside_the_plot():
    job = _plotted_job()  # dense int8 is the most accurate point: at the right edge
    plot = front_plot(job, front_rows(job), baseline_rows(job))
    dense = next(t for t in pareto_plotly(plot).data if t.name == "dense int8")
    assert tuple(dense.textposition) == ("bottom left",)


def test_dashboard_attrs_and_note_show_the_merged_front():
    job = _plotted_job()
    publish_front(job.study, job.spec)
    attrs = job.study.user_attrs
    assert [(r["trials"], r["confirmed"]) for r in attrs["front"]] == [
        ([0], False),
        ([1], True),
        ([2, 3], False),
        ([4], False),
    ]
    assert attrs["front_accuracy_floor"] == pytest.approx(0.95)
    assert [r["label"] for r in attrs["front_references"]] == [b["label"] for b in BASELINES]
    note = get_note(job.study)
    assert "| trials 2, 3 |" in note and "| trial 1 | 95.60% |" in note and "✓" in note
    system = job.study._storage.get_study_system_attrs(job.study._study_id)
    assert any("pareto-front" in key for key in system)


def _study(points: list[tuple[float, float]]) -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "maximize"])
    for values in points:
        study.add_trial(optuna.trial.create_trial(values=list(values)))
    return study


def test_hypervolume_is_the_area_dominated_above_the_reference():
    study = _study([(0.9, 10.0), (0.5, 20.0), (0.4, 5.0)])  # the last is dominated
    # union of [0, 0.9] x [0, 10] and [0, 0.5] x [0, 20]
    assert hypervolume(study, [0.0, 0.0]) == pytest.approx(0.9 * 10 + 0.5 * 10)


def test_front_members_worse_than_the_reference_add_nothing():
    study = _study([(0.9, 10.0), (0.5, 20.0)])
    assert hypervolume(study, [0.6, 0.0]) == pytest.approx(0.3 * 10)
    assert hypervolume(study, [0.95, 0.0]) == 0.0
