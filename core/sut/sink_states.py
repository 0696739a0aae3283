"""``BackpressureAwareEventSink`` driven step by step from a
:class:`~models.sink_states.StatesPlan` and read back, after each step has settled (one virtual
second), through every read path it has: ``is_running``, ``queue_size``, ``metrics`` and its
``to_dict()``, the downstream's deliveries and ``on_drop``'s calls.

For example::

    seen = run(lambda: play_states(plan), HypothesisChooser(data)).value
    seen == predict_states(plan, deviations)  # counted deliveries within the model's pair
"""

from __future__ import annotations

import asyncio
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.backpressure_sink import SINK_LOGGER
from stageflow_verify.models.sink_states import BURST, StatesPlan

sf = stageflow_module()
DELIVERY = 0.05  # virtual seconds per delivery: a step's settling second holds them all


class _Downstream:
    def __init__(self) -> None:
        self.got: list[str] = []

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        await asyncio.sleep(DELIVERY)
        self.got.append(type)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.got.append(type)


async def play_states(plan: StatesPlan) -> tuple[tuple[Any, ...], tuple[Any, ...], list[str]]:
    """(a fresh sink's metrics.to_dict(), then per step: is_running, queue_size, emitted,
    dropped, to_dict's drop_rate_percent, delivered so far, on_drop calls; and every event the
    downstream got, in order)."""
    # The sink logs every drop, start and stop; the metrics already say what happened.
    was = SINK_LOGGER.disabled
    SINK_LOGGER.disabled = True
    try:
        return await _play_states(plan)
    finally:
        SINK_LOGGER.disabled = was


async def _play_states(plan: StatesPlan) -> tuple[tuple[Any, ...], tuple[Any, ...], list[str]]:
    from stageflow.events.sink import BackpressureAwareEventSink

    down, told = _Downstream(), []
    kwargs: dict[str, Any] = {}
    if plan.small:
        kwargs["max_queue_size"] = 1
    if plan.on_drop:
        kwargs["on_drop"] = lambda type, data: told.append(type)
    sink = BackpressureAwareEventSink(down, **kwargs)
    fresh = tuple(sorted(sink.metrics.to_dict().items()))
    seen: list[tuple[Any, ...]] = []
    for n, step in enumerate(plan.steps):
        if step == "start":
            await sink.start()
        elif step == "stop":
            await sink.stop()
        elif step == "stop_nodrain":
            await sink.stop(drain=False)
        elif step == "emit":
            await sink.emit(type=f"e{n}", data={"n": n})
        elif step == "try_emit":
            sink.try_emit(type=f"e{n}", data={"n": n})
        else:
            for k in range(BURST):
                sink.try_emit(type=f"e{n}.{k}", data={"n": n})
            if step == "burst_stop":
                await sink.stop()
        await asyncio.sleep(1.0)
        m = sink.metrics
        counted = m.to_dict()
        if (counted["emitted"], counted["dropped"]) != (m.emitted, m.dropped):
            counted["drop_rate_percent"] = "to_dict disagrees with the metrics"
        seen.append(
            (sink.is_running, sink.queue_size, m.emitted, m.dropped,
             counted["drop_rate_percent"], len(down.got), len(told))
        )  # fmt: skip
    await sink.stop(drain=False)
    # "Await any pending event sink emit tasks": none is pending, so it returns at once.
    from stageflow.events.sink import wait_for_event_sink_tasks

    loop = asyncio.get_running_loop()
    start = loop.time()
    await wait_for_event_sink_tasks()
    waited = loop.time() - start
    return fresh, (*seen, ("wait_for_event_sink_tasks waited", waited)), down.got
