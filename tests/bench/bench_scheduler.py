"""Scheduler overhead: steps per second of the controlled loop against a stock asyncio loop.

The workload is the issue's: 1,000 tasks that each ``await asyncio.sleep(0)`` ten times (about
12,000 steps). Each configuration runs a few times and the best CPU time counts (process time,
so other work on a shared machine inflates it less than wall time would). The ratio is
controlled / stock; the target is <= 2x. Then exhaustive mode: schedules per second on the
planted lost-update scenario, every schedule (124) of two staggered increments.

Nothing here asserts on time; it prints what it measured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from core.choosers import Chooser, ReplayChooser, SeededChooser
from core.exhaustive import explore
from core.scheduler import run

TASKS, AWAITS, REPEATS = 1_000, 10, 5


async def _worker() -> None:
    for _ in range(AWAITS):
        await asyncio.sleep(0)


async def _workload() -> None:
    await asyncio.gather(*(_worker() for _ in range(TASKS)))


def _best(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(REPEATS))


def _stock() -> float:
    loop = asyncio.new_event_loop()
    try:
        start = time.process_time()
        loop.run_until_complete(_workload())
        return time.process_time() - start
    finally:
        loop.close()


def _controlled(make: Callable[[], Chooser], detail: bool) -> Callable[[], float]:
    def measure() -> float:
        start = time.process_time()
        run(_workload, make(), max_steps=100_000, detail=detail)
        return time.process_time() - start

    return measure


async def _two_increments() -> int:
    value = 0

    async def increment() -> None:
        nonlocal value
        seen = value
        await asyncio.sleep(0)
        value = seen + 1

    tasks = []
    for _ in range(2):
        tasks.append(asyncio.create_task(increment()))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return value


def main() -> None:
    steps = len(run(_workload, max_steps=100_000).trace.steps)
    stock = _best(_stock)
    print(f"workload: {TASKS} tasks x {AWAITS} awaits = {steps} steps, best of {REPEATS} (CPU s)")
    print(f"  stock asyncio loop            {steps / stock:>10,.0f} steps/s")
    configurations: list[tuple[str, Callable[[], Chooser], bool]] = [
        ("controlled, stock order       ", ReplayChooser, True),
        ("controlled, stock order, terse", ReplayChooser, False),
        ("controlled, seeded random     ", lambda: SeededChooser(1), True),
        ("controlled, seeded, terse     ", lambda: SeededChooser(1), False),
    ]
    for name, make, detail in configurations:
        spent = _best(_controlled(make, detail))
        print(f"  {name}{steps / spent:>10,.0f} steps/s  overhead {spent / stock:.2f}x stock")
    start = time.process_time()
    report = explore(_two_increments)
    spent = time.process_time() - start
    print(f"exhaustive: {report.summary()}")
    print(f"  {report.schedules_explored / spent:,.0f} schedules/s")


if __name__ == "__main__":
    main()
