"""A graph run is a function of its schedule: the same choices offer the same lanes every time.

Nightly, ``graphs.run_dag`` (issue 19): Hypothesis stopped with ``FlakyStrategyDefinition:
Inconsistent data generation`` raised from ``HypothesisChooser.choose``: replaying the same
choices offered other lanes. Stageflow's DAG keeps its stage tasks in a set and walks it
(``for task in done``, ``for t in active_tasks: t.cancel()``, stageflow/pipeline/dag.py:506-601);
a stock task hashes by its address, so the walk's order, and with it which task's step is
queued first, changed with whatever the process had allocated. The harness now numbers tasks
(:mod:`core.sched.task_order`). This graph (a spawning stage, transient errors under a
RetryInterceptor) showed two or three different decision sequences in six runs before.

The one clock a graph run still read from the wall, the circuit breaker's ``time.time()``, now
stands still while a graph runs (``core.sut.graphs.quiet``).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

from pytest import MonkeyPatch

from stageflow_verify.core.sched.choosers import SCHEDULE, ReplayChooser, SeededChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.graphs import LINGER, GraphHarness, features, quiet
from stageflow_verify.models.graph_run import Config, Graph, StageDesc

GRAPH = Graph(
    (
        StageDesc("a", (), "spawn", 1.000001),
        StageDesc("b", ("a",), "ok", 1.000005),
        StageDesc("c", (), "transient", 1.000025, 1),
        StageDesc("d", (), "transient", 2.000125, 2),
        StageDesc("e", (), "transient", 1.000625, 2),
    ),
    None,
    Config("retry", 2, 500, 5000),
)
BREAKER = Config("default", 2, 250, None)  # the default stack: a circuit breaker


class Recording(SeededChooser):
    """A seeded chooser that also records the lanes offered at every decision."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.offered: list[tuple[int, tuple[int, ...]]] = []

    def choose(self, n: int, kind: str = SCHEDULE, keys: Sequence[int] = ()) -> int:
        self.offered.append((n, tuple(keys)))
        return super().choose(n, kind, keys)


def _decisions(junk: int) -> list[list[tuple[int, tuple[int, ...]]]]:
    # Three runs of one built graph, as the machine's rules make them; ``junk`` moves the
    # addresses the run's objects get, as earlier examples of a Hypothesis run do.
    kept = [bytearray(100 + 37 * i % 300) for i in range(junk)]
    harness = GraphHarness(GRAPH)
    offered = []
    for i in range(3):
        chooser = Recording(seed=1 + i)

        async def main(label: str = f"r{i}") -> None:
            await harness.run(label, "main")
            await asyncio.sleep(LINGER)

        with quiet():
            run(main, chooser, max_steps=40_000)
        offered.append(chooser.offered)
    del kept
    return offered


def test_the_same_choices_offer_the_same_lanes() -> None:
    if not features().retry:
        return  # 0.5.1 builds no RetryInterceptor; the graph machine draws none there
    first = _decisions(0)
    for junk in (1, 7, 40, 120, 300):
        assert _decisions(junk) == first, f"the lanes offered changed (junk={junk})"


def test_the_breaker_does_not_half_open_on_a_slow_machine(monkeypatch: MonkeyPatch) -> None:
    # CircuitBreakerInterceptor half-opens 30 s of time.time() after its last failure
    # (stageflow/pipeline/interceptors.py:296-299). On a wall clock, a loaded machine's slow
    # example half-opened it where a fast replay of the same choices did not; here the wall
    # clock jumps 100 s per read outside the runs, and the breaker must stay open.
    if not features().interceptors:
        return  # 0.5.1's graph runs no interceptors: no breaker
    jumps = itertools.count(2_000_000_000, 100)
    monkeypatch.setattr(time, "time", lambda: float(next(jumps)))
    harness = GraphHarness(Graph((StageDesc("a", (), "raise", 1.000001),), None, BREAKER))

    def one(label: str) -> None:
        with quiet():
            run(lambda: harness.run(label, "main"), ReplayChooser(), max_steps=5_000)
        time.time()  # wall time passes between runs

    for i in range(1, 4):
        one(f"r{i}")  # a raising stage counts twice (on_error, after): open after three runs
    assert harness.breaker() == {"a": 6}
    one("r4")
    assert harness.attempts["r4"] == []  # open: the fourth run never ran the stage


def test_the_deterministic_loop_numbers_every_task_it_creates() -> None:
    # Any harness on the loop gets a set of tasks that iterates by creation order, so code
    # under test that walks such a set (Stageflow's DAG, its legacy StageGraph) replays alike.
    async def main() -> list[int]:
        async def idle() -> None:
            await asyncio.sleep(0)

        tasks = [asyncio.ensure_future(idle()) for _ in range(5)]
        order = [hash(t) for t in set(tasks)]
        await asyncio.gather(*tasks)
        return order

    first = run(main, ReplayChooser([])).value
    assert first == sorted(first) and first == run(main, ReplayChooser([])).value
