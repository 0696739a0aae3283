"""Examples-to-detect (issue 15 item 4): the statistics count where the first failure came, and
the ci_power table marks a kill near the end of the budget as fragile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from stageflow_verify.core.run import ci_power
from stageflow_verify.core.run.check_statistics import collecting, merge_statistics

QUIET = settings(
    derandomize=True,
    database=None,
    max_examples=50,
    report_multiple_bugs=False,
    phases=[Phase.generate, Phase.shrink],
    deadline=None,
)


def _fails_at(nth: int) -> None:
    seen: list[int] = []

    # Fails on the nth value drawn and on that value only, so the replay after shrinking fails
    # the same way (a failure keyed on a call count would be flaky).
    @QUIET
    @given(st.integers(1, 10**9))
    def law(x: int) -> None:
        if len(seen) < nth:
            seen.append(x)
        assert not (len(seen) == nth and x == seen[-1])

    law()


def test_first_failing_example_counts_the_valid_examples_before_it_and_itself() -> None:
    with collecting() as stats, pytest.raises(AssertionError):
        _fails_at(7)
    assert stats.to_json()["first_failing_example"] == 7


def test_a_passing_check_has_no_first_failing_example() -> None:
    with collecting() as stats:
        _fails_at(10**6)  # never reached within 50 examples
    data = stats.to_json()
    assert data["first_failing_example"] is None
    assert data["examples"]["valid"] == 50


def test_merged_parts_count_the_valid_examples_of_the_parts_before_the_failing_one() -> None:
    with collecting() as first:
        _fails_at(10**6)
    with collecting() as second, pytest.raises(AssertionError):
        _fails_at(3)
    merged = merge_statistics([first.to_json(), second.to_json()])
    assert merged["first_failing_example"] == 53


def _catalog() -> list[dict[str, object]]:
    pristine_rows = {"a.law": {"valid": 60}, "b.machine": {"valid": 20}}
    return [
        {"id": "pristine", "verdict": "clean", "new_rows": [], "examples": pristine_rows},
        {
            "id": "early",
            "verdict": "killed",
            "new_rows": ["a.law", "b.machine"],
            "examples": {
                "a.law": {"valid": 0, "first_failing_example": 50},
                "b.machine": {"valid": 1, "first_failing_example": 2},
            },
        },
        {
            "id": "late",
            "verdict": "killed",
            "new_rows": ["a.law"],
            "examples": {"a.law": {"valid": 0, "first_failing_example": 58}},
        },
        {
            "id": "hang",
            "verdict": "killed",
            "new_rows": ["a.law", "finding.X"],
            "examples": {
                "a.law": {"valid": 0, "first_failing_example": None},
                "finding.X": {"valid": None, "first_failing_example": None},
            },
        },
        {
            "id": "searched_and_reproduced",
            "verdict": "killed",
            "new_rows": ["a.law", "finding.X"],
            "examples": {
                "a.law": {"valid": 0, "first_failing_example": 12},
                "finding.X": {"valid": None, "first_failing_example": None},
            },
        },
        {"id": "missed", "verdict": "survived", "new_rows": [], "examples": {}},
    ]


def test_each_kill_counts_its_earliest_detection_and_late_ones_are_fragile() -> None:
    found = {d.bug: d for d in ci_power.detections(_catalog())}
    assert set(found) == {"early", "late", "hang", "searched_and_reproduced"}
    assert (found["early"].check, found["early"].detected_at, found["early"].budget) == (
        "b.machine",
        2,
        20,
    )
    assert not found["early"].fragile
    assert found["late"].fragile  # 58 of 60
    assert found["hang"].detected_at is None and not found["hang"].fragile
    # A reproducer's row (no count) does not hide what the search itself needed.
    assert found["searched_and_reproduced"].detected_at == 12


def test_the_table_is_rebuilt_from_mutation_json(tmp_path: Path) -> None:
    (tmp_path / "mutation.json").write_text(json.dumps({"catalog": _catalog()}))
    assert ci_power.main([str(tmp_path)]) == 0
    table = (tmp_path / "ci_power.md").read_text()
    assert "| late | a.law | 58 | 60 | 97% | yes |" in table
    assert "| hang | a.law | outside the search | 60 | - |  |" in table
    assert "fragile (after 75% of the budget): late" in table
    rows = json.loads((tmp_path / "ci_power.json").read_text())["bugs"]
    assert [r["bug"] for r in rows if r["fragile"]] == ["late"]


def test_no_mutation_report_is_bad_input(tmp_path: Path) -> None:
    assert ci_power.main([str(tmp_path)]) == 2
