"""`pytest --stageflow-verify`: verify's rows as pytest items, with verify's verdicts.

Each test runs pytest in a subprocess (the plugin changes collection, so it needs a pytest of
its own). A planted registry (a conftest replacing discovery with one check or finding per
verdict) pins the mapping of every status, through pytest-xdist and JUnit; a few real rows are
judged by both verify and the plugin and must agree.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

from stageflow_verify.core.run import verify
from stageflow_verify.core.run.checks import SUITE_ROOT
from stageflow_verify.core.run.report import Row, VerifyReport
from tests.wheel.installed import junit_cases

ROOT = Path(__file__).resolve().parents[2]

PLANTED_REGISTRY = """
from core.run import checks as registry
from core.sut import HarnessError


def _pass():
    registry.count_example()


def _new():
    registry.count_example()
    raise AssertionError("planted: Stageflow broke it")


def _error():
    raise HarnessError("planted: the adapter cannot do this")


CHECKS = [
    registry.Check("planted.passes", _pass, "passes"),
    registry.Check("planted.new", _new, "fails"),
    registry.Check("planted.absent", _pass, "n/a", applies=lambda sf: "planted: no feature"),
    registry.Check("planted.error", _error, "harness error"),
]
FINDINGS = [
    registry.Finding("SF-PLANT-01", "still there", (), "planted.passes", "p", "o",
                     reproduce=lambda sf: True),
    registry.Finding("SF-PLANT-02", "gone", (), "planted.passes", "p", "o",
                     reproduce=lambda sf: False),
]
registry.discover_checks = lambda: CHECKS
registry.discover_findings = lambda: FINDINGS
""".replace("from core.", f"from {SUITE_ROOT}core.")  # the suite's import name, packaged or not

# Installed, the package's pytest11 entry point loads the plugin; naming it again with -p would
# register it twice. In a checkout without the package it must be named.
_INSTALLED = any(
    e.value.endswith("stageflow_verify.core.run.pytest_plugin")
    for e in importlib.metadata.entry_points(group="pytest11")
)
PLUGIN = [] if _INSTALLED else ["-p", "stageflow_verify.core.run.pytest_plugin"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYPOTHESIS_PROFILE": "ci"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _pytest(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    junit = tmp_path / "rows.xml"
    args = ["-m", "pytest", *PLUGIN, "--stageflow-verify"]
    args += ["-p", "no:cacheprovider", "-q", f"--junitxml={junit}", *extra]
    return _run(args, tmp_path), junit


def _outcomes(junit: Path) -> dict[str, str]:
    return {name: outcome for name, (outcome, _) in junit_cases(junit).items()}


def _verdicts(junit: Path) -> dict[str, str]:
    """verify's status per case, from the ``verdict`` property the plugin records."""
    return {name: verdict for name, (_, verdict) in junit_cases(junit).items() if verdict}


def test_every_verdict_maps_to_its_pytest_outcome_across_xdist_workers(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(PLANTED_REGISTRY)
    done, junit = _pytest(tmp_path, "-n", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert _outcomes(junit) == {
        "planted.passes": "passed",
        "planted.new": "failure",
        "planted.absent": "skipped",
        "planted.error": "error",
        "finding.SF-PLANT-01": "xfail",
        "finding.SF-PLANT-02": "passed",  # FIXED: a non-strict XPASS
    }
    assert _verdicts(junit) == {
        "planted.passes": "PASS",
        "planted.new": "NEW",
        "planted.absent": "N/A",
        "planted.error": "ERROR",
        "finding.SF-PLANT-01": "KNOWN",
        "finding.SF-PLANT-02": "FIXED",
    }
    assert "1 xpassed" in done.stdout, done.stdout


def test_pytest_fails_exactly_when_verify_exits_non_zero(tmp_path: Path) -> None:
    # PASS, KNOWN, FIXED and N/A: verify exits 0 (README's exit codes), and so must pytest.
    report = VerifyReport(
        "x",
        "/p",
        "ci",
        tuple(Row(f"r.{s}", s, None, 1, 0.0) for s in ("PASS", "KNOWN", "FIXED", "N/A")),
    )
    assert verify.exit_code(report) == 0
    (tmp_path / "conftest.py").write_text(PLANTED_REGISTRY)
    done, junit = _pytest(tmp_path, "-k", "passes or absent or finding")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_verdicts(junit).values()) == {"PASS", "KNOWN", "FIXED", "N/A"}
    # ...and a NEW row alone fails both.
    new_report = VerifyReport("x", "/p", "ci", (Row("r.new", "NEW", None, 1, 0.0),))
    assert verify.exit_code(new_report) == 1
    failed, _ = _pytest(tmp_path, "-k", "new")
    assert failed.returncode == 1, failed.stdout + failed.stderr


def test_collect_only_lists_and_counts_the_rows(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(PLANTED_REGISTRY)
    done = _run(["-m", "pytest", *PLUGIN, "--stageflow-verify", "--collect-only", "-q"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stageflow-verify::finding.SF-PLANT-02" in done.stdout
    assert "6 tests collected" in done.stdout, done.stdout
    assert "no tests collected" not in done.stdout
    chosen = ["-m", "pytest", *PLUGIN, "--stageflow-verify", "--co", "-q", "-k", "finding"]
    done = _run(chosen, tmp_path)
    assert "2/6 tests collected (4 deselected)" in done.stdout, done.stdout


def test_k_selects_a_check_with_its_findings(tmp_path: Path) -> None:
    chosen = ["--stageflow-verify", "-p", "no:cacheprovider", "--collect-only", "-q", "-k", "fork"]
    done = _run(["-m", "pytest", *PLUGIN, *chosen], tmp_path)
    selected = [line for line in done.stdout.splitlines() if line.startswith("stageflow-verify::")]
    assert "stageflow-verify::context.fork_tree" in selected, done.stdout + done.stderr
    assert "stageflow-verify::finding.SF-CTX-01" in selected  # its check is context.fork_tree
    assert "stageflow-verify::values.frozen_dict_hash" not in selected


def test_real_rows_get_the_verdicts_verify_gives(tmp_path: Path) -> None:
    rows = ["values.frozen_dict_hash", "values.extract_service", "finding.SF-VAL-02"]
    verified = _run(
        [
            "-m",
            "stageflow_verify.core.run.verify",
            "--checks",
            ",".join(rows),
            "--reports",
            str(tmp_path / "r"),
        ],
        tmp_path,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads((tmp_path / "r" / "verify.json").read_text())
    by_verify = {row["name"]: row["status"] for row in report["checks"]}
    done, junit = _pytest(tmp_path, "-k", " or ".join(r.replace("finding.", "") for r in rows))
    assert done.returncode == 0, done.stdout + done.stderr
    spelled = {"PASS": "passed", "KNOWN": "xfail", "N/A": "skipped"}
    assert _outcomes(junit) == {name: spelled[status] for name, status in by_verify.items()}
