"""``BackpressureAwareEventSink`` fed a :class:`~models.backpressure_sink.SinkPlan` on the
suite's deterministic loop, observed as :mod:`models.backpressure_sink` predicts.

Each arrival is its own task, sleeping until its instant, then calling ``try_emit`` or
``emit``; the downstream sink takes the planned virtual time per event (and raises when
planned). ``stop`` is called at its instant. The metrics' ``last_emit_time`` and
``last_drop_time`` read ``time.monotonic()`` and are left out; an ``emit()`` still waiting for
room when the run ends is cancelled by the scheduler's clean-up.

For example::

    seen = run(lambda: play_sink(plan), HypothesisChooser(data)).value
    seen == predict_sink(plan, deviations)  # while Stageflow keeps its promises
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from stageflow_verify.core.sut import HarnessError
from stageflow_verify.models.backpressure_sink import SinkObservation, SinkPlan
from stageflow_verify.models.graph_run import t7

# The sink logs every drop and downstream failure (planned here); the report says what
# happened, so the logger is disabled while a plan plays (a disabled logger builds no record).
SINK_LOGGER = logging.getLogger("stageflow.events.backpressure")


class DownstreamFailure(RuntimeError):
    """What the downstream raises for an event planned to fail."""


async def play_sink(plan: SinkPlan) -> SinkObservation:
    was = SINK_LOGGER.disabled
    SINK_LOGGER.disabled = True
    try:
        return await _play(plan)
    finally:
        SINK_LOGGER.disabled = was


async def _play(plan: SinkPlan) -> SinkObservation:
    from stageflow.events.sink import BackpressureAwareEventSink

    loop = asyncio.get_running_loop()
    delivered: list[tuple[int, float, float]] = []
    dropped: list[int] = []
    accepted: list[bool | None] = [None] * len(plan.arrivals)

    class Downstream:
        async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
            index = int(type.removeprefix("e"))
            start = loop.time()
            await asyncio.sleep(plan.arrivals[index].work)
            if plan.arrivals[index].fails:
                raise DownstreamFailure(type)
            delivered.append((index, t7(start), t7(loop.time())))

        def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
            # Our driver times deliveries through emit(); a worker using try_emit() is a
            # Stageflow this harness cannot drive, not a Stageflow bug.
            raise HarnessError("the worker delivered with try_emit(); this harness times emit()")

    sink = BackpressureAwareEventSink(
        Downstream(),
        max_queue_size=plan.size,
        on_drop=lambda type, data: dropped.append(int(type.removeprefix("e"))),
    )
    await sink.start()

    async def arrive(index: int) -> None:
        arrival = plan.arrivals[index]
        await asyncio.sleep(arrival.at)
        if arrival.how == "try":
            accepted[index] = sink.try_emit(type=f"e{index}", data=None)
        else:
            await sink.emit(type=f"e{index}", data=None)

    producers = [asyncio.ensure_future(arrive(i)) for i in range(len(plan.arrivals))]
    await asyncio.sleep(plan.stop_at)
    stop_raised = None
    try:
        await sink.stop(drain=plan.drain, timeout=5.0)
    except DownstreamFailure as exc:
        stop_raised = str(exc)
    stopped = t7(loop.time())
    await asyncio.sleep(10.0)  # what still works after stop() returned shows up late
    for producer in producers:
        producer.cancel()
    metrics = sink.metrics.to_dict()
    return SinkObservation(
        tuple(sorted(delivered, key=lambda d: (d[2], d[0]))),
        tuple(accepted),
        (
            metrics["emitted"],
            metrics["dropped"],
            metrics["queue_full_count"],
            metrics["drop_rate_percent"],
        ),
        tuple(dropped),
        stopped,
        stop_raised,
    )
