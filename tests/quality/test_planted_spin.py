"""A spinning Stageflow ends verify's reproducer calls with a row, never a hang.

The finding reproducers run on a stock ``asyncio.run`` (they are plain programs a maintainer
pastes), so the scheduler's step budget cannot reach them; :mod:`core.run.watchdog` bounds them
by wall time. Planted here: ``UnifiedStageGraph.run`` spinning with and without an await, as an
edit of its loop would. The watchdog budget is shortened so the test is quick.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stageflow_verify.core.run import checks, verify, watchdog
from stageflow_verify.core.run.checks import Finding, still_reproduces
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.graph_findings import FINDINGS as GRAPH_FINDINGS


async def _spin_with_awaits(self: Any, ctx: Any) -> Any:
    while True:
        await asyncio.sleep(0)


async def _spin_without_awaits(self: Any, ctx: Any) -> Any:
    while True:
        pass


def _plant(monkeypatch: pytest.MonkeyPatch, spin: Any) -> Finding:
    from stageflow.pipeline.dag import UnifiedStageGraph

    monkeypatch.setattr(UnifiedStageGraph, "run", spin)
    monkeypatch.setattr(checks, "REPRODUCER_SECONDS", 0.5)
    monkeypatch.setattr(verify, "REPRODUCER_SECONDS", 0.5)
    sf = stageflow_module()
    return next(f for f in GRAPH_FINDINGS if f.applies(sf) is None)


@pytest.mark.parametrize("spin", [_spin_with_awaits, _spin_without_awaits])
def test_a_spinning_graph_ends_a_machines_adoption_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, spin: Any
) -> None:
    finding = _plant(monkeypatch, spin)
    with pytest.raises(watchdog.StageflowStuckError, match=f"reproducer of {finding.id} ran past"):
        still_reproduces(finding)


def test_a_spinning_graph_gives_the_finding_row_a_failure_naming_the_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finding = _plant(monkeypatch, _spin_without_awaits)
    row = verify.run_finding(finding, stageflow_module())
    assert row.status == "NEW" and "ran past 0.5 s of wall time" in row.detail
    assert "test_planted_spin.py" in row.detail  # the line it was stuck on


def test_pristine_reproducers_finish_under_the_watchdog() -> None:
    sf = stageflow_module()
    answers = [still_reproduces(f) for f in GRAPH_FINDINGS if f.applies(sf) is None]
    assert answers and all(isinstance(a, bool) for a in answers)
