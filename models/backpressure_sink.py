"""What ``BackpressureAwareEventSink`` (events/sink.py) must do with a timed stream of events, as
a pure simulation in virtual time.

A :class:`SinkPlan` is plain data: a bounded queue's size, events arriving at given instants
through ``try_emit`` (never blocks: dropped when the queue is full) or ``emit`` (waits for
room), how long the downstream sink takes to deliver each, and when ``stop`` is called, with
or without ``drain``. :func:`predict_sink` says what the downstream receives and when, what
each ``try_emit`` returned, the metrics and when ``stop`` returned. The rules quote the class:

- "Bounded queue with backpressure handling": ``try_emit`` returns "True if event was queued,
  False if dropped due to backpressure"; the queue holds at most ``max_queue_size`` events
  not yet taken by the worker; ``emit`` is "blocking if queue is full" and is served in
  arrival order as room frees.
- "Background worker processes events asynchronously": one worker takes the oldest queued
  event the instant it is free and delivers it; a downstream error is logged and the worker
  goes on ("Failed to emit event to downstream").
- "Graceful shutdown with drain support"; ``stop``: "drain: If True, process remaining events
  before stopping": every event accepted before ``stop`` is delivered, the one the worker is
  delivering included, one at a time in queue order, and ``stop`` returns after the last.
  Without drain, the event in delivery is cancelled and the queued ones are not delivered.
- ``BackpressureMetrics``: ``emitted`` counts queued events, ``dropped`` and
  ``queue_full_count`` the drops, ``drop_rate_percent`` their share (rounded to 2 places).

SF-LIFE-06 (adopted while it reproduces): ``stop(drain=True)`` drains the queue beside the
worker, not after it: the queued events are delivered from the instant ``stop`` is called,
concurrently with the event in delivery, and when the drain ends first the worker (and the
delivery it was making) is cancelled, so that accepted event is never delivered.

A failed delivery is logged and the worker goes on, and a user expects the drain to do the
same (a reasonable expectation: the class promises graceful shutdown). SF-LIFE-07 (adopted
while it reproduces): the drain does not catch it, so ``stop`` raises the downstream's error,
the rest of the queue is never delivered and the worker is not cancelled.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from stageflow_verify.models.graph_run import t7

DRAIN_CONCURRENT = "SF-LIFE-06"
DRAIN_FAILURE_ESCAPES = "SF-LIFE-07"


@dataclass(frozen=True)
class Arrival:
    at: float
    how: str  # "try" (try_emit) or "emit"
    work: float  # how long the downstream takes to deliver it
    fails: bool  # the downstream raises at the end of its work


@dataclass(frozen=True)
class SinkPlan:
    size: int
    arrivals: tuple[Arrival, ...]  # in time order, all before stop_at
    stop_at: float
    drain: bool


@dataclass(frozen=True)
class SinkObservation:
    delivered: tuple[tuple[int, float, float], ...]  # (event index, start, end), by end
    accepted: tuple[bool | None, ...]  # try_emit's answer per arrival (None for emit)
    metrics: tuple[int, int, int, float]  # emitted, dropped, queue_full_count, drop rate %
    dropped_seen: tuple[int, ...]  # indexes on_drop was called with
    stopped: float  # when stop() returned
    stop_raised: str | None  # the event whose failed delivery stop() raised, if it did


def predict_sink(plan: SinkPlan, deviations: frozenset[str]) -> SinkObservation:
    queue: deque[int] = deque()
    putters: deque[int] = deque()  # emit() callers waiting for room
    accepted: list[bool | None] = [None] * len(plan.arrivals)
    delivered: list[tuple[int, float, float]] = []
    dropped: list[int] = []
    emitted = 0
    busy: tuple[int, float] | None = None  # (event, start) in delivery by the worker

    def finish(index: int, start: float, end: float) -> None:
        if not plan.arrivals[index].fails:
            delivered.append((index, t7(start), t7(end)))

    def take(now: float) -> None:
        nonlocal busy, emitted
        if busy is None and queue:
            busy = (queue.popleft(), now)
            if putters:  # the freed slot goes to the oldest waiting emit()
                queue.append(putters.popleft())
                emitted += 1

    # Events in time: arrivals and the worker's deliveries, up to stop.
    for index, arrival in enumerate(plan.arrivals):
        while busy is not None and busy[1] + plan.arrivals[busy[0]].work < arrival.at:
            end = busy[1] + plan.arrivals[busy[0]].work
            finish(busy[0], busy[1], end)
            busy = None
            take(end)
        if len(queue) < plan.size:
            queue.append(index)
            emitted += 1
            accepted[index] = True if arrival.how == "try" else None
        elif arrival.how == "try":
            accepted[index] = False
            dropped.append(index)
        else:
            putters.append(index)
        take(arrival.at)
    while busy is not None and busy[1] + plan.arrivals[busy[0]].work < plan.stop_at:
        end = busy[1] + plan.arrivals[busy[0]].work
        finish(busy[0], busy[1], end)
        busy = None
        take(end)
    stop, raised = plan.stop_at, None
    escapes = DRAIN_FAILURE_ESCAPES in deviations

    def drain(end: float) -> float:
        """Deliver the queue one by one from ``end``; returns when the drain ended."""
        nonlocal emitted, raised
        while queue:
            index = queue.popleft()
            if putters:
                queue.append(putters.popleft())
                emitted += 1
            finish(index, end, end + plan.arrivals[index].work)
            end += plan.arrivals[index].work
            if plan.arrivals[index].fails and escapes:
                raised = f"e{index}"  # SF-LIFE-07: stop() raises here, the rest stays queued
                break
        return end

    if not plan.drain:
        end = stop  # the delivery in progress is cancelled, the queue left undelivered
    elif DRAIN_CONCURRENT in deviations:
        end = drain(stop)  # from `stop` on, beside the worker's delivery
        if busy is not None and (
            raised is not None or busy[1] + plan.arrivals[busy[0]].work <= end
        ):  # finished first, or never cancelled (stop raised before it cancels the worker)
            finish(busy[0], busy[1], busy[1] + plan.arrivals[busy[0]].work)
        # else: the worker is cancelled when the drain ends, its delivery with it
    else:
        end = stop
        if busy is not None:
            end = busy[1] + plan.arrivals[busy[0]].work
            finish(busy[0], busy[1], end)
        end = drain(end)
    total = emitted + len(dropped)
    rate = round(len(dropped) / total * 100, 2) if total else 0.0
    return SinkObservation(
        tuple(sorted(delivered, key=lambda d: (d[2], d[0]))),
        tuple(accepted),
        (emitted, len(dropped), len(dropped), rate),
        tuple(dropped),
        t7(end),
        raised,
    )
