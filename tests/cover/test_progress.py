"""verify's line per row: its place n/N and the time left, estimated per kind of row."""

from __future__ import annotations

from stageflow_verify.core.run.progress import Progress, format_seconds
from stageflow_verify.core.run.report import Row


def test_each_line_says_its_place_and_the_time_left_per_kind_of_row() -> None:
    progress = Progress(checks=2, findings=2)
    first = progress.line(Row("a.b", "PASS", None, 60, 10.0), is_check=True)
    assert first.endswith("[1/4, about 10 s+ left]")  # reproducers not yet measured: "+"
    second = progress.line(Row("a.c", "NEW", None, 5, 50.0), is_check=True)
    assert second.endswith("[2/4, time left not known yet]")
    third = progress.line(Row("finding.X", "KNOWN", "X", 1, 0.4), is_check=False)
    assert third.endswith("[3/4, about under 1 s left]")
    last = progress.line(Row("finding.Y", "ERROR", "Y", 1, 0.1, fault="f.py:3"), is_check=False)
    assert last.splitlines() == [
        "  ERROR finding.Y (1 examples, 0.1s)  [4/4]",
        "        suite code at fault: f.py:3",
    ]


def test_seconds_read_as_minutes_once_there_are_any() -> None:
    assert [format_seconds(s) for s in (0.2, 42, 185)] == ["under 1 s", "42 s", "3 min 05 s"]
