"""A NEW row leaves ``reports/failures/<row>.py``, which replays it standalone and exits 1.

The bug is planted in a copy of stageflow (FrozenDict miscounts its keys once it holds two),
verified as ``SUT=`` the copy would be, under the derandomized ``ci`` profile. The script must
then fail from a bare environment (no PYTHONPATH, any working directory), and pass once the
copy is repaired: a replay that cannot fail, or cannot pass, would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import hypothesis.stateful
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import DidNotReproduce
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run import verify
from stageflow_verify.core.run.nightly_report import write_failure_scripts
from stageflow_verify.core.run.profiles import load_selected_profile
from stageflow_verify.core.run.replay import ReplayKey, forced_seed
from stageflow_verify.core.run.replay_blob import blob_in, replaying
from stageflow_verify.core.run.report import Row, VerifyReport
from stageflow_verify.core.sut import stageflow_module

ROOT = Path(__file__).resolve().parents[2]
ROW = "values.frozen_dict_mapping_laws"
PRISTINE = "    def __len__(self) -> int:\n        return len(self._data)\n"
PLANTED = "    def __len__(self) -> int:\n        return len(self._data) + (len(self._data) > 1)\n"


def _bare_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYPOTHESIS_PROFILE")}
    return {**keep, **extra}


def _planted_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "sut" / "stageflow"
    shutil.copytree(
        Path(next(iter(stageflow_module().__path__))),
        copy,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    frozen = copy / "utils" / "frozen.py"
    source = frozen.read_text()
    assert source.count(PRISTINE) == 2  # FrozenDict's, then FrozenList's
    frozen.write_text(source.replace(PRISTINE, PLANTED, 1))
    return copy


def test_a_new_row_writes_a_script_that_replays_it_and_exits_one(tmp_path: Path) -> None:
    copy = _planted_copy(tmp_path)
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
        env=_bare_env(PYTHONPATH=str(copy.parent), HYPOTHESIS_PROFILE="ci"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert found.returncode == 1, found.stdout + found.stderr
    command = f"replay: HYPOTHESIS_PROFILE=ci make verify CHECKS='{ROW}' SUT={copy.parent}"
    assert command in found.stdout
    script = reports / "failures" / f"{ROW}.py"
    assert script.exists()

    def replay() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=_bare_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )

    # The script is lint-clean, and what it replays is the very case verify shrunk to.
    config = str(ROOT / "pyproject.toml")
    lint = [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", config, str(script)]
    assert subprocess.run(lint, capture_output=True, timeout=120).returncode == 0
    shrunk = found.stdout[found.stdout.index("Failing test case") :].split("\n\n")[0]
    failing = replay()
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert failing.stdout.startswith(f"NEW {ROW}") and shrunk in failing.stdout
    frozen = copy / "utils" / "frozen.py"
    frozen.write_text(frozen.read_text().replace(PLANTED, PRISTINE))
    repaired = replay()
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    # It replayed the recorded case (ci prints its blob), not a new search.
    assert "--blob" in script.read_text()
    assert repaired.stdout.startswith(f"PASS {ROW}: the recorded shrunk case no longer fails")


def test_a_random_profile_names_its_seed_and_a_release_its_version() -> None:
    key = ReplayKey("dev", 1234, "STAGEFLOW=0.9.6", "")
    assert key.command("graphs.run_dag") == (
        "HYPOTHESIS_PROFILE=dev VERIFY_SEED=1234 make verify CHECKS='graphs.run_dag' "
        "STAGEFLOW=0.9.6"
    )
    assert (
        ReplayKey("ci", None, "", "").command("x") == "HYPOTHESIS_PROFILE=ci make verify CHECKS='x'"
    )


def test_a_random_profile_run_is_pinned_by_its_printed_seed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drawn: list[int] = []

    # Random like dev, whatever profile this session runs under (settings bind when decorated).
    @settings(derandomize=False, database=None)
    @given(st.integers(0, 10**9))
    def law(n: int) -> None:
        registry.count_example()
        drawn.append(n)

    monkeypatch.setattr(registry, "discover_checks", lambda: [registry.Check("t.law", law, "s")])
    monkeypatch.setattr(registry, "discover_findings", lambda: [])
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "dev")
    before = forced_seed()
    runs = []
    try:
        for seed in ("4321", "4321", "8765"):
            monkeypatch.setenv("VERIFY_SEED", seed)
            drawn.clear()
            assert verify.main(["--reports", str(tmp_path)]) == 0
            runs.append(list(drawn))
            assert f"seed {seed} (VERIFY_SEED={seed} repeats this run)" in capsys.readouterr().out
    finally:
        monkeypatch.undo()
        load_selected_profile()  # verify loaded 'dev': later tests get the session's profile
    assert runs[0] == runs[1] != runs[2]
    assert forced_seed() == before  # the pin was that run's only


class _Counter(RuleBasedStateMachine):
    """Fails once it has counted to three: a machine's shrunk program is three increments."""

    limit = 3

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    @rule(by=st.integers(1, 2))
    def add(self, by: int) -> None:
        self.n += by

    @invariant()
    def below_the_limit(self) -> None:
        assert self.n < self.limit, f"counted to {self.n}"


def test_a_machines_blob_replays_its_program_and_says_when_it_passes() -> None:
    def run(factory: type[_Counter]) -> tuple[BaseException | None, str]:
        # Looked up at call time, as a check module bound at import under replaying() would.
        return verify.run_captured(
            lambda: hypothesis.stateful.run_state_machine_as_test(
                factory, settings=settings(database=None, derandomize=True, print_blob=True)
            )
        )

    found, output = run(_Counter)
    assert isinstance(found, AssertionError)
    # Hypothesis prints the blob through its reporter or as a note on the failure.
    blob = blob_in(output + "\n".join(getattr(found, "__notes__", [])))
    assert blob is not None
    with replaying(*blob):
        again, replayed = run(_Counter)
        assert isinstance(again, AssertionError) and str(again) == str(found)
        fixed = type("Fixed", (_Counter,), {"limit": 10})
        passed, _ = run(fixed)
    assert isinstance(passed, DidNotReproduce)
    # The program, printed again from the blob.
    assert "add(by=" in replayed + "\n".join(getattr(again, "__notes__", []))


def test_nightly_writes_a_script_per_new_row_that_replays_its_blob(tmp_path: Path) -> None:
    blob = "@reproduce_failure('6.170.17', b'AXicY2BgYAQAAA0AAw==')"
    rows = (
        Row("c.new", "NEW", None, 5, 1.0, f"c.new failed\n{blob}"),
        Row("c.ok", "PASS", None, 5, 1.0),
    )
    report = VerifyReport("1.2.0", "/x", "nightly", rows)
    write_failure_scripts(report, tmp_path, ReplayKey("nightly", None, "", ""))
    assert [p.name for p in tmp_path.iterdir()] == ["c.new.py"]
    script = (tmp_path / "c.new.py").read_text()
    assert "BLOB = ['--blob', '6.170.17', 'AXicY2BgYAQAAA0AAw==']" in script
    assert "HYPOTHESIS_PROFILE=nightly make verify CHECKS='c.new'" in script


KEYS = [
    ReplayKey("ci", None, "", ""),
    ReplayKey("dev", 1234, "STAGEFLOW=0.9.6", ""),
    ReplayKey("nightly", None, "SUT=/tmp/sut dir", "/tmp/sut dir"),
]
DETAILS = [
    "c.new failed: 'quotes' \"and\" a back\\slash\n"
    "@reproduce_failure('6.170.17', b'AXicY2BgYAQAAA0AAw==')",
    "c.new failed without a blob\n\n    state = Machine()\n    state.rule(x='}{')",
]


def test_every_kind_of_failure_script_is_lint_clean_and_runs_standalone(tmp_path: Path) -> None:
    # Each profile, seed and target a script can record, with and without a blob, and a
    # failure text holding quotes and backslashes: ruff-clean as written, and run from a bare
    # environment in another folder it reaches the suite's replay (which, for a row no
    # registry holds, says so and exits 2: the module the script names exists).
    scripts = []
    for n, (key, detail) in enumerate((k, d) for k in KEYS for d in DETAILS):
        report = VerifyReport(
            "1.2.0", "/x", key.profile, (Row("c.new", "NEW", None, 5, 1.0, detail),)
        )
        folder = tmp_path / f"failures{n}"
        write_failure_scripts(report, folder, key)
        scripts.append(folder / "c.new.py")
    config = str(ROOT / "pyproject.toml")
    lint = [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", config]
    linted = subprocess.run(
        [*lint, *map(str, scripts)], capture_output=True, text=True, timeout=120
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    ran = subprocess.run(
        [sys.executable, str(scripts[0])], cwd=tmp_path, env=_bare_env(),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "no check or finding row is named 'c.new'" in ran.stderr
