"""`make reach` measures what verify runs: the table and JSON have one row per in-scope module,
and the numbers are coverage's, not a constant (a module the subset never imports is at 0%, one
it exercises is above it). Reach runs in a subprocess: this process has imported stageflow
already, and reach must start coverage before stageflow's first line runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stageflow_verify.core.run.reach import exclusion_problems
from stageflow_verify.core.run.reach_report import line_ranges
from stageflow_verify.core.run.reach_scope import (
    IN_SCOPE,
    MODELLED,
    NOT_A_PROMISE,
    TARGET,
    NotAPromise,
)
from stageflow_verify.core.sut import stageflow_location

ROOT = Path(__file__).resolve().parents[2]


def run_reach(tmp: Path, checks: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "stageflow_verify.core.run.reach",
            "--checks",
            checks,
            "--reports",
            str(tmp),
        ],
        cwd=ROOT,
        env={**os.environ, "HYPOTHESIS_PROFILE": "ci", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def values_reach(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    reports = tmp_path_factory.mktemp("reach")
    done = run_reach(reports, "values.frozen_*,values.stage_output_*")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (reports / "reach-html" / "index.html").is_file()
    assert "reach-html/index.html" in (reports / "reach.html").read_text()
    markdown = (reports / "reach.md").read_text()
    assert all(f"| {m.path} |" in markdown for m in IN_SCOPE), markdown
    return done.stdout, json.loads((reports / "reach.json").read_text())


def test_one_row_per_in_scope_module_and_three_totals(
    values_reach: tuple[str, dict[str, object]],
) -> None:
    stdout, report = values_reach
    modules = report["modules"]
    assert isinstance(modules, list)
    assert [m["name"] for m in modules] == [m.path for m in IN_SCOPE]
    assert {m["owner"] for m in modules} == {MODELLED, TARGET}
    for key in ("statements", "branches", "pct_statements", "pct_branches", "uncovered"):
        assert all(key in m for m in modules), key
    assert [t["name"] for t in report["totals"]] == [  # type: ignore[attr-defined]
        f"total {MODELLED}",
        f"total {TARGET}",
        "total in scope",
    ]
    assert report["profile"] == "ci"
    for module in IN_SCOPE:
        assert module.path in stdout
    assert "total in scope" in stdout


def test_the_numbers_are_measured(values_reach: tuple[str, dict[str, object]]) -> None:
    _, report = values_reach
    by_name = {m["name"]: m for m in report["modules"]}  # type: ignore[attr-defined]
    # The frozen-type and StageOutput laws run these modules; none of them calls the run
    # helpers or idempotency. Verify imports every check module to discover it, and some of
    # those import the helpers, so their module-level lines (imports, def and class lines)
    # run; their bodies do not, and coverage reports them (source= finds unrun files too).
    frozen = by_name["utils/frozen.py"]["pct_statements"]
    assert frozen > 50 and by_name["core/stage_output.py"]["pct_statements"] > 50
    for unrun in ("helpers/run_utils.py", "pipeline/idempotency.py"):
        assert by_name[unrun]["statements"] > 0
        assert by_name[unrun]["pct_statements"] < min(frozen, 70), by_name[unrun]
    never_run = by_name["helpers/run_utils.py"]["uncovered"]
    assert never_run and never_run[0].isdigit()


def test_bad_profile_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    done = run_reach(tmp_path / "out", "values.*", HYPOTHESIS_PROFILE="fast")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "HYPOTHESIS_PROFILE" in done.stderr
    assert not (tmp_path / "out").exists()


def test_line_ranges_run_across_lines_that_are_not_statements() -> None:
    statements = [1, 2, 5, 6, 9, 12]
    assert line_ranges(statements, [2, 5, 6, 12]) == "2-6, 12"
    assert line_ranges(statements, []) == ""


def test_an_exclusion_must_match_its_own_module_and_only_it() -> None:
    location = Path(os.path.realpath(stageflow_location()))
    loose = NotAPromise("stages/context.py", r"^\s*return\b", "too loose")
    absent = NotAPromise("utils/frozen.py", r"no such line anywhere 7f3a", "matches nothing")
    problems = exclusion_problems(location, [loose, absent])
    assert any("also matches" in p for p in problems), problems
    assert any("matches nothing in utils/frozen.py" in p for p in problems), problems


def test_exclusions_are_matched_over_lines_as_coverage_matches_them() -> None:
    # coverage.py (7.6 on) searches each pattern over the whole source, multi-line: a pattern
    # spanning two lines of its module matches there, and the registered ones hold.
    location = Path(os.path.realpath(stageflow_location()))
    spanning = NotAPromise("events/sink.py", r"if not _pending_emit_tasks:\n\s*return", "two lines")
    assert exclusion_problems(location, [spanning]) == []
    assert exclusion_problems(location, NOT_A_PROMISE) == []
