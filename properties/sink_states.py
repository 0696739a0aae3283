"""``lifecycle.sink_states``: ``BackpressureAwareEventSink`` as a user drives it (started or not,
stopped twice, emitted to before ``start``, bursts overflowing a small queue, a ``stop`` that
must drain a burst), read back through its every read path after each step, against
:mod:`models.sink_states`, on the deterministic loop.

For example::

    run_sink_states_law()  # raises with the shrunk plan and the first step that differs
"""

from __future__ import annotations

import asyncio
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import (
    Check,
    Finding,
    Severity,
    adopting_known,
    count_example,
    expected,
    releases,
)
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.core.sut.sink_states import play_states
from stageflow_verify.models.sink_states import STOP_BEFORE_LAZY_START, StatesPlan, predict_states
from stageflow_verify.properties.backpressure_sink import FINDINGS as SINK_FINDINGS
from stageflow_verify.properties.backpressure_sink import applies

CHECK = "lifecycle.sink_states"
STEPS = ("start", "stop", "stop_nodrain", "emit", "try_emit", "burst", "burst_stop")
FRESH = (
    ("drop_rate_percent", 0.0), ("dropped", 0), ("emitted", 0),
    ("last_drop_time", 0.0), ("last_emit_time", 0.0), ("queue_full_count", 0),
)  # fmt: skip


@given(
    plan=st.builds(
        StatesPlan,
        st.booleans(),
        st.booleans(),
        st.lists(st.sampled_from(STEPS), min_size=1, max_size=6).map(tuple),
    ),
    data=st.data(),
)
def sink_states_law(plan: StatesPlan, data: st.DataObject, active: frozenset[str]) -> None:
    count_example()
    with quiet():  # the sink logs its start, stop and every drop
        fresh, seen, got = run(lambda: play_states(plan), HypothesisChooser(data)).value
    assert fresh == FRESH, f"a fresh sink's metrics.to_dict() is {fresh}, not all zero"
    assert len(set(got)) == len(got), f"an event was delivered twice for {plan}: {got}"
    assert seen[-1] == ("wait_for_event_sink_tasks waited", 0.0), seen[-1]
    seen = seen[:-1]
    for n, (mine, theirs) in enumerate(zip(predict_states(plan, active), seen, strict=True)):
        low, high = mine[5]
        delivered_ok = low <= theirs[5] <= high
        assert mine[:5] + mine[6:] == theirs[:5] + theirs[6:] and delivered_ok, (
            f"after step {n} ({plan.steps[n]}) of {plan} the sink differs from the model\n"
            "  (is_running, queue_size, emitted, dropped, drop %, delivered, on_drop calls)\n"
            f"  model:     {mine!r}\n  stageflow: {theirs!r}\n"
            f"  adopted: {sorted(active) or 'none'}"
        )


def sink_runs_after_stop(sf: ModuleType) -> bool:
    from stageflow.events.sink import BackpressureAwareEventSink

    async def main() -> bool:
        sink = BackpressureAwareEventSink(sf.NoOpEventSink())
        sink.try_emit(type="first.event", data=None)  # starts the sink in a task of its own
        await sink.stop()
        await asyncio.sleep(0)  # any task already scheduled runs
        running = sink.is_running
        if running:
            await sink.stop(drain=False)  # end the worker the first stop() left behind
        return running

    return asyncio.run(main())


FINDINGS = [
    Finding(
        STOP_BEFORE_LAZY_START,
        "BackpressureAwareEventSink.stop() right after the first try_emit is ignored: the "
        "sink starts afterwards and keeps running",
        releases(),
        CHECK,
        "Reasonable expectation: once `await sink.stop()` has returned no worker runs; stop() "
        "says 'Stop the background worker', and is_running 'Check if the worker is running'.",
        "try_emit on a sink that is not running schedules start() in a new task and queues the "
        "event; stop() then sees _running False and returns at once; the task runs next and "
        "starts the worker, which delivers the event and keeps running (is_running is True) "
        "until a second stop().",
        sink_runs_after_stop,
        basis=expected(
            "A service that emits one event and shuts its sink down (a short job, a test, a "
            "worker restarting) leaves a background worker polling its queue forever, and "
            "is_running says True after the stop that returned: the lazy start try_emit "
            "chose to make outlives the shutdown the user asked for.",
            ('"""Stop the background worker.', "stageflow/events/sink.py:182"),
        ),
        severity=Severity(
            "low",
            "only a sink used without start() and stopped before its first event was taken; "
            "the docs' examples always call start() first",
        ),
        fix="BackpressureAwareEventSink.try_emit/stop (stageflow/events/sink.py:257, 188): "
        "start synchronously (set _running and create the worker task in try_emit), or keep "
        "the start task and cancel or await it in stop().",
        applies=applies,
    ),
]


def run_sink_states_law() -> None:
    adopting_known(sink_states_law, lambda: [*SINK_FINDINGS, *FINDINGS])()


CHECKS = [
    Check(
        name=CHECK,
        run=run_sink_states_law,
        summary="BackpressureAwareEventSink's states and read paths as a user drives it",
        applies=applies,
    ),
]
