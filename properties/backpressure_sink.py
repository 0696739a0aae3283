"""``lifecycle.backpressure_sink``: BackpressureAwareEventSink against
:mod:`models.backpressure_sink`, on the deterministic loop, and SF-LIFE-06.

A plan has a queue of 1 to 3, 1 to 5 events arriving a quarter of a second apart or more (at
odd eighths) through ``try_emit`` or ``emit``, each delivered in a quarter, half or
three quarters of a second plus ``5**i`` microseconds (sometimes failing), and a ``stop`` with
or without drain a little after the last arrival: no arrival, delivery end or stop coincide,
and every drain fits well inside ``stop``'s 5 s timeout.

For example::

    run_backpressure_sink_law()  # raises with the shrunk plan and the swimlane
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import (
    Check,
    Finding,
    Severity,
    adopting_known,
    count_example,
    documented,
    expected,
    releases,
)
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.backpressure_sink import play_sink
from stageflow_verify.models.backpressure_sink import (
    DRAIN_CONCURRENT,
    DRAIN_FAILURE_ESCAPES,
    Arrival,
    SinkPlan,
    predict_sink,
)
from stageflow_verify.stateful.graph_machine import fine

CHECK = "lifecycle.backpressure_sink"


def applies(sf: ModuleType) -> str | None:
    spec = importlib.util.find_spec("stageflow.events.sink")
    if spec is None or not hasattr(importlib.import_module("stageflow.events.sink"),
                                   "BackpressureAwareEventSink"):  # fmt: skip
        return "this stageflow has no BackpressureAwareEventSink"
    return None


def _plan(size: int, hows: str, works: tuple[float, ...], fails: str, drain: bool) -> SinkPlan:
    arrivals = tuple(
        Arrival(0.125 + 0.25 * i, {"t": "try", "e": "emit"}[h], w + fine(i), f == "x")
        for i, (h, w, f) in enumerate(zip(hows, works, fails, strict=True))
    )
    return SinkPlan(size, arrivals, arrivals[-1].at + 0.175, drain)


# One plan at each rule's edge, drawn about one example in BOUNDARY_SHARE (the first one is
# Hypothesis's simplest draw, so ci's first example): a delivery in progress when stop() comes
# with nothing queued; a failing event queued behind it; a full queue that drops; an emit()
# that waits for room.
BOUNDARY = (
    _plan(1, "t", (0.75,), ".", True),
    _plan(2, "ttt", (0.75, 0.25, 0.25), ".x.", True),
    _plan(1, "ttt", (0.75, 0.25, 0.25), "...", False),
    _plan(1, "tte", (0.75, 0.25, 0.25), "...", True),
)
BOUNDARY_SHARE = 4


@st.composite
def plans(draw: st.DrawFn) -> SinkPlan:
    if draw(st.integers(0, BOUNDARY_SHARE - 1)) == 0:
        return draw(st.sampled_from(BOUNDARY))
    count = draw(st.integers(1, 5))
    arrivals, slot = [], 0
    for i in range(count):
        # Mostly back to back: deliveries then outlast arrivals, the queue fills and drops,
        # emit() waits, and stop() finds events still queued behind the one in delivery.
        slot += draw(st.sampled_from([0, 0, 1, 2])) if i else 0
        arrivals.append(
            Arrival(
                at=0.125 + 0.25 * slot,
                how=draw(st.sampled_from(["try", "emit"])),
                work=draw(st.sampled_from([0.25, 0.5, 0.75])) + fine(i),
                fails=draw(st.sampled_from([False, False, True])),
            )
        )
        slot += 1
    stop_at = arrivals[-1].at + draw(st.sampled_from([0.175, 0.675, 1.675]))
    return SinkPlan(draw(st.integers(1, 3)), tuple(arrivals), stop_at, draw(st.booleans()))


@given(plan=plans(), data=st.data())
def backpressure_sink_law(plan: SinkPlan, data: st.DataObject, active: frozenset[str]) -> None:
    count_example()
    seen = run(lambda: play_sink(plan), HypothesisChooser(data), max_steps=50_000).value
    expected = predict_sink(plan, active)
    assert seen == expected, (
        f"BackpressureAwareEventSink differs from the model for {plan}\n"
        f"  model:     {expected}\n  stageflow: {seen}\n  adopted: {sorted(active) or 'none'}"
    )


def drain_loses_the_event_in_delivery(sf: ModuleType) -> bool:
    from stageflow.events.sink import BackpressureAwareEventSink

    async def main() -> bool:
        taken, release = asyncio.Event(), asyncio.Event()
        delivered: list[str] = []

        class Downstream:
            async def emit(self, *, type: str, data: Any) -> None:
                taken.set()
                await release.wait()  # a delivery still in progress when stop() is called
                delivered.append(type)

            def try_emit(self, *, type: str, data: Any) -> None: ...

        sink = BackpressureAwareEventSink(Downstream(), max_queue_size=10)
        await sink.start()
        queued = sink.try_emit(type="e1", data=None)
        await taken.wait()
        stopping = asyncio.ensure_future(sink.stop(drain=True))
        await asyncio.sleep(0)  # stop() is under way
        release.set()  # the delivery could finish now
        await stopping
        await asyncio.sleep(0)
        return queued and delivered == []

    return asyncio.run(main())


def drain_failure_escapes_stop(sf: ModuleType) -> bool:
    from stageflow.events.sink import BackpressureAwareEventSink

    async def main() -> bool:
        delivered: list[str] = []

        class Downstream:
            async def emit(self, *, type: str, data: Any) -> None:
                if type == "e1":
                    raise ConnectionError("downstream down for e1")
                delivered.append(type)

            def try_emit(self, *, type: str, data: Any) -> None: ...

        sink = BackpressureAwareEventSink(Downstream(), max_queue_size=10)
        await sink.start()
        sink.try_emit(type="e1", data=None)  # both still queued: the worker has not run yet
        sink.try_emit(type="e2", data=None)
        try:
            await sink.stop(drain=True)
        except ConnectionError:
            return delivered == []  # stop() raised, and e2 was never delivered
        return False

    return asyncio.run(main())


FINDINGS = [
    Finding(
        DRAIN_CONCURRENT,
        "BackpressureAwareEventSink.stop(drain=True) cancels the event its worker is delivering",
        releases(),
        CHECK,
        "BackpressureAwareEventSink: 'Graceful shutdown with drain support'; stop(): 'drain: If "
        "True, process remaining events before stopping'; try_emit: 'True if event was queued'.",
        "stop() sets _running to False, drains only what is still queued (from that instant, "
        "beside the worker's delivery), then cancels the worker: an event the worker already "
        "took is cancelled mid-delivery whenever the drain ends first (at once when the queue "
        "is empty), so an accepted event is never delivered.",
        drain_loses_the_event_in_delivery,
        tags=("interleaving",),
        basis=documented(
            (
                "drain: If True, process remaining events before stopping.",
                "stageflow/events/sink.py:185",
            ),
            ("- Graceful shutdown with drain support", "stageflow/events/sink.py:121"),
        ),
        severity=Severity(
            "medium",
            "an event try_emit accepted is lost at every drained stop whose drain "
            "ends before the worker's delivery",
        ),
        fix="BackpressureAwareEventSink.stop (stageflow/events/sink.py:181): let the worker "
        "finish its current delivery (await it, or a sentinel in the queue) before cancelling.",
        applies=applies,
    ),
    Finding(
        DRAIN_FAILURE_ESCAPES,
        "A failed delivery while stop(drain=True) drains escapes stop(): the rest is never sent",
        releases(),
        CHECK,
        "Reasonable expectation: the worker logs a failed delivery and goes on ('Failed to emit "
        "event to downstream'); stop() promises 'Graceful shutdown with drain support' and "
        "'drain: If True, process remaining events before stopping'.",
        "_drain() catches only QueueEmpty and stop() only TimeoutError: the downstream's error "
        "leaves stop() half way, the events queued behind the failed one are never delivered "
        "and the worker task is never cancelled.",
        drain_failure_escapes_stop,
        basis=expected(
            "The worker logs a failed delivery and goes on; the drain that stop() runs should "
            "do the same, so that one failed event does not cost the rest of the queue and "
            "leave the worker running.",
            (
                "drain: If True, process remaining events before stopping.",
                "stageflow/events/sink.py:185",
            ),
        ),
        severity=Severity(
            "medium",
            "needs a downstream that fails during shutdown; then the queue's rest is "
            "lost and the worker task leaks",
        ),
        fix="BackpressureAwareEventSink._drain (stageflow/events/sink.py:213): catch and log a "
        "delivery failure per event, as the worker does, and cancel the worker in a finally.",
        applies=applies,
    ),
]

run_backpressure_sink_law = adopting_known(backpressure_sink_law, lambda: FINDINGS)

CHECKS = [
    Check(
        name=CHECK,
        run=run_backpressure_sink_law,
        summary="BackpressureAwareEventSink: drops, blocking emit, worker, stop with drain",
        applies=applies,
    ),
]
