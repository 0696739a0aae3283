"""A thread finding's swimlane is searched for, not built in: a fixed Stageflow gets none.

Each thread finding (SF-THR-01..04, 06, 07) draws its interleaving with a controlled schedule
of real threads that shows the violation (``stateful/thread_schedules.py``). On pristine
Stageflow each search finds one, and the replayed trace ends the way the finding says. With
the fix its report proposes planted (inside the test only), no schedule within the bound shows
it, and the search says so (``NoViolatingSchedule``), which the bug report prints instead of a
picture. SF-THR-05 is drawn from its reproducer's own asyncio runs (no thread schedule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from stageflow_verify.core.sched.thread_locks import ControlledLock
from stageflow_verify.core.sched.trace import Trace
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.thread_schedules import (
    NoViolatingSchedule,
    context_lock_schedule,
    global_spawner_schedule,
    iteration_race_schedule,
    output_lock_schedule,
    spawner_lock_schedule,
    writer_lags_schedule,
)
from tests.quality.test_planted_threads import context_write_without_lock, write_without_lock

sf = stageflow_module()
sub = sf.pipeline.subpipeline
Schedule = Callable[[ModuleType], list[Trace]]


def to_dict_of_a_snapshot(self: Any) -> dict[str, Any]:
    entries = dict(self._entries)  # the fix: one C-level copy, then iterate the copy
    return {
        "entries": {name: entry.to_dict() for name, entry in entries.items()},
        "stage_count": len(entries),
        "total_attempts": sum(e.attempt for e in entries.values()),
    }


async def write_writer_first(self: Any, key: str, value: Any, stage_name: str) -> None:
    async with self._lock:  # the fix SF-THR-04 proposes: the writer is stored before the value
        if key in self._data:
            raise sf.context.DataConflictError(key, self._writers[key], stage_name)
        self._writers[key] = stage_name
        self._data[key] = value


class NeverWaits:
    """A lock nobody ever waits for (a spawner whose sections do not need one to be correct
    in this two-run scenario): there is no wait to lose."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def spawner_without_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The spawner's lock and the global tracker's two: SF-THR-06 covers a wait on any of them.
    for owner, names in ((sub.SubpipelineSpawner, ["_lock"]),
                         (sub.ChildRunTracker, ["_lock", "_metrics_lock"])):  # fmt: skip
        made = owner.__init__

        def init(self: Any, *args: Any, made: Any = made, names: Any = names, **kw: Any) -> None:
            made(self, *args, **kw)
            for name in names:
                setattr(self, name, NeverWaits())

        monkeypatch.setattr(owner, "__init__", init)
    yield


GLOBAL_LOCK = ControlledLock(name="global spawner lock")


def spawner_made_under_a_lock() -> Any:
    with GLOBAL_LOCK:  # the fix SF-THR-07 proposes (a threading.Lock, here the scheduler's)
        if sub._spawner is None:
            sub._spawner = sub.SubpipelineSpawner()
        return sub._spawner


PRISTINE: list[tuple[str, Schedule, str]] = [
    ("SF-THR-01", iteration_race_schedule, "changed size during iteration"),
    ("SF-THR-02", output_lock_schedule, "await acquire"),
    ("SF-THR-03", context_lock_schedule, "await acquire"),
    ("SF-THR-04", writer_lags_schedule, "T1 reader"),
    ("SF-THR-06", spawner_lock_schedule, "await acquire"),
    ("SF-THR-07", global_spawner_schedule, "T1 B"),
]


@pytest.mark.parametrize(("finding", "schedule", "shown"), PRISTINE, ids=[p[0] for p in PRISTINE])
def test_pristine_stageflow_has_a_schedule_that_shows_the_finding(
    finding: str, schedule: Schedule, shown: str
) -> None:
    [trace] = schedule(sf)
    outcomes = " ".join(f"{trace.lanes[s.lane]} {s.outcome}" for s in trace.steps)
    assert shown in outcomes, finding
    assert any(s.choice for s in trace.steps), f"{finding}: a schedule without a preemption"


def test_the_global_spawner_is_put_back_after_the_search() -> None:
    before = vars(sub)["_spawner"], vars(sub)["_child_tracker"]
    spawner_lock_schedule(sf)
    global_spawner_schedule(sf)
    assert (vars(sub)["_spawner"], vars(sub)["_child_tracker"]) == before


FIXED: list[tuple[str, Schedule, Any, str, Any]] = [
    ("SF-THR-01", iteration_race_schedule, sf.context.OutputBag, "to_dict", to_dict_of_a_snapshot),
    ("SF-THR-02", output_lock_schedule, sf.context.OutputBag, "write", write_without_lock),
    (
        "SF-THR-03",
        context_lock_schedule,
        sf.context.ContextBag,
        "write",
        context_write_without_lock,
    ),
    ("SF-THR-04", writer_lags_schedule, sf.context.ContextBag, "write", write_writer_first),
    (
        "SF-THR-07",
        global_spawner_schedule,
        sub,
        "get_subpipeline_spawner",
        spawner_made_under_a_lock,
    ),
]


@pytest.mark.parametrize(
    ("finding", "schedule", "owner", "name", "fix"), FIXED, ids=[f[0] for f in FIXED]
)
def test_a_fixed_stageflow_has_no_schedule_that_shows_it(
    monkeypatch: pytest.MonkeyPatch,
    finding: str,
    schedule: Schedule,
    owner: Any,
    name: str,
    fix: Any,
) -> None:
    monkeypatch.setattr(owner, name, fix)
    with pytest.raises(NoViolatingSchedule, match="no schedule shows it"):
        schedule(sf)


@pytest.mark.usefixtures("spawner_without_waits")
def test_a_spawner_whose_calls_never_wait_has_no_lost_wakeup_to_draw() -> None:
    with pytest.raises(NoViolatingSchedule, match="no schedule shows it"):
        spawner_lock_schedule(sf)
