"""Scheduler overhead: steps per second of the controlled loop against a stock asyncio loop.

The workload is the issue's: 1,000 tasks that each ``await asyncio.sleep(0)`` ten times (about
12,000 steps). The configurations run in interleaved rounds and each keeps its best CPU time
(process time): this box is shared, and a neighbour's burst then slows every configuration of
one round alike instead of one configuration of the whole run. The ratio is controlled / stock;
the target is <= 2x.

Two modes of the loop matter. *Exploring* is how every Hypothesis example but the last runs
(``detail=None`` resolves to terse there): lanes and choices only. *Drawing* is the final replay
whose swimlane is printed, and any run outside Hypothesis: each step also walks the task's
coroutine frames to say where it suspended. The Hypothesis chooser's own cost (a draw from the
test's choice sequence per decision) is measured apart, on a smaller workload, because its
draws per example are bounded. Then exhaustive mode: schedules per second on the planted
lost-update scenario, every schedule (124) of two staggered increments.

Nothing here asserts on time; it prints what it measured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from stageflow_verify.core.sched.choosers import (
    Chooser,
    HypothesisChooser,
    ReplayChooser,
    SeededChooser,
)
from stageflow_verify.core.sched.exhaustive import explore
from stageflow_verify.core.sched.scheduler import run

TASKS, AWAITS, ROUNDS = 1_000, 10, 9
TARGET = 2.0
# The loop's overhead is the row where it does exactly the stock loop's work, in its order.
OVERHEAD = "exploring, stock order"
_REMARKS = {
    "exploring, seeded random": "  (other work too: random resume order defeats CPU caches)",
}
Measure = Callable[[], float]


def _workload(tasks: int = TASKS) -> Callable[[], Coroutine[Any, Any, None]]:
    async def worker() -> None:
        for _ in range(AWAITS):
            await asyncio.sleep(0)

    async def workload() -> None:
        await asyncio.gather(*(worker() for _ in range(tasks)))

    return workload


def _stock(tasks: int = TASKS) -> Measure:
    def measure() -> float:
        loop = asyncio.new_event_loop()
        try:
            start = time.process_time()
            loop.run_until_complete(_workload(tasks)())
            return time.process_time() - start
        finally:
            loop.close()

    return measure


def _controlled(make: Callable[[], Chooser], detail: bool) -> Measure:
    def measure() -> float:
        start = time.process_time()
        run(_workload(), make(), max_steps=100_000, detail=detail)
        return time.process_time() - start

    return measure


def _hypothesis_chooser(tasks: int) -> Measure:
    """CPU time of one Hypothesis example running the workload, every decision a draw."""

    spent: list[float] = []

    @settings(
        max_examples=1,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def example(data: st.DataObject) -> None:
        start = time.process_time()
        run(_workload(tasks), HypothesisChooser(data), max_steps=100_000)
        spent.append(time.process_time() - start)

    def measure() -> float:
        spent.clear()
        example()
        return spent[0]

    return measure


def _best_of_rounds(configurations: dict[str, Measure]) -> dict[str, float]:
    best = dict.fromkeys(configurations, float("inf"))
    for _ in range(ROUNDS):
        for name, measure in configurations.items():
            best[name] = min(best[name], measure())
    return best


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
    steps = len(run(_workload(), max_steps=100_000, detail=False).trace.steps)
    best = _best_of_rounds(
        {
            "stock asyncio loop": _stock(),
            "exploring, stock order": _controlled(ReplayChooser, False),
            "exploring, seeded random": _controlled(lambda: SeededChooser(1), False),
            "drawing, stock order": _controlled(ReplayChooser, True),
            "drawing, seeded random": _controlled(lambda: SeededChooser(1), True),
        }
    )
    stock = best.pop("stock asyncio loop")
    print(f"workload: {TASKS} tasks x {AWAITS} awaits = {steps} steps; best CPU time of {ROUNDS}")
    print(f"  {'stock asyncio loop':<28}{steps / stock:>10,.0f} steps/s")
    for name, spent in best.items():
        verdict = _REMARKS.get(name, "")
        if name == OVERHEAD:
            verdict = (
                f"  (target <= {TARGET:g}x: {'met' if spent / stock <= TARGET else 'NOT met'})"
            )
        print(f"  {name:<28}{steps / spent:>10,.0f} steps/s  {spent / stock:.2f}x stock{verdict}")
    small = TASKS // 10
    drawn = _best_of_rounds({"stock": _stock(small), "hypothesis": _hypothesis_chooser(small)})
    small_steps = len(run(_workload(small), detail=False).trace.steps)
    ratio = drawn["hypothesis"] / drawn["stock"]
    print(
        f"Hypothesis chooser ({small} tasks, {small_steps} steps, a draw per decision): "
        f"{small_steps / drawn['hypothesis']:,.0f} steps/s, {ratio:.1f}x stock; "
        "the draw from the test's choice sequence dominates"
    )
    start = time.process_time()
    report = explore(_two_increments)
    spent = time.process_time() - start
    print(f"exhaustive: {report.summary()}")
    print(f"  {report.schedules_explored / spent:,.0f} schedules/s")


if __name__ == "__main__":
    main()
