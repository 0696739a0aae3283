"""The version matrix's input checks, SUT=PATH, and the findings report's runnable snippets.

No test here talks to a package index: unknown versions are refused through a stubbed
``released_versions``, or for a malformed one before pip is asked. The 0.5.1 test runs only when
``.venv-stageflow-0.5.1`` already exists (``make verify STAGEFLOW=0.5.1`` makes it, which needs
the network once); otherwise it is skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run import matrix
from stageflow_verify.core.run.findings_report import render_findings_report
from stageflow_verify.core.run.matrix_table import render_matrix
from stageflow_verify.core.run.reproducer_script import reproducer_source
from stageflow_verify.core.sut import stageflow_module

ROOT = Path(__file__).resolve().parents[2]


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unknown_version_exits_two_with_one_line_and_makes_no_venv(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(matrix, "released_versions", lambda: ["0.5.1", "1.2.0"])
    assert matrix.main(["verify", "--stageflow", "9.9.9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "9.9.9 is not a released version" in err
    assert not (ROOT / ".venv-stageflow-9.9.9").exists()


def test_make_refuses_a_malformed_version_in_one_line_before_anything_runs() -> None:
    result = _make("verify", "STAGEFLOW=latest")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "is not a version number" in result.stderr


def test_make_refuses_a_path_without_stageflow(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    result = _make("verify", f"SUT={tmp_path}")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "holds no stageflow package" in result.stderr


@pytest.mark.parametrize("layout", ["", "src", "src/stageflow"])
def test_sut_resolves_every_layout_to_the_directory_holding_stageflow(
    tmp_path: Path, layout: str
) -> None:
    package = tmp_path / "src" / "stageflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    given = tmp_path / layout if layout else tmp_path
    assert matrix.resolve_sut(str(given)) == tmp_path / "src"


def test_sut_verifies_a_copy_of_stageflow_and_the_report_names_its_path(tmp_path: Path) -> None:
    installed = Path(next(iter(stageflow_module().__path__)))
    copy = tmp_path / "checkout" / "src" / "stageflow"
    shutil.copytree(installed, copy, ignore=shutil.ignore_patterns("__pycache__"))
    reports = tmp_path / "reports"
    checkout, checks = str(tmp_path / "checkout"), "finding.SF-CTX-0[13]"
    code = matrix.main(["verify", "--sut", checkout, "--checks", checks, "--reports", str(reports)])
    assert code == 0
    report = json.loads((reports / "verify.json").read_text())
    assert report["stageflow_path"] == str(copy)
    assert [c["status"] for c in report["checks"]] == ["KNOWN", "KNOWN"]
    # A copy is recorded apart from the release it was copied from, keyed by its tree.
    assert report["stageflow_version"].endswith("+path")
    records = list((reports / "versions").glob(report["stageflow_version"] + "-*/verify.json"))
    assert len(records) == 1 and json.loads(records[0].read_text())["complete"] is True


@pytest.mark.skipif(
    not matrix.venv_ready("0.5.1"),
    reason="needs .venv-stageflow-0.5.1 (make verify STAGEFLOW=0.5.1 creates it, online once)",
)
def test_stageflow_0_5_1_runs_in_its_own_venv(tmp_path: Path) -> None:
    checks = "finding.SF-CTX-0[12]"
    assert matrix.main(["verify", "--stageflow", "0.5.1", "--checks", checks,
                        "--reports", str(tmp_path)]) == 0  # fmt: skip
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["stageflow_version"] == "0.5.1"
    # SF-CTX-01 reproduces on 0.5.1; SF-CTX-02 needs inherit_data, which 0.5.1 lacks: N/A.
    assert [c["status"] for c in report["checks"]] == ["KNOWN", "N/A"]


def test_every_reproducer_snippet_runs_and_agrees_with_its_finding() -> None:
    sf = stageflow_module()
    for finding in registry.discover_findings():
        if finding.applies(sf) is not None:
            continue
        out = io.StringIO()
        # The script ends in `raise SystemExit(1)` while the finding reproduces, else falls off
        # its end (exit 0); tests/cover/test_reproducer_scripts.py runs them as programs.
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            exec(compile(reproducer_source(finding), finding.id, "exec"), {})
        reproduces = out.getvalue().startswith(f"VIOLATION: {finding.id}: ")
        assert reproduces == finding.reproduce(sf), out.getvalue()


def test_a_declaration_that_disagrees_with_the_measurement_is_flagged() -> None:
    finding = next(f for f in registry.discover_findings() if f.id == "SF-CTX-01")
    stale = dataclasses.replace(finding, versions=("1.2.0",))
    records = {"0.5.1": {"finding.SF-CTX-01": "KNOWN"}, "1.2.0": {"finding.SF-CTX-01": "KNOWN"}}
    text = render_findings_report([stale], records)
    assert "the declaration disagrees with the measurement" in text
    assert "not declared but measured KNOWN on 0.5.1" in text


def test_a_release_never_verified_here_is_no_disagreement() -> None:
    # A fresh clone that ran `make verify` on 1.2.0 alone: the other declared releases are
    # listed as not verified here, not flagged.
    finding = next(f for f in registry.discover_findings() if f.id == "SF-CTX-01")
    declared = dataclasses.replace(finding, versions=("0.5.1", "1.2.0"))
    records = {"1.2.0": {"finding.SF-CTX-01": "KNOWN"}}
    text = render_findings_report([declared], records)
    assert "disagrees" not in text
    assert "- declared, not verified here: 0.5.1" in text
    older = {"0.5.1": {"finding.SF-CTX-03": "KNOWN"}, **records}  # a record without the row
    assert "disagrees" not in render_findings_report([declared], older)
    fixed = {"0.5.1": {"finding.SF-CTX-01": "FIXED"}, **records}
    assert "declared but measured FIXED on 0.5.1" in render_findings_report([declared], fixed)


def test_the_findings_report_lists_measured_versions() -> None:
    finding = next(f for f in registry.discover_findings() if f.id == "SF-CTX-01")
    records = {"0.5.1": {"finding.SF-CTX-01": "KNOWN"}, "1.2.0": {"finding.SF-CTX-01": "KNOWN"},
               "1.2.0+path": {"finding.SF-CTX-01": "FIXED"}}  # fmt: skip
    text = render_findings_report([finding], records)
    assert "- affected versions (measured): **0.5.1, 1.2.0**" in text
    assert "- not reproduced on: 1.2.0+path" in text
    assert "make verify CHECKS='finding.SF-CTX-01'" in text


def test_the_matrix_table_has_a_column_per_version(tmp_path: Path) -> None:
    for version, status in (("0.5.1", "N/A"), ("1.2.0", "PASS")):
        record = tmp_path / "versions" / version
        record.mkdir(parents=True)
        rows = [{"name": "c.x", "status": status, "finding": None, "examples": 1, "seconds": 0}]
        (record / "verify.json").write_text(json.dumps({"checks": rows}))
    lines = render_matrix(["0.5.1", "1.2.0"], tmp_path).splitlines()
    assert lines[0] == "| check | 0.5.1 | 1.2.0 |"
    assert lines[2] == "| c.x | N/A | PASS |"
    # Totals per version, every status, and a legend saying what each means.
    assert "| **PASS** | 0 | 1 |" in lines and "| **N/A** | 1 | 0 |" in lines
    assert "| **ERROR** | 0 | 0 |" in lines
    assert any(line.startswith("- **ERROR**: the suite could not drive") for line in lines)


def test_a_finding_absent_before_it_came_is_not_called_fixed_there(tmp_path: Path) -> None:
    statuses = {"0.5.1": "FIXED", "0.8.0": "KNOWN", "1.0.0": "FIXED", "1.2.0": "KNOWN"}
    for version, status in statuses.items():
        record = tmp_path / "versions" / version
        record.mkdir(parents=True)
        rows = [{"name": "f.x", "status": status, "finding": "x", "examples": 1, "seconds": 0}]
        (record / "verify.json").write_text(json.dumps({"checks": rows}))
    row = render_matrix(list(statuses), tmp_path).splitlines()[2]
    # 0.5.1 precedes every release it reproduces on; 1.0.0 follows one: fixed, then back.
    assert row == "| f.x | FIXED (not yet) | KNOWN | FIXED | KNOWN |"
    # Each change between neighbours is listed for the triage to read against the source.
    text = render_matrix(list(statuses), tmp_path)
    changes = text[text.index("Changes between neighbouring versions:") :].splitlines()[2:]
    assert changes == [
        "- 0.5.1 -> 0.8.0: f.x FIXED (not yet) -> KNOWN",
        "- 0.8.0 -> 1.0.0: f.x KNOWN -> FIXED",
        "- 1.0.0 -> 1.2.0: f.x FIXED -> KNOWN",
    ]


def test_verify_all_defaults_to_every_release_from_0_5_0_asking_pip_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # What `pip index versions stageflow-core` listed on 2026-12-02, newest first.
    listed = "1.2.0, 1.1.0, 1.0.0, 0.9.6, 0.9.5, 0.9.4, 0.9.2, 0.9.1, 0.9.0, 0.8.0, 0.7.0, "
    listed += "0.5.1, 0.5.0, 0.3.0, 0.2.0, 0.10.0rc1"
    asked: list[int] = []
    verified: list[str] = []

    def released() -> list[str]:
        asked.append(1)
        return listed.split(", ")

    def verify(version: str, sut: str | None, checks: str, reports: str) -> int:
        verified.append(version)
        return 0

    monkeypatch.setattr(matrix, "venv_ready", lambda version: False)
    monkeypatch.setattr(matrix, "released_versions", released)
    monkeypatch.setattr(matrix, "verify", verify)
    assert matrix.main(["all", "--reports", str(tmp_path)]) == 0
    assert verified == ["0.5.0", "0.5.1", "0.7.0", "0.8.0", "0.9.0", "0.9.1", "0.9.2",
                        "0.9.4", "0.9.5", "0.9.6", "1.0.0", "1.1.0", "1.2.0"]  # fmt: skip
    assert asked == [1]
    assert (tmp_path / "matrix.md").read_text().startswith("# stageflow-verify matrix")
    # MATRIX_VERSIONS still selects, in the order given.
    verified.clear()
    assert matrix.main(["all", "0.9.6", "0.5.1", "--reports", str(tmp_path)]) == 0
    assert verified == ["0.9.6", "0.5.1"]


@pytest.mark.parametrize(("codes", "worst"), [((0, 3, 1), 1), ((3, 0), 3), ((1, 2), 2)])
def test_verify_all_exits_with_the_worst_code_new_before_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, codes: tuple[int, ...], worst: int
) -> None:
    versions = [f"0.{i}.0" for i in range(len(codes))]
    monkeypatch.setattr(matrix, "venv_ready", lambda version: True)
    answers = dict(zip(versions, codes, strict=True))
    monkeypatch.setattr(matrix, "verify", lambda version, sut, checks, reports: answers[version])
    assert matrix.main(["all", *versions, "--reports", str(tmp_path)]) == worst


def test_matrix_runs_on_the_standard_library_alone() -> None:
    # The Makefile runs `python3 core/run/matrix.py check` (by path: the suite is not installed
    # yet) before .venv exists; so do variables.py and help.py.
    for command in (
        ["core/run/matrix.py", "check", "--stageflow", "", "--sut", ""],
        ["core/run/variables.py", "--goals", "verify"],
        ["core/run/help.py"],
    ):
        result = subprocess.run([sys.executable, "-S", *command], cwd=ROOT, capture_output=True)
        assert result.returncode == 0, (command, result.stderr)
