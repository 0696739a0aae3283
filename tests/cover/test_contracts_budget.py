"""make contracts divides CONTRACTS_TOTAL across its stages and says which were cut short."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from stageflow_verify.core.run import contracts


def test_each_stage_gets_its_share_and_a_cut_stage_is_named_and_unknown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    budgets: dict[str, float] = {}

    def modules(targets: Any, per_condition: float, deadline: float, jobs: int) -> Any:
        budgets["crosshair check"] = deadline - time.monotonic()
        return [contracts.Outcome("models/x.py", "OK", 1.0)]

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        stage = (
            "crosshair diffbehavior"
            if "stageflow_verify.properties.diffbehavior" in command
            else "properties"
        )
        budgets[stage] = kwargs["timeout"]
        if stage == "properties":  # the laws overrun their share
            raise subprocess.TimeoutExpired(command, kwargs["timeout"])
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(contracts, "check_modules", modules)
    monkeypatch.setattr(subprocess, "run", run)
    assert contracts.main(["--total-timeout", "400"]) == 3
    out = capsys.readouterr().out
    # Half, then half of what is left, then all that is left: the stages before took next to
    # no time, so what they did not use passed on.
    assert budgets["crosshair check"] == pytest.approx(200, abs=2)
    assert budgets["crosshair diffbehavior"] == pytest.approx(200, abs=2)
    assert budgets["properties"] == pytest.approx(400, abs=2)
    assert "  crosshair check: finished" in out
    assert "  crosshair diffbehavior: finished" in out
    assert "  properties: cut short: stopped at its share of --total-timeout (UNKNOWN)" in out


def test_the_module_checks_alone_get_the_whole_budget() -> None:
    assert contracts.stage_deadline("crosshair check", 900.0, 0.0) == 450.0
    assert contracts.stage_deadline("properties", 900.0, 600.0) == 900.0
