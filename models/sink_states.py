"""The states ``BackpressureAwareEventSink`` (events/sink.py) goes through as a user drives it:
started or not, stopped twice, emitted to before ``start``, bursts that overflow a small queue,
and a ``stop`` that must drain what a burst left queued. Where :mod:`models.backpressure_sink`
follows a timed stream event by event, this model reads the sink's own read paths after each
step has settled (one virtual second later): ``is_running``, ``queue_size``, ``metrics`` and
``metrics.to_dict()``, what the downstream received and what ``on_drop`` was told.

The rules, with the words they encode (``stageflow/events/sink.py`` docstrings and
docs/api/events.md):

- ``is_running``: "Check if the worker is running": True from ``start`` ("Start the background
  worker") until ``stop`` ("Stop the background worker"); a second ``start`` or ``stop`` changes
  nothing. An event emitted to a sink not started is still delivered: the sink is a sink
  (a reasonable expectation; ``emit``/``try_emit`` promise to emit, not to need ``start``).
- ``queue_size``: "Get current queue size": the events accepted and not yet taken for delivery.
- A burst of ``try_emit`` calls with no await between them: the queue takes up to
  ``max_queue_size`` ("dropping events when the queue is full", docs/api/events.md:55); each
  other call returns False, counts as dropped and is passed to ``on_drop`` (when one is given:
  "Configurable queue size and on-drop callbacks", :60).
- ``stop(drain=True)`` (the default): "process remaining events before stopping": every event
  accepted is delivered once. SF-LIFE-06 (adopted while it reproduces): the drain runs beside
  the worker and cancels the delivery the worker is making, so one accepted event may be lost.
  Once ``stop`` has returned the worker is not running ("Stop the background worker").
  SF-LIFE-09 (adopted while it reproduces): ``try_emit`` on a sink not started starts it in a
  task of its own, and a ``stop`` before that task runs finds nothing running and returns;
  the task then starts the sink, which runs on after the user stopped it.
- ``wait_for_event_sink_tasks()``: "Await any pending event sink emit tasks (used in tests)":
  with none pending (nothing in the package schedules one) it returns at once.
- ``BackpressureMetrics``: ``emitted`` counts accepted events, ``dropped`` and
  ``queue_full_count`` the drops, ``drop_rate`` "Calculate drop rate as percentage" (0.0 with
  nothing sent yet), ``to_dict`` the same numbers with ``drop_rate_percent`` rounded to 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stageflow_verify.models.backpressure_sink import DRAIN_CONCURRENT

BURST = 3  # try_emit calls in one burst
STOP_BEFORE_LAZY_START = "SF-LIFE-09"  # stop() on a sink try_emit is about to start: ignored


@dataclass(frozen=True)
class StatesPlan:
    small: bool  # max_queue_size=1 (else left out: 1000)
    on_drop: bool  # an on_drop callback is given
    steps: tuple[str, ...]  # start | stop | stop_nodrain | emit | try_emit | burst | burst_stop


def predict_states(plan: StatesPlan, deviations: frozenset[str]) -> tuple[tuple[Any, ...], ...]:
    """Per step: (is_running, queue_size, emitted, dropped, drop rate %, delivered count,
    on_drop calls); the lowest and highest count of deliveries allowed come as a pair."""
    running, emitted, dropped, delivered_low, delivered_high, told = False, 0, 0, 0, 0, 0
    seen: list[tuple[Any, ...]] = []
    for step in plan.steps:
        if step == "start":
            running = True
        elif step in ("stop", "stop_nodrain"):
            running = False  # everything accepted was delivered while the step before settled
        elif step in ("emit", "try_emit"):
            running, emitted = True, emitted + 1
            delivered_low, delivered_high = delivered_low + 1, delivered_high + 1
        else:  # a burst, then (burst_stop) stop() with its default drain at once
            taken = 1 if plan.small else BURST
            emitted, dropped = emitted + taken, dropped + BURST - taken
            told += (BURST - taken) if plan.on_drop else 0
            delivered_high += taken
            lost = 1 if step == "burst_stop" and DRAIN_CONCURRENT in deviations else 0
            delivered_low += taken - lost
            ignored = step == "burst_stop" and not running and STOP_BEFORE_LAZY_START in deviations
            running = step == "burst" or ignored
        total = emitted + dropped
        rate = round(dropped / total * 100.0, 2) if total else 0.0
        seen.append((running, 0, emitted, dropped, rate, (delivered_low, delivered_high), told))
    return tuple(seen)
