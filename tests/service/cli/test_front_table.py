"""`hwsearch run` and `hwsearch status` print the front as distinct designs with references."""

from rich.console import Console

from search.report import baseline_rows, front_rows
from service.cli.client import front_table
from service.cli.local import _rows_table
from tests.utils.fronts import baseline, confirmed_report, design_attrs, front_study, stored_job


def _render(table, width: int = 240) -> str:
    console = Console(width=width, record=True)
    console.print(table)
    return console.export_text()


def _job():
    designs = [design_attrs(0.955, 2000.0), design_attrs(0.90, 4000.0), design_attrs(0.955, 2000.0)]
    references = [
        baseline("dense int8", 0.96, 1000.0, lut=5000, w_bits=8),
        baseline("uniform s=0 8b", 0.96, 1000.0, lut=5000, w_bits=8),
    ]
    job = stored_job(front_study(designs), references)
    job.study.set_user_attr("confirmation:0", confirmed_report(0))
    return job


def test_run_table_merges_designs_marks_confirmed_and_lists_references():
    job = _job()
    text = _render(_rows_table("front", front_rows(job), baseline_rows(job), 0.95))
    lines = [line.strip() for line in text.splitlines()]
    merged = next(line for line in lines if line.startswith("trials 0, 2"))
    assert merged.endswith("✓")
    assert any(line.startswith("uniform s=0 8b (= dense int8)") for line in lines)
    assert sum(line.startswith("trial") for line in lines) == 2


def test_run_table_in_80_columns_wraps_labels_and_keeps_every_number_whole():
    # rich gives a log (stdout not a terminal) 80 columns
    job = _job()
    job.study.set_user_attr("front_test_metrics", {"0": {"accuracy": 0.9512}})
    text = _render(_rows_table("front", front_rows(job), baseline_rows(job), 0.95), width=80)
    assert "…" not in text and "RTL" in text and "✓" in text
    assert "0.9550" in text and "0.9512" in text and " 2k " in text and " 1k " in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_status_table_lists_every_trial_of_a_design():
    job = _job()
    members = [
        {**row, "confirmation_summary": "bit-exact, cycles = model", "confirmation": "done"}
        for row in front_rows(job)
    ]
    text = _render(front_table(members, "front"))
    assert "0, 2" in text and "✓ bit-exact, cycles = model" in text
