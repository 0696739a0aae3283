"""A race planted in a copy of stageflow: its NEW row's script and replay command repeat the
shrunk stateful program *and its schedule*, exactly.

The bug is the catalog's ``output_bag.check_act_split`` (OutputBag.write without its lock,
with an await between the conflict check and the store): only an interleaving of two writers
shows it, so the failure is a program plus a schedule of the suite's loop. Verify finds it as
``SUT=`` the copy would be; then ``reports/failures/<row>.py``, run standalone from a bare
environment in another directory, and the printed ``replay:`` command, run as printed through
make, must each fail again with the same program and the same swimlane. On pristine Stageflow
the same check passes and writes no script.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from stageflow_verify.core.run import verify
from stageflow_verify.core.run.mutation import make_copy
from tests.quality.mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[2]
ROW = "bags.output_bag_linearizable"
RACE = next(m for m in MUTANTS if m.id == "output_bag.check_act_split")


def _bare_env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "HYPOTHESIS_PROFILE", "VERIFY_SEED", "MAKEFLAGS", "MFLAGS")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def _suite_copy(into: Path) -> Path:
    caches = ("__pycache__", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache")
    shutil.copytree(ROOT, into, ignore=shutil.ignore_patterns(".venv*", ".git", "reports", *caches))
    (into / ".venv").symlink_to((ROOT / ".venv").resolve())
    return into


def _schedule(output: str) -> str:
    """The swimlane of the shrunk failure, as the machine's note prints it."""
    found = re.search(r"^Schedule \(one lane per task.*?^Replay: .*?$", output, re.M | re.S)
    assert found is not None, output
    return found.group(0)


def _program(output: str) -> list[str]:
    return re.findall(r"^state\.\w+\(.*$", output, flags=re.MULTILINE)


def test_a_planted_race_replays_with_its_schedule_from_the_script_and_the_command(
    tmp_path: Path,
) -> None:
    copy = make_copy(tmp_path / "sut", RACE)
    reports = tmp_path / "reports"
    found = subprocess.run(
        [
            sys.executable,
            "-m",
            "stageflow_verify.core.run.verify",
            "--checks",
            ROW,
            "--reports",
            str(reports),
        ],
        cwd=ROOT,
        env=_bare_env(PYTHONPATH=str(copy), HYPOTHESIS_PROFILE="ci"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert found.returncode == 1, found.stdout + found.stderr
    schedule, program = _schedule(found.stdout), _program(found.stdout)
    assert "T1 task0" in schedule and "T2 task1" in schedule  # two writers interleaved
    assert any(step.startswith("state.run_tasks(") for step in program)

    script = reports / "failures" / f"{ROW}.py"
    replayed = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_bare_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert replayed.stdout.startswith(f"NEW {ROW}")
    assert (_schedule(replayed.stdout), _program(replayed.stdout)) == (schedule, program)

    command = re.search(r"^replay: (.*)$", found.stdout, flags=re.MULTILINE)
    assert command is not None
    assert command.group(1) == f"HYPOTHESIS_PROFILE=ci make verify CHECKS='{ROW}' SUT={copy}"
    # As printed, through the shell and make, in a copy of the suite (so that its reports/ is
    # not the developer's) sharing .venv; make exits 2 when its recipe fails, and verify's own
    # 1 is on make's last line.
    suite = _suite_copy(tmp_path / "suite")
    again = subprocess.run(
        ["bash", "-c", command.group(1)],
        cwd=suite,
        env=_bare_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 2 and "Error 1" in again.stderr, again.stdout + again.stderr
    assert f"NEW   {ROW}" in again.stdout or f"NEW: {ROW}" in again.stdout
    assert (_schedule(again.stdout), _program(again.stdout)) == (schedule, program)
    # Its reports are the copy's, where make ran (not those of the checkout .venv points at).
    written = json.loads((suite / "reports" / "verify.json").read_text())
    assert written["stageflow_path"].startswith(str(copy)), written["stageflow_path"]


def test_pristine_stageflow_passes_the_same_check_and_writes_no_script(tmp_path: Path) -> None:
    assert verify.main(["--checks", ROW, "--reports", str(tmp_path)]) == 0
    assert not list((tmp_path / "failures").glob("*.py"))
