"""`make wheel-check`'s comparison, and the wheel it installs, without the minutes of a venv.

The comparison must report any row whose status differs between make verify, the wheel's verify
and the wheel's pytest, and any pytest outcome that is not the one its status maps to. The wheel
must hold every module of the four packaged folders under ``stageflow_verify`` (pyproject lists
the packages one by one: a new subfolder left out of it would be missing from every install) and
nothing at the top level beside it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.wheel.installed import (
    JUNIT_OUTCOME,
    PACKAGED,
    ROOT,
    build_wheel,
    disagreements,
    junit_cases,
)

ROWS = {"a.pass": "PASS", "finding.X-1": "KNOWN", "finding.X-2": "FIXED", "b.absent": "N/A"}


def _cases(rows: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {name: (JUNIT_OUTCOME[status], status) for name, status in rows.items()}


def test_rows_that_agree_everywhere_give_no_disagreement() -> None:
    assert disagreements(ROWS, ROWS, _cases(ROWS)) == []


def test_a_status_differing_anywhere_is_reported() -> None:
    other = {**ROWS, "a.pass": "NEW"}
    assert disagreements(ROWS, other, _cases(ROWS)) == [
        "a.pass: make verify PASS, wheel verify NEW, pytest PASS"
    ]
    assert disagreements(ROWS, ROWS, _cases(other)) == [
        "a.pass: make verify PASS, wheel verify PASS, pytest NEW"
    ]
    fewer = {k: v for k, v in ROWS.items() if k != "b.absent"}
    assert disagreements(ROWS, fewer, _cases(ROWS)) == [
        "b.absent: make verify N/A, wheel verify missing, pytest N/A"
    ]


def test_a_pytest_outcome_unlike_its_status_is_reported() -> None:
    cases = {**_cases(ROWS), "finding.X-2": ("failure", "FIXED")}  # a strict XPASS
    assert disagreements(ROWS, ROWS, cases) == [
        "finding.X-2: FIXED should be pytest's passed, got failure"
    ]


def test_junit_cases_read_outcome_and_verdict(tmp_path: Path) -> None:
    junit = tmp_path / "rows.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase name="a.pass"><properties><property name="verdict" value="PASS"/>'
        "</properties></testcase>"
        '<testcase name="finding.X-1"><properties><property name="verdict" value="KNOWN"/>'
        '</properties><skipped type="pytest.xfail" message="X-1"/></testcase>'
        '<testcase name="b.new"><failure message="m"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert junit_cases(junit) == {
        "a.pass": ("passed", "PASS"),
        "finding.X-1": ("xfail", "KNOWN"),
        "b.new": ("failure", ""),
    }


def test_the_wheel_holds_every_module_under_the_one_import_name(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        f"stageflow_verify/{path.relative_to(ROOT).as_posix()}"
        for folder in PACKAGED
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules - names == set()
    assert "stageflow_verify/core/sched/SCHEDULER.md" in names
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"stageflow_verify"}
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "stageflow-verify = stageflow_verify.core.run.cli:main" in text
    assert "stageflow_verify = stageflow_verify.core.run.pytest_plugin" in text
