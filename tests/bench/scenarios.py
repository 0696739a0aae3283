"""Racy scenarios for the detection benchmark, in the shape every tool accepts.

A :class:`Scenario` is fresh shared state (``setup``), two or more async workers that race on it,
and an ``invariant`` over the state once all workers are done. That is frontrun's interface;
:func:`as_main` turns it into the ``async def main()`` our scheduler, detangle and stock asyncio
run (gather the workers, then assert the invariant). This module needs only the standard
library and stageflow, because the peers run it from their own venv (``.venv-bench``).

Each race needs the scheduler to deviate from asyncio's FIFO order. ``*_staggered`` scenarios
let the second worker do a few awaits of unrelated work first, as real stages do, so the stock
order never exposes the race and repetition on a stock loop cannot find it; the ``lockstep``
counter is the control, whose race stock asyncio shows on its first run.

The OutputBag, ContextBag and spawn scenarios run *planted* racy versions (check and act split
by an await, registration after the child started), the bugs of ``tests/quality/mutants.py``.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

STAGGER = 3  # awaits of unrelated work before the second worker acts


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    setup: Callable[[], Any]
    workers: tuple[Callable[[Any], Awaitable[None]], ...]
    invariant: Callable[[Any], bool]


def as_main(scenario: Scenario) -> Callable[[], Coroutine[Any, Any, None]]:
    async def main() -> None:
        state = scenario.setup()
        await asyncio.gather(*(worker(state) for worker in scenario.workers))
        assert scenario.invariant(state), f"{scenario.name}: invariant broken"

    return main


async def _work(steps: int) -> None:
    for _ in range(steps):
        await asyncio.sleep(0)


def _staggered(act: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    async def later(state: Any) -> None:
        await _work(STAGGER)
        await act(state)

    return later


# -- check-then-act counter ------------------------------------------------------------------
@dataclass
class Counter:
    value: int = 0


async def increment(counter: Counter) -> None:
    seen = counter.value
    await asyncio.sleep(0)  # the race: read and write are split by an await
    counter.value = seen + 1


# -- OutputBag and ContextBag with check and act split by an await (planted) -------------------
@dataclass
class Bags:
    outputs: Any = None
    context: Any = None
    conflicts: int = 0
    stored: int = 0


async def racy_output_write(bag: Any, stage: str, output: Any) -> None:
    """OutputBag.write without its lock and with an await between check and act (planted)."""
    from stageflow.context.output_bag import OutputConflictError, OutputEntry, _utc_now

    existing = bag._entries.get(stage)
    if existing is not None:
        raise OutputConflictError(stage, existing.attempt)
    await asyncio.sleep(0)
    bag._entries[stage] = OutputEntry(output, 1, _utc_now(), stage)


async def racy_context_write(bag: Any, key: str, value: Any, stage: str) -> None:
    """ContextBag.write without its lock and with an await between check and act (planted)."""
    from stageflow.context.bag import DataConflictError

    if key in bag._data:
        raise DataConflictError(key, bag._writers.get(key, "?"), stage)
    await asyncio.sleep(0)
    bag._data[key] = value
    bag._writers[key] = stage


def _bags() -> Bags:
    import stageflow as sf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Bags(sf.context.OutputBag(), sf.context.ContextBag())


async def _write_output(state: Bags) -> None:
    import stageflow as sf

    try:
        await racy_output_write(state.outputs, "stage", sf.StageOutput.ok())
        state.stored += 1
    except sf.context.OutputConflictError:
        state.conflicts += 1


async def _write_context(state: Bags) -> None:
    import stageflow as sf

    try:
        await racy_context_write(state.context, "key", 1, f"stage-{state.stored}")
        state.stored += 1
    except sf.context.DataConflictError:
        state.conflicts += 1


def _one_winner(state: Bags) -> bool:
    return state.stored == 1 and state.conflicts == 1


# -- spawn vs cancel: the child starts before it is registered (planted) -------------------------
@dataclass
class Spawns:
    tracker: Any
    spawner: Any
    parent: Any
    started: list[Any] = field(default_factory=list)
    started_when_cancel_ended: list[Any] = field(default_factory=list)
    canceled: list[Any] = field(default_factory=list)


def _spawns() -> Spawns:
    import stageflow as sf
    from stageflow.pipeline.subpipeline import ChildRunTracker, SubpipelineSpawner

    tracker = ChildRunTracker()
    parent = sf.PipelineContext.create(pipeline_run_id=uuid4())
    return Spawns(tracker, SubpipelineSpawner(tracker, emit_events=False), parent)


async def _spawn_child(state: Spawns) -> None:
    child_id = uuid4()
    state.parent.fork(child_id, "stage", uuid4())
    state.started.append(child_id)  # the child's runner is running from here on
    await asyncio.sleep(0)  # planted: registration is not atomic with the start
    await state.tracker.register_child(state.parent.pipeline_run_id, child_id)
    await asyncio.sleep(0)  # the child's work


async def _cancel_parent(state: Spawns) -> None:
    state.canceled = await state.spawner.cancel_with_children(state.parent.pipeline_run_id)
    state.started_when_cancel_ended = list(state.started)


def _no_child_escapes(state: Spawns) -> bool:
    return all(child in state.canceled for child in state.started_when_cancel_ended)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("counter_lockstep", "two check-then-act increments, started together (control)",
             Counter, (increment, increment), lambda c: c.value == 2),
    Scenario("counter_staggered", f"check-then-act increments, the second after {STAGGER} awaits",
             Counter, (increment, _staggered(increment)), lambda c: c.value == 2),
    Scenario("output_bag_split", "two writes of one stage to a racy OutputBag, staggered",
             _bags, (_write_output, _staggered(_write_output)), _one_winner),
    Scenario("context_bag_split", "two writes of one key to a racy ContextBag, staggered",
             _bags, (_write_context, _staggered(_write_context)), _one_winner),
    Scenario("spawn_vs_cancel", "a child starts before it registers; the parent is cancelled",
             _spawns, (_spawn_child, _staggered(_cancel_parent)), _no_child_escapes),
)  # fmt: skip
