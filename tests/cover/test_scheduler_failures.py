"""The loop never hangs, never leaks, and every failure carries its schedule."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from stageflow_verify.core.sched.choosers import ReplayChooser, ReplayDivergedError
from stageflow_verify.core.sched.scheduler import (
    DeadlockError,
    DeterministicLoop,
    LivelockError,
    run,
)


async def two_locks_in_opposite_order() -> None:
    first, second = asyncio.Lock(), asyncio.Lock()

    async def take(a: asyncio.Lock, b: asyncio.Lock) -> None:
        async with a:
            await asyncio.sleep(0)
            async with b:
                pass

    await asyncio.gather(take(first, second), take(second, first))


def test_deadlock_is_reported_with_blocked_tasks_swimlane_and_replay() -> None:
    with pytest.raises(DeadlockError) as caught:
        run(two_locks_in_opposite_order)
    line = two_locks_in_opposite_order.__code__.co_firstlineno
    take, gather = line + 6, line + 9
    assert str(caught.value) == (
        "deadlock at step 5, t=0: no task can run, no timer is pending, and the awaited future"
        " is not done. Blocked:\n"
        f"  T0 two_locks_in_opposite_order at two_locks_in_opposite_order:{gather} await gather\n"
        f"  T1 take at take:{take} await acquire\n"
        f"  T2 take at take:{take} await acquire\n"
        "Some lock, event, queue or future is awaited that nothing is left to release; the"
        " swimlane shows how each task got there."
    )
    lane1, lane2 = " " * 42, " " * 72
    assert caught.value.__notes__ == [
        "\n".join(
            [
                "Schedule (one lane per task, one row per step):",
                f"step  pick  time  T0 two_locks_in_opposite_order{' ' * 12}T1 take{' ' * 23}"
                "T2 take",
                # A cell wider than 40 characters wraps in its column, nothing cut.
                f"0     -     0     start -> two_locks_in_opposite_order:{gather}",
                f"{' ' * 18}await gather",
                f"1     0/2   0     {lane1}start -> take:{take - 1} await sleep",
                f"2     0/2   0     {lane2}start -> take:{take - 1} await sleep",
                f"3     0/2   0     {lane1}take:{take} await acquire",
                f"4     -     0     {lane2}take:{take} await acquire",
                "Replay: run(main, ReplayChooser([]))",
            ]
        )
    ]


def test_step_budget_overrun_is_reported_as_livelock() -> None:
    async def spin() -> None:
        while True:
            await asyncio.sleep(0)

    with pytest.raises(LivelockError, match="step budget exhausted: 50 steps") as caught:
        run(spin, max_steps=50)
    assert len(caught.value.trace.steps) == 50
    assert "Replay: run(main, ReplayChooser([]))" in caught.value.__notes__[0]


def test_a_timer_loop_that_never_lets_main_finish_is_a_livelock_not_a_hang() -> None:
    async def poll_forever() -> None:
        while True:
            await asyncio.sleep(1)

    with pytest.raises(LivelockError):
        run(poll_forever, max_steps=200)


def test_leftover_tasks_are_cancelled_and_awaited_without_warnings() -> None:
    cleaned: list[str] = []

    async def background() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append("cleaned")

    async def main() -> None:
        started = [asyncio.create_task(background()) for _ in range(2)]
        await asyncio.sleep(0)
        assert not any(task.done() for task in started)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run(main)  # stock order: both start before main returns
        gc.collect()
    assert cleaned == ["cleaned", "cleaned"]
    assert result.unhandled == []


def test_leftover_tasks_are_cleaned_up_after_a_failure_too() -> None:
    cleaned: list[str] = []

    async def background() -> None:
        try:
            await asyncio.sleep(100)
        finally:
            cleaned.append("cleaned")

    async def main() -> None:
        started = asyncio.create_task(background())
        await asyncio.sleep(0)
        raise ValueError(f"boom, {started.get_name()} still running")

    with pytest.raises(ValueError, match="boom") as caught:
        run(main)
    assert cleaned == ["cleaned"]
    assert caught.value.__notes__[0].startswith("Schedule (one lane per task")


def test_unretrieved_task_exceptions_are_reported_not_lost() -> None:
    async def fails() -> None:
        raise KeyError("lost")

    async def main() -> None:
        started = asyncio.create_task(fails())
        await asyncio.sleep(0)
        assert started.done()

    assert run(main).unhandled == ["T1 fails: KeyError('lost')"]


def test_replaying_a_choice_that_no_longer_fits_says_the_scenario_changed() -> None:
    async def main() -> None:
        await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))

    with pytest.raises(ReplayDivergedError, match="replayed choice #0 is 7, but only 2"):
        run(main, ReplayChooser([7]))


def test_replay_chooser_parses_what_failures_print() -> None:
    assert ReplayChooser.parse("[0, 1, 0, 2]")._script == [0, 1, 0, 2]
    assert ReplayChooser.parse("0,1")._script == [0, 1]
    assert ReplayChooser.parse("[]")._script == []


def test_finish_is_idempotent_and_closes_the_loop() -> None:
    loop = DeterministicLoop()
    loop.finish()
    loop.finish()
    assert loop.is_closed()
