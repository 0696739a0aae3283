"""verify's verdicts, exit codes and report files."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run import verify
from stageflow_verify.core.run.profiles import selected_profile_name
from stageflow_verify.core.sut import stageflow_module

ROOT = Path(__file__).resolve().parents[2]


def _passing() -> None:
    registry.count_example()


def _failing() -> None:
    registry.count_example()
    raise AssertionError("the planted violation")


def _finding(reproduces: bool) -> registry.Finding:
    def reproduce(sf: ModuleType) -> bool:
        return reproduces

    return registry.Finding("SF-T-01", "t", ("1.2.0",), "c", "p", "o", reproduce)


def test_a_check_that_raises_is_new_and_keeps_the_failure_text() -> None:
    row = verify.run_check(registry.Check("t.fail", _failing, "s"), stageflow_module())
    assert (row.status, row.examples) == ("NEW", 1)
    assert "the planted violation" in row.detail
    assert f"HYPOTHESIS_PROFILE={selected_profile_name()}" in row.detail
    assert "make verify CHECKS='t.fail'" in row.detail


def test_a_check_that_runs_no_example_is_never_a_pass() -> None:
    # Nor NEW: running nothing is the suite's failure, not Stageflow's.
    row = verify.run_check(registry.Check("t.empty", lambda: None, "s"), stageflow_module())
    assert row.status == "ERROR" and row.fault.startswith("test_verify.py:")


def test_a_probe_that_raises_is_error_even_from_inside_stageflow() -> None:
    def probe(sf: ModuleType) -> str | None:
        sf.Pipeline().build()  # Stageflow refuses an empty pipeline: the probe asked wrongly
        return None

    check = registry.Check("t.probe", _passing, "s", applies=probe)
    row = verify.run_check(check, stageflow_module())
    assert row.status == "ERROR" and "feature probe raised" in row.detail


def test_a_check_that_does_not_apply_is_not_applicable() -> None:
    check = registry.Check("t.na", _passing, "s", applies=lambda sf: "no such API")
    row = verify.run_check(check, stageflow_module())
    assert (row.status, row.detail) == ("N/A", "no such API")


def test_findings_are_known_while_they_reproduce_and_fixed_after() -> None:
    sf = stageflow_module()
    assert verify.run_finding(_finding(True), sf).status == "KNOWN"
    assert verify.run_finding(_finding(False), sf).status == "FIXED"


def test_verify_exits_one_when_something_is_new(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checks = [registry.Check("t.ok", _passing, "s"), registry.Check("t.bad", _failing, "s")]
    monkeypatch.setattr(registry, "discover_checks", lambda: checks)
    monkeypatch.setattr(registry, "discover_findings", lambda: [_finding(True)])
    assert verify.main(["--reports", str(tmp_path)]) == 1
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["summary"] == {"pass": 1, "known": 1, "new": 1, "fixed": 0, "error": 0}
    assert set(report["checks"][0]) == {
        "name", "status", "finding", "examples", "seconds", "fault", "program", "timelines",
        "statistics",
    }  # fmt: skip
    assert (tmp_path / "failures" / "t.bad.txt").exists()
    assert "| t.bad | NEW |" in (tmp_path / "verify.md").read_text()


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({"HYPOTHESIS_PROFILE": "bogus"}, [], "not a known profile"),
        ({}, ["--checks", "no.such.check"], "matches no check"),
    ],
)
def test_bad_input_exits_two_with_one_line_and_runs_nothing(
    env: dict[str, str], argv: list[str], message: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stageflow_verify.core.run.verify",
            "--reports",
            str(tmp_path),
            *argv,
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "verify.json").exists()


def _printing_finding(then: Exception | None) -> registry.Finding:
    def reproduce(sf: ModuleType) -> bool:
        print("VIOLATION: SF-T-01: what the standalone script tells a maintainer")
        if then is not None:
            raise then
        return True

    return registry.Finding("SF-T-01", "t", ("1.2.0",), "c", "p", "o", reproduce)


def test_what_a_reproducer_prints_stays_out_of_verify_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = verify.run_finding(_printing_finding(None), stageflow_module())
    assert row.status == "KNOWN" and "VIOLATION" not in capsys.readouterr().out


def test_what_a_crashing_reproducer_printed_is_in_its_row(
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = verify.run_finding(_printing_finding(KeyError("gone")), stageflow_module())
    assert "VIOLATION" not in capsys.readouterr().out
    assert row.detail is not None and "it printed: VIOLATION: SF-T-01" in row.detail


def test_a_crashing_reproducer_keeps_its_excuse_quietly() -> None:
    # Whether a check adopts a finding: a crash cannot show the finding is gone (its own row
    # reports the crash), and what the reproducer prints stays out of verify's table.
    finding = _printing_finding(KeyError("gone"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert registry.still_reproduces(finding)
    assert out.getvalue() == ""


def test_a_reproducer_crashed_by_stageflow_leaves_the_check_to_find_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The generated mutant output_bag.py:212:AddNot:4: get_output answers None for a stored
    # output. SF-RUN-07's reproducer crashes on it (its row: ERROR); the bag machine, which
    # adopts SF-RUN-07 and used to be ERROR with it, runs and finds the bug.
    bag = stageflow_module().context.OutputBag

    def get_output(self: Any, stage_name: str) -> Any:
        entry = self._entries.get(stage_name)
        return entry.output if not entry else None

    monkeypatch.setattr(bag, "get_output", get_output)
    check = next(c for c in registry.discover_checks() if c.name == "bags.output_bag_linearizable")
    assert verify.run_check(check, stageflow_module()).status == "NEW"
