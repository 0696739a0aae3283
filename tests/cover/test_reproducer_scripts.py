"""Every finding's reproducer, as ``reports/findings.md`` prints it, is a standalone program.

Each script is written to a temporary folder exactly as extracted, linted with the suite's own
ruff configuration (an unimported ``Any`` is F821, an unsorted import I001), and run in a fresh
interpreter against the installed stageflow: it must print ``VIOLATION: <id>: ...`` and exit 1,
since every registered finding that applies to the installed version reproduces there (a
finding that stopped reproducing is FIXED, which verify reports, and is not this test's
concern). A finding whose ``applies`` says N/A on this version is not run.

The scripts run two at a time (this machine has two cores); each must finish well inside the
watchdog's 30 seconds, since none of them waits on the clock any more. A finding tagged
``interleaving`` must also carry the swimlane of its reproducer's schedule in its bug report.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stageflow_verify.core.run.checks import discover_findings
from stageflow_verify.core.run.findings_report import render_issue
from stageflow_verify.core.run.reproducer_script import reproducer_source
from stageflow_verify.core.run.reproducer_swimlanes import INTERLEAVING
from stageflow_verify.core.sut import stageflow_module

ROOT = Path(__file__).resolve().parents[2]
FINDINGS = discover_findings()


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reproducers")
    paths: dict[str, Path] = {}
    for finding in FINDINGS:
        path = folder / f"{finding.id.replace('-', '_').lower()}.py"
        path.write_text(reproducer_source(finding))
        paths[finding.id] = path
    return paths


def test_the_extracted_reproducers_are_lint_clean(scripts: dict[str, Path]) -> None:
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
         str(ROOT / "pyproject.toml"), *map(str, scripts.values())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    # cwd is the script's folder, not the suite: the script imports nothing of the suite.
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, cwd=path.parent
    )


def test_every_applicable_reproducer_exits_one_with_its_violation(
    scripts: dict[str, Path],
) -> None:
    sf = stageflow_module()
    applicable = [f for f in FINDINGS if f.applies(sf) is None]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(_run, [scripts[f.id] for f in applicable])
        results = dict(zip([f.id for f in applicable], runs, strict=True))
    wrong = {
        fid: f"exit {r.returncode}: {(r.stdout + r.stderr).strip()[-600:]}"
        for fid, r in results.items()
        if r.returncode != 1 or not r.stdout.startswith(f"VIOLATION: {fid}: ")
    }
    assert not wrong, wrong


def test_every_interleaving_finding_carries_its_swimlane() -> None:
    sf = stageflow_module()
    tagged = [f for f in FINDINGS if INTERLEAVING in f.tags and f.applies(sf) is None]
    assert tagged, "no finding is tagged as an interleaving"
    for finding in tagged:
        issue = render_issue(finding, {})
        assert "## Interleaving" in issue and "step  pick  time" in issue, finding.id
