"""A spinning or deadlocking Stageflow ends every kind of call site with a clear row, never a hang.

Issue 22 item 1. Planted, at each place the suite runs Stageflow code: a spin that never awaits
(``while True: pass``, which the deterministic loop cannot see: no step is ever taken), a spin
that awaits (the loop's step budget: LivelockError), and a deadlock (an await that nothing ends:
DeadlockError on the deterministic loop; on a stock loop, the watchdog). The sites: a machine
(``bags.output_bag_linearizable``), a law (``values.stage_output_factories``), a feature probe,
a finding reproducer (spins: ``test_planted_spin.py``), a model-checked scenario and a nightly
shard. Each ends with a NEW (or, for a probe, ERROR) verdict that names the file and function it
was stuck in. Budgets are cut to seconds so the tests stay quick; the real ones are
``core.run.watchdog.STALL_SECONDS`` and ``REPRODUCER_SECONDS``. ``test_hang_copies.py`` does
the same end to end, with edited copies of the installed package.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _pytest.outcomes import Failed

from stageflow_verify.core.run import checks, modelcheck, nightly_shard, verify, watchdog
from stageflow_verify.core.sut import stageflow_module

HERE = Path(__file__).name


@pytest.fixture(autouse=True)
def _short_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchdog, "_seen_stuck", False)  # restored: later tests keep full budgets
    # Three seconds: one proved too short for a healthy machine on this shared, loaded host
    # (a pause in Hypothesis's garbage-collection hook was taken for a stall).
    for module in (verify, modelcheck):
        monkeypatch.setattr(module, "STALL_SECONDS", 3.0)
    for module in (verify, checks):
        monkeypatch.setattr(module, "REPRODUCER_SECONDS", 3.0)


def _spin_sync(*args: Any, **kwargs: Any) -> Any:
    while True:
        pass


def _deadlock_sync(*args: Any, **kwargs: Any) -> Any:
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()


async def _spin_async(*args: Any, **kwargs: Any) -> Any:
    while True:
        pass


async def _spin_awaiting(*args: Any, **kwargs: Any) -> Any:
    while True:
        await asyncio.sleep(0)


async def _deadlock_async(*args: Any, **kwargs: Any) -> Any:
    await asyncio.Event().wait()


def _check(name: str) -> checks.Check:
    return next(c for c in checks.discover_checks() if c.name == name)


def _plant_bag_write(monkeypatch: pytest.MonkeyPatch, body: Any) -> None:
    from stageflow.context.output_bag import OutputBag

    monkeypatch.setattr(OutputBag, "write", body)


def _plant_stage_output_ok(monkeypatch: pytest.MonkeyPatch, body: Any) -> None:
    monkeypatch.setattr(stageflow_module().StageOutput, "ok", classmethod(body))


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (_spin_async, "in _spin_async"),
        (_spin_awaiting, "LivelockError"),
        (_deadlock_async, "_deadlock_async"),
    ],
)
def test_a_hanging_bag_ends_the_machine_with_a_new_row_naming_where(
    monkeypatch: pytest.MonkeyPatch, body: Any, names: str
) -> None:
    _plant_bag_write(monkeypatch, body)
    start = time.monotonic()
    row = verify.run_check(_check("bags.output_bag_linearizable"), stageflow_module())
    assert row.status == "NEW" and names in row.detail, row.detail[-2000:]
    if body is _spin_async:  # the watchdog's verdict names the planted line's file
        assert HERE in row.detail
    assert time.monotonic() - start < 120  # generous: it ends, it does not hang


@pytest.mark.parametrize(
    ("body", "names"),
    [(_spin_sync, "in _spin_sync"), (_deadlock_sync, "in _deadlock_sync")],
)
def test_a_hanging_stage_output_ends_the_law_with_a_new_row_naming_where(
    monkeypatch: pytest.MonkeyPatch, body: Any, names: str
) -> None:
    _plant_stage_output_ok(monkeypatch, body)
    row = verify.run_check(_check("values.stage_output_factories"), stageflow_module())
    assert row.status == "NEW" and names in row.detail, row.detail[-2000:]
    assert "made no progress for 3 s" in row.detail


@pytest.mark.parametrize("body", [_spin_sync, _deadlock_sync])
def test_a_probe_that_hangs_in_stageflow_is_an_error_row_naming_where(
    monkeypatch: pytest.MonkeyPatch, body: Any
) -> None:
    _plant_stage_output_ok(monkeypatch, body)

    def asks_stageflow(sf: Any) -> str | None:
        sf.StageOutput.ok({"a": 1})
        return None

    row = verify.probe("t.probe", None, asks_stageflow, stageflow_module())
    assert row is not None and row.status == "ERROR"
    assert "the feature probe of t.probe ran past 3 s" in row.detail
    assert f"in {body.__name__}" in row.detail


def test_a_deadlocking_graph_ends_a_reproducer_with_a_row_naming_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stageflow.pipeline.dag import UnifiedStageGraph

    from stageflow_verify.stateful.graph_findings import FINDINGS

    monkeypatch.setattr(UnifiedStageGraph, "run", _deadlock_async)
    finding = next(f for f in FINDINGS if f.applies(stageflow_module()) is None)
    row = verify.run_finding(finding, stageflow_module())
    assert row.status == "NEW" and "ran past 3 s of wall time" in row.detail
    assert "waits at" in row.detail and "in _deadlock_async" in row.detail, row.detail[-2000:]


@pytest.mark.parametrize(
    ("body", "names"),
    [(_spin_async, "in _spin_async"), (_spin_awaiting, "LivelockError"),
     (_deadlock_async, "DeadlockError")],
)  # fmt: skip
def test_a_hanging_bag_ends_a_model_checked_scenario_as_new(
    monkeypatch: pytest.MonkeyPatch, body: Any, names: str
) -> None:
    _plant_bag_write(monkeypatch, body)
    # Rendering a livelocked schedule of 10,000 steps takes no scheduler step either.
    monkeypatch.setattr(modelcheck, "STALL_SECONDS", 10.0)
    entry = next(e for e in modelcheck.scenarios() if e.name == "output_bag.2_writers")
    result = modelcheck.check_scenario(entry, bound=1, max_schedules=50)
    assert result.status == "NEW"
    first = result.report.violations[0].error
    assert names in f"{type(first).__name__}: {first}", first


def test_a_hanging_stage_output_fails_the_nightly_shard_with_a_record_naming_where(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _plant_stage_output_ok(monkeypatch, _spin_sync)
    monkeypatch.setenv(nightly_shard.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(nightly_shard.ENV_DEADLINE, str(time.time() + 60))
    (tmp_path / "progress").mkdir()
    with pytest.raises(Failed):
        nightly_shard.test_shard(_check("values.stage_output_factories"), 0)
    [record] = [json.loads(p.read_text().splitlines()[-1]) for p in tmp_path.glob("*/*.jsonl")]
    assert record["status"] == "failed" and "in _spin_sync" in record["detail"]


def test_pristine_stageflow_passes_the_same_sites(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (verify, modelcheck):  # the real budgets: a pristine run must never trip them
        monkeypatch.setattr(module, "STALL_SECONDS", watchdog.STALL_SECONDS)
    sf = stageflow_module()
    for name in ("bags.output_bag_linearizable", "values.stage_output_factories"):
        assert verify.run_check(_check(name), sf).status == "PASS"
    entry = next(e for e in modelcheck.scenarios() if e.name == "output_bag.2_writers")
    assert modelcheck.check_scenario(entry, bound=1, max_schedules=50).status == "PASS"
