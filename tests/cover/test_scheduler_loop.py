"""The controlled loop runs ordinary asyncio code unchanged, on virtual time, deterministically."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from stageflow_verify.core.sched.choosers import PCTChooser, ReplayChooser, SeededChooser
from stageflow_verify.core.sched.scheduler import DeterministicLoop, run


async def primitives_workout() -> list[str]:
    """Touch every primitive the issue lists; the result must not depend on the schedule."""
    log: list[str] = []
    lock, event, cond = asyncio.Lock(), asyncio.Event(), asyncio.Condition()
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    sem = asyncio.Semaphore(2)

    async def locked(i: int) -> None:
        async with lock, sem:
            await asyncio.sleep(0.1 * i)
            log.append(f"locked{i}")

    async def producer() -> None:
        for i in range(3):
            await queue.put(i)

    async def consumer() -> int:
        return sum([await queue.get() for _ in range(3)])

    async def notified() -> None:
        async with cond:
            await cond.wait_for(event.is_set)
            log.append("notified")

    async with asyncio.TaskGroup() as group:
        group.create_task(notified())
        for i in range(3):
            group.create_task(locked(i))
        total = group.create_task(consumer())
        group.create_task(producer())
        await asyncio.sleep(1)
        event.set()
        async with cond:
            cond.notify_all()
    done, pending = await asyncio.wait([asyncio.ensure_future(asyncio.sleep(5))], timeout=1)
    assert not done and len(pending) == 1
    for task in pending:
        task.cancel()
    fired = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(2, fired.set_result, "later")
    log.append(await fired)
    log.append(f"sum={total.result()}")
    return sorted(log)


EXPECTED = ["later", "locked0", "locked1", "locked2", "notified", "sum=3"]


@pytest.mark.parametrize("seed", range(20))
def test_primitives_behave_the_same_under_any_seeded_schedule(seed: int) -> None:
    assert run(primitives_workout, SeededChooser(seed)).value == EXPECTED


@pytest.mark.parametrize("seed", range(10))
def test_primitives_behave_the_same_under_pct(seed: int) -> None:
    assert run(primitives_workout, PCTChooser(seed, depth=3, steps=100)).value == EXPECTED


def test_same_choices_give_an_identical_trace_a_hundred_times() -> None:
    first = run(primitives_workout, SeededChooser(1234))
    for _ in range(100):
        again = run(primitives_workout, ReplayChooser(first.choices))
        assert again.trace == first.trace
        assert again.choices == first.choices


def test_wait_for_times_out_at_exactly_the_virtual_time_asked() -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.25)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=2.5)
        return loop.time(), asyncio.get_running_loop().time()

    assert run(main).value == (2.75, 2.75)


def test_long_sleeps_take_no_wall_time() -> None:
    async def main() -> float:
        for _ in range(1000):
            await asyncio.sleep(3600)  # a thousand hours of back-off
        return asyncio.get_running_loop().time()

    assert run(main).value == 3_600_000


def test_asyncio_timeout_expires_at_its_deadline() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.5):
                await asyncio.sleep(10)
        return loop.time()

    assert run(main).value == 1.5


def test_call_soon_callbacks_of_one_task_keep_their_order_under_any_schedule() -> None:
    async def main() -> list[int]:
        seen: list[int] = []
        loop = asyncio.get_running_loop()
        for i in range(5):
            loop.call_soon(seen.append, i)
        await asyncio.gather(*(asyncio.sleep(0) for _ in range(3)))
        return seen

    for seed in range(20):
        assert run(main, SeededChooser(seed)).value == [0, 1, 2, 3, 4]


def test_executor_calls_run_inline_and_deterministically() -> None:
    async def main() -> int:
        return await asyncio.to_thread(sum, [1, 2, 3])

    assert run(main).value == 6


def test_a_loop_can_serve_several_runs_and_number_tasks_across_them() -> None:
    async def named() -> str:
        task = asyncio.current_task()
        assert task is not None
        return task.get_name()

    loop = DeterministicLoop(SeededChooser(5))
    try:
        loop.run_until_complete(named())
        loop.run_until_complete(asyncio.ensure_future(named(), loop=loop))
    finally:
        loop.finish()
    assert list(loop.trace.lanes.values()) == ["T0 named", "T1 named"]
    assert loop.is_closed()


def _main_of(value: int) -> Callable[[], Coroutine[Any, Any, int]]:
    async def main() -> int:
        return value

    return main


def test_run_accepts_a_coroutine_or_a_function_making_one() -> None:
    assert run(_main_of(3)).value == 3
    assert run(_main_of(4)()).value == 4
