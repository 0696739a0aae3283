"""`stageflow-verify COMMAND`: each command is its module's main, with its exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stageflow_verify.core.run import cli


def test_no_command_prints_usage_and_says_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: stageflow-verify COMMAND" in capsys.readouterr().out


def test_an_unknown_command_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["verfy"]) == 2
    assert "no command 'verfy'" in capsys.readouterr().err


def test_a_command_returns_its_modules_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    # variables exits 2 on a bad value, as make's parse-time check relies on.
    assert cli.main(["variables", "--goals", "verify", "JOBS=many"]) == 2
    assert cli.main(["verify", "--list"]) == 0
    assert "context.fork_tree:" in capsys.readouterr().out


def test_verify_judges_under_ci_when_no_profile_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Installed from a wheel there is no Makefile to default HYPOTHESIS_PROFILE to ci; the
    # command must, or `stageflow-verify verify` would search under dev, with a fresh seed.
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    reports = tmp_path / "reports"
    command = ["verify", "--checks", "values.frozen_dict_hash", "--reports", str(reports)]
    assert cli.main(command) == 0
    assert json.loads((reports / "verify.json").read_text())["profile"] == "ci"
