"""Faults are choices: replayable, shown in the swimlane, and shrunk away when not needed."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.sched.choosers import (
    HypothesisChooser,
    PCTChooser,
    ReplayChooser,
    SeededChooser,
)
from stageflow_verify.core.sched.exhaustive import explore
from stageflow_verify.core.sched.faults import FaultPlan
from stageflow_verify.core.sched.scheduler import DeterministicLoop, run
from stageflow_verify.core.sched.trace import render_swimlane


def _resolve(future: asyncio.Future[str], value: str) -> None:
    if not future.done():  # as asyncio's own primitives do: a fault may have failed it
        future.set_result(value)


async def fetch_with_retry() -> str:
    """Retry a flaky fetch with back-off; the back-off sleeps are virtual."""
    loop = asyncio.get_running_loop()
    for attempt in range(3):
        try:
            reply = loop.create_future()
            loop.call_later(1, _resolve, reply, "ok")
            return f"{await reply} after {attempt} retries at t={loop.time():g}"
        except ConnectionError:
            await asyncio.sleep(2**attempt)
    return "gave up"


def test_an_injected_exception_fails_the_awaited_operation_in_the_chosen_task() -> None:
    plan = FaultPlan(exceptions=(ConnectionError,), include_main=True)
    # Choice 1 at the first fault decision: T0's awaited reply fails with ConnectionError.
    result = run(fetch_with_retry, ReplayChooser([1]), faults=plan)
    assert result.value == "ok after 1 retries at t=2"
    faults = [s for s in result.trace.steps if s.kind == "fault"]
    assert [(s.number, s.outcome) for s in faults] == [
        (1, "raise ConnectionError in T0 fetch_with_retry")
    ]
    assert "!! raise ConnectionError in T0" in render_swimlane(result.trace)


def test_a_second_fault_can_fail_the_back_off_sleep_itself() -> None:
    plan = FaultPlan(exceptions=(ConnectionError,), include_main=True, max_faults=2)
    with pytest.raises(ConnectionError) as caught:
        run(fetch_with_retry, ReplayChooser([1, 0, 1]), faults=plan)
    assert "Replay: run(main, ReplayChooser([1, 0, 1]))" in caught.value.__notes__[0]


def test_max_faults_bounds_how_many_faults_fire() -> None:
    plan = FaultPlan(exceptions=(ConnectionError,), include_main=True, max_faults=2)
    loop = DeterministicLoop(SeededChooser(0, fault_rate=1.0), faults=plan)
    with pytest.raises(ConnectionError):
        loop.run_until_complete(fetch_with_retry())
    loop.finish()
    assert len([s for s in loop.trace.steps if s.kind == "fault"]) == 2


def test_cancel_fault_cancels_the_chosen_task() -> None:
    async def main() -> str:
        worker = asyncio.create_task(asyncio.sleep(10))
        try:
            await worker
        except asyncio.CancelledError:
            return "worker cancelled"
        return "worker finished"

    result = run(main, ReplayChooser([0, 1]), faults=FaultPlan(cancel=True))
    assert result.value == "worker cancelled"
    assert run(main, faults=FaultPlan(cancel=True)).value == "worker finished"


def test_expire_fault_fires_a_timeout_before_the_work_it_guards() -> None:
    async def main() -> str:
        async def work() -> str:
            for _ in range(3):
                await asyncio.sleep(0)
            return "done in time"

        try:
            return await asyncio.wait_for(work(), timeout=5)
        except TimeoutError:
            return f"timed out at t={asyncio.get_running_loop().time():g}"

    plan = FaultPlan(expire_timers=True)
    assert run(main, faults=plan).value == "done in time"
    assert run(main, ReplayChooser([0, 1]), faults=plan).value == "timed out at t=5"


def test_exhaustive_search_enumerates_every_fault_placement() -> None:
    plan = FaultPlan(exceptions=(ConnectionError,), include_main=True, max_faults=2)
    report = explore(fetch_with_retry, faults=plan)
    assert report.summary() == (
        "explored 5 schedules (complete, unbounded): 4 distinct outcomes, 2 violations; "
        "first: ReplayChooser([1, 0, 1])"
    )


def test_hypothesis_shrinks_faults_the_failure_does_not_need() -> None:
    async def two_fetching_increments() -> None:
        counter = Counter()

        async def fetch_then_increment() -> None:
            with contextlib.suppress(ConnectionError):  # gave up fetching: count anyway
                await fetch_with_retry()
            seen = counter.value
            await asyncio.sleep(0)
            counter.value = seen + 1

        await asyncio.gather(fetch_then_increment(), fetch_then_increment())
        assert counter.value == 2

    plan = FaultPlan(exceptions=(ConnectionError,), max_faults=3)

    @given(data=st.data())
    def lost_update_with_flaky_fetches(data: st.DataObject) -> None:
        run(two_fetching_increments, HypothesisChooser(data, fault_rate=0.5), faults=plan)

    with pytest.raises(AssertionError) as caught:
        lost_update_with_flaky_fetches()
    schedule = next(n for n in caught.value.__notes__ if n.startswith("Schedule"))
    assert "!!" not in schedule


class Counter:
    value = 0


@pytest.mark.parametrize(
    "chooser",
    [SeededChooser(3, fault_rate=1.0), PCTChooser(3, fault_rate=1.0)],
    ids=["seeded", "pct"],
)
def test_random_choosers_inject_faults_at_their_rate(chooser: SeededChooser | PCTChooser) -> None:
    plan = FaultPlan(exceptions=(ConnectionError,), include_main=True)
    assert run(fetch_with_retry, chooser, faults=plan).value == "ok after 1 retries at t=2"
