"""OBSERVE=1: Hypothesis's observability files each test case under its check's name.

Without the stand-in pytest item of core/run/observe.py, every state machine's test cases are
filed as Hypothesis's inner ``run_state_machine``. verify runs in a fresh interpreter (the
switch is read when Hypothesis is imported) in a scratch directory, where Hypothesis writes
``.hypothesis/observed/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHINE = "subpipelines.child_tracker"


def test_a_machines_test_cases_are_filed_under_its_check_name(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HYPOTHESIS_PROFILE": "ci",
        "HYPOTHESIS_EXPERIMENTAL_OBSERVABILITY": "1",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "stageflow_verify.core.run.verify", "--checks", MACHINE,
               "--reports", str(tmp_path / "reports")]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (observed,) = (tmp_path / ".hypothesis" / "observed").glob("*_testcases.jsonl")
    properties = {json.loads(line)["property"] for line in observed.read_text().splitlines()}
    assert properties == {MACHINE}
