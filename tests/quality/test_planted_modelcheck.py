"""Exhaustive mode finds a planted lost update in OutputBag.write that no lock guards."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from stageflow_verify.core.run.modelcheck import Entry, check_scenario, output_bag_model
from stageflow_verify.core.sut import modelcheck_scenarios as sc
from stageflow_verify.core.sut import stageflow_module


def _plant_unlocked_write(monkeypatch: pytest.MonkeyPatch) -> None:
    bag_class = stageflow_module().context.OutputBag
    module: Any = sys.modules[bag_class.__module__]

    async def write(
        self: Any, stage_name: str, output: Any, *, allow_overwrite: bool = False
    ) -> Any:
        existing = self._entries.get(stage_name)  # check ...
        if existing is not None and not allow_overwrite:
            raise module.OutputConflictError(stage_name, existing.attempt)
        attempt = existing.attempt + 1 if existing else 1
        await asyncio.sleep(0)  # ... then act, after another writer may have written
        entry = module.OutputEntry(
            output=output, attempt=attempt, timestamp=module._utc_now(), stage_name=stage_name
        )
        self._entries[stage_name] = entry
        return entry

    monkeypatch.setattr(bag_class, "write", write)


def test_exhaustive_mode_finds_the_planted_lost_update(monkeypatch: pytest.MonkeyPatch) -> None:
    _plant_unlocked_write(monkeypatch)
    result = check_scenario(
        Entry("planted", sc.output_bag_writers(2, output_bag_model())), bound=1, max_schedules=500
    )
    assert result.status == "NEW" and result.report.violations_found > 0
    first = result.report.violations[0]
    # Under stock asyncio order both writers read attempt 0 before either stores: no deviation
    # from the stock schedule is needed, and the explorer reports the empty choice list.
    assert first.replay_hint() == "ReplayChooser([])", result.report.summary()
    assert str(first.error).startswith("Not linearizable. Smallest illegal sub-history:")
    assert "no order of A, B gives what they returned: a contradiction!" in str(first.error)
