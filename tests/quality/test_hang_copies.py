"""``make verify`` on an edited copy of Stageflow that hangs ends with a clear row and exit 1.

The in-process tests (``test_planted_hangs.py``) cut the budgets to a second; this one runs
verify as ``make verify SUT=...`` does, on copies of the installed package (as the mutation
catalog makes them, ``core.run.mutation.make_copy``), with the real budgets: a spin that never
awaits and a deadlock, both planted in ``OutputBag.write``. Restricted to one machine so it costs
one stall budget (``STALL_SECONDS``) and a little.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stageflow_verify.core.run.mutation import REPO, stageflow_package
from stageflow_verify.core.run.watchdog import STALL_SECONDS

_WRITE = "        async with self._lock:\n            existing = self._entries.get(stage_name)\n"
_PLANTS = {
    "spin": "        while True:  # planted spin\n            pass\n",
    "deadlock": "        await asyncio.Event().wait()  # planted deadlock\n",
}


@pytest.mark.parametrize("plant", sorted(_PLANTS))
def test_verify_on_a_hanging_copy_ends_with_a_new_row_naming_the_planted_line(
    tmp_path: Path, plant: str
) -> None:
    package = tmp_path / "copy" / "stageflow"
    shutil.copytree(stageflow_package(), package, ignore=shutil.ignore_patterns("__pycache__"))
    bag = package / "context" / "output_bag.py"
    text = bag.read_text()
    assert text.count(_WRITE) == 1, "OutputBag.write changed: update the planted edit"
    bag.write_text(text.replace(_WRITE, _PLANTS[plant] + _WRITE))
    reports = tmp_path / "reports"
    argv = [sys.executable, "-m", "stageflow_verify.core.run.verify", "--reports", str(reports),
            "--checks", "bags.output_bag_linearizable"]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package.parent), "HYPOTHESIS_PROFILE": "ci"}
    done = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=STALL_SECONDS + 240
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((reports / "verify.json").read_text())
    assert report["complete"] is True and not (reports / "RUNNING").exists()
    [row] = [r for r in report["checks"] if r["name"] == "bags.output_bag_linearizable"]
    assert row["status"] == "NEW"
    detail = (reports / "failures" / "bags.output_bag_linearizable.txt").read_text()
    # Where it hung: the watchdog names file, line and function; the deterministic loop's
    # DeadlockError names each blocked task's function and line.
    where = "output_bag.py" if plant == "spin" else "task0 at write:"
    assert where in detail, detail[-3000:]
    if plant == "spin":
        assert "made no progress" in detail and "in write" in detail
