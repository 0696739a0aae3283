"""A law that fails under verify says which clause of its assert failed, with the values.

verify runs outside pytest, so it installs pytest's assertion rewriter for ``properties``
itself (core/run/law_asserts.py). The test runs verify in a fresh interpreter, because this
one (under pytest, with every suite module imported up front) has the laws loaded already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLANT_AND_VERIFY = """
import sys
from pathlib import Path
import stageflow
from core.run import verify

pristine_ok = stageflow.StageOutput.ok
def ok(data=None, **kwargs):  # the planted bug: every ok() output claims a duration
    return pristine_ok(data, **kwargs).with_duration(5)
stageflow.StageOutput.ok = staticmethod(ok)
report = verify.verify(["values.stage_output_factories"], Path(sys.argv[1]))
print("RESULT " + report.rows[0].status)
print(report.rows[0].detail)
"""


def test_a_failing_compound_assert_names_its_false_clause_and_value(tmp_path: Path) -> None:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    done = subprocess.run(
        [sys.executable, "-c", PLANT_AND_VERIFY, str(tmp_path)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status, detail = done.stdout.split("RESULT ", 1)[1].split("\n", 1)
    assert status == "NEW"
    # The law's assert is `out["duration_ms"] is None and out["artifacts"] == [] and ...`.
    assert "AssertionError: assert (5 is None)" in detail, detail


def test_pristine_laws_pass_with_rewritten_asserts(tmp_path: Path) -> None:
    code = PLANT_AND_VERIFY.replace("stageflow.StageOutput.ok = staticmethod(ok)", "")
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "RESULT PASS\n" in done.stdout, done.stdout + done.stderr
