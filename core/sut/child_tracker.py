"""A real ``ChildRunTracker``, called one method at a time, observed as plain data.

The tracker's methods are coroutines guarded by ``asyncio.Lock``; called one at a time, an
uncontended lock never suspends, so each call is driven to its end by hand, with no event loop
(a call that suspends would be a concurrency question, which the subpipeline machine asks).
Run ids are the model's names mapped to fixed UUIDs.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any
from uuid import UUID

from . import HarnessError, stageflow_module

RUNS = ("r0", "r1", "r2", "r3", "r4")
_IDS = {name: UUID(int=0x7000 + n) for n, name in enumerate(RUNS)}
_NAMES = {uuid: name for name, uuid in _IDS.items()}


def uid(name: str) -> UUID:
    return _IDS[name]


def name_of(value: Any) -> Any:
    return _NAMES.get(value, repr(value))


def call(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """The coroutine's result; it must finish without suspending (no one else holds its lock)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise HarnessError(
        "a ChildRunTracker call suspended with no other caller; this driver steps its calls "
        "synchronously and cannot drive a tracker that awaits"
    )


def new_tracker() -> Any:
    return stageflow_module().pipeline.subpipeline.ChildRunTracker()


def names(runs: Any) -> list[str]:
    return sorted(name_of(r) for r in runs)


def global_tracker_round_trip() -> list[str]:
    """What set/get/clear_child_tracker do to the process-wide tracker, restored afterwards:
    problems found, as sentences (empty: get returns what set put, clear makes get build one
    fresh tracker and keep it)."""
    sub = stageflow_module().pipeline.subpipeline
    original = sub.get_child_tracker()
    problems = []
    try:
        if sub.get_child_tracker() is not original:
            problems.append("get_child_tracker() returned a new tracker on a second call")
        mine = sub.ChildRunTracker()
        sub.set_child_tracker(mine)
        if sub.get_child_tracker() is not mine:
            problems.append("get_child_tracker() is not the tracker set_child_tracker() set")
        sub.clear_child_tracker()
        fresh = sub.get_child_tracker()
        if fresh is mine or sub.get_child_tracker() is not fresh:
            problems.append("after clear_child_tracker(), get_child_tracker() is not one fresh one")
    finally:
        sub.set_child_tracker(original)
    return problems
