"""Reports never look current when they are not: atomic writes, the RUNNING marker, and
version records keyed by the source tree (core/run/report_files.py, core/run/version_records.py).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run import verify
from stageflow_verify.core.run.report import Row, VerifyReport, write_version_record
from stageflow_verify.core.run.report_files import (
    MARKER,
    OUTER_RUN_ENV,
    SUPERSEDED_BANNER,
    atomic_write_text,
    running_marker,
)
from stageflow_verify.core.run.version_records import record_label
from stageflow_verify.core.sut import stageflow_module


def _previous_run(reports: Path) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "verify.json").write_text(json.dumps({"complete": True, "checks": []}))
    (reports / "verify.md").write_text("# stageflow-verify report\n")
    (reports / "index.html").write_text("<!doctype html><html><body><h1>r</h1></body></html>")


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "verify.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["verify.json"]


def test_a_started_run_marks_the_previous_reports_superseded(tmp_path: Path) -> None:
    _previous_run(tmp_path)
    replaced = ("verify.json", "verify.md", "index.html", "absent.json")
    with running_marker(tmp_path, "verify", replaced):
        old = json.loads((tmp_path / "verify.json").read_text())
        assert old["complete"] is False
        assert old["superseded_by"]["pid"] == os.getpid()
        assert (tmp_path / "verify.md").read_text().startswith(SUPERSEDED_BANNER)
        page = (tmp_path / "index.html").read_text()
        assert page.startswith("<!doctype html>") and "<body><p><strong>SUPERSEDED" in page
        running = json.loads((tmp_path / MARKER).read_text())
        assert (running["pid"], running["target"]) == (os.getpid(), "verify")
    assert not (tmp_path / MARKER).exists()
    assert not (tmp_path / "absent.json").exists()


def test_an_interrupted_run_leaves_its_marker_and_the_old_reports_superseded(
    tmp_path: Path,
) -> None:
    _previous_run(tmp_path)
    with pytest.raises(KeyboardInterrupt), running_marker(tmp_path, "verify", ("verify.json",)):
        raise KeyboardInterrupt
    assert json.loads((tmp_path / MARKER).read_text())["pid"] == os.getpid()
    assert json.loads((tmp_path / "verify.json").read_text())["complete"] is False
    assert OUTER_RUN_ENV not in os.environ


def test_a_nested_run_leaves_the_marker_to_the_outer_one(tmp_path: Path) -> None:
    _previous_run(tmp_path)
    with running_marker(tmp_path, "verify-all", ()):
        with running_marker(tmp_path, "verify", ("verify.json",)):
            pass
        assert json.loads((tmp_path / MARKER).read_text())["target"] == "verify-all"
        assert json.loads((tmp_path / "verify.json").read_text())["complete"] is False
    assert not (tmp_path / MARKER).exists()


def _one_check(monkeypatch: pytest.MonkeyPatch, body: registry.Check) -> None:
    monkeypatch.setattr(registry, "discover_checks", lambda: [body])
    monkeypatch.setattr(registry, "discover_findings", lambda: [])


def test_verify_writes_complete_reports_and_removes_its_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _previous_run(tmp_path)
    _one_check(monkeypatch, registry.Check("t.pass", registry.count_example, "s"))
    verify.verify([], tmp_path)
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["complete"] is True and "superseded_by" not in report
    assert [c["name"] for c in report["checks"]] == ["t.pass"]
    assert not (tmp_path / "verify.md").read_text().startswith(SUPERSEDED_BANNER)
    assert not (tmp_path / MARKER).exists()


def test_a_verify_killed_mid_run_never_leaves_a_report_that_looks_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt  # Ctrl-C while a check runs

    _previous_run(tmp_path)
    _one_check(monkeypatch, registry.Check("t.killed", interrupted, "s"))
    with pytest.raises(KeyboardInterrupt):
        verify.verify([], tmp_path)
    assert json.loads((tmp_path / "verify.json").read_text())["complete"] is False
    assert (tmp_path / "verify.md").read_text().startswith(SUPERSEDED_BANNER)
    assert json.loads((tmp_path / MARKER).read_text())["target"] == "verify"


def _tree(root: Path) -> ModuleType:
    installed = Path(next(iter(stageflow_module().__path__)))
    copy = root / "stageflow"
    shutil.copytree(installed, copy, ignore=shutil.ignore_patterns("__pycache__"))
    module = ModuleType("stageflow")
    module.__path__ = [str(copy)]
    module.__file__ = str(copy / "__init__.py")
    return module


def test_two_source_trees_of_one_version_keep_records_of_their_own(tmp_path: Path) -> None:
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    labels = [record_label(first), record_label(second)]
    assert labels[0] != labels[1] and all("+path-" in label for label in labels)
    assert record_label(stageflow_module()) == labels[0].partition("+")[0]  # the release
    for label, status in zip(labels, ("KNOWN", "FIXED"), strict=True):
        row = Row("finding.SF-CTX-01", status, "SF-CTX-01", 1, 0.1)
        write_version_record(VerifyReport("1.2.0", label, "ci", (row,)), tmp_path / label)
    statuses = [json.loads((tmp_path / lb / "verify.json").read_text()) for lb in labels]
    assert [s["checks"][0]["status"] for s in statuses] == ["KNOWN", "FIXED"]


def test_an_edited_tree_gets_a_new_record_and_an_unchanged_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    tree = _tree(tmp_path)
    before = record_label(tree)
    assert record_label(tree) == before
    (Path(tree.__path__[0]) / "__pycache__").mkdir(exist_ok=True)  # importing writes caches
    (Path(tree.__path__[0]) / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert record_label(tree) == before
    with open(Path(tree.__path__[0]) / "__init__.py", "a") as init:
        init.write("\n# edited\n")
    assert record_label(tree) != before


def test_bad_input_marks_nothing_superseded(tmp_path: Path) -> None:
    _previous_run(tmp_path)
    with pytest.raises(verify.BadInput):
        verify.verify(["no.such.check*"], tmp_path)
    assert json.loads((tmp_path / "verify.json").read_text())["complete"] is True
    assert not (tmp_path / MARKER).exists()


def test_a_record_drops_the_rows_the_registry_no_longer_holds(tmp_path: Path) -> None:
    # SF-CTX-04 was merged into SF-CTX-03: a later CHECKS= run keeps the rows it did not run,
    # except one of a finding that no longer exists, which the matrix would show forever.
    old = (Row("finding.SF-CTX-03", "KNOWN", "SF-CTX-03", 1, 0.1),
           Row("finding.SF-CTX-04", "KNOWN", "SF-CTX-04", 1, 0.1),
           Row("context.fork_tree", "PASS", None, 60, 1.0))  # fmt: skip
    write_version_record(VerifyReport("1.2.0", "/x", "ci", old), tmp_path)
    again = (Row("finding.SF-CTX-03", "KNOWN", "SF-CTX-03", 1, 0.1),)
    registered = {"finding.SF-CTX-03", "context.fork_tree"}
    write_version_record(VerifyReport("1.2.0", "/x", "ci", again), tmp_path, registered)
    rows = json.loads((tmp_path / "verify.json").read_text())["checks"]
    assert sorted(r["name"] for r in rows) == ["context.fork_tree", "finding.SF-CTX-03"]
    write_version_record(VerifyReport("1.2.0", "/x", "ci", again), tmp_path)  # no registry: kept
    assert len(json.loads((tmp_path / "verify.json").read_text())["checks"]) == 2
