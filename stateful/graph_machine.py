"""``GraphRunComparison``: one built Stageflow graph, run again and again, against the model.

Each example draws a small DAG (2 to 6 stages, random dependencies), a behaviour per stage (ok,
fail, raise, a transient error n times, ``StageOutput.retry()`` n times, slower than the
timeout, spawn a child pipeline, mutate what it received, a guard with a guard-retry policy) and
an interceptor stack (defaults, defaults + RetryInterceptor, TimeoutInterceptor alone, or none
of the three), and builds the graph once. Only what the Stageflow under test can build is drawn
(``core.sut.graphs.features``): 0.5.1's graph runs no interceptors, so there every graph has the
configuration ``none``, no stage is ``slow`` (nothing would time it out) and no guard has a
guard-retry policy (0.5.1 has none). About one example in six is instead a canonical graph at an
attempt budget's edge (:func:`boundary_graphs`: a retry budget spent exactly or passed on its
last attempt, a guard passing on its last allowed attempt or one later), the first of them being
the first example ``ci`` tries; random graphs lean toward those edges too (:func:`around`).
Rules run it under the deterministic scheduler with virtual time: one run; two runs at once (the
second with the same or an all-ok script); a run cancelled from outside, or by ``wait_for``, at
a chosen instant. After every run the rule compares the whole
:class:`~models.graph_run.RunObservation` with the model (outcome, results, every attempt's
start and end, what each attempt received, when each cleanup ran) and then lingers, so anything
still working after the run ended shows up in the attempts; the invariant compares the circuit
breaker's counts, the one state runs share by design.

Every work duration is a whole number of seconds plus ``5**i`` microseconds for stage ``i``:
each instant of a run is then the sum of a distinct multiset of stages, so no two events of a
run coincide and the model needs no tie-breaking. Two runs started together do tie; that is
where concurrent runs meet.

For example::

    run_graph_machine()  # raises with the shrunk rules, the graph and the swimlane
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from stageflow_verify.core.run.checks import Check, count_example, reproducing_ids
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.graphs import LINGER, GraphFeatures, GraphHarness, features, quiet
from stageflow_verify.models.graph_run import (
    ALWAYS_OK,
    SHARED_CANCEL_TOKEN,
    SHARED_CLEANUP,
    SHARED_OUTPUTS,
    Breaker,
    Config,
    Graph,
    GraphRunModel,
    GuardDesc,
    RunObservation,
    StageDesc,
    describe_graph,
)
from stageflow_verify.stateful.graph_findings import CHECK, FINDINGS

NAMES = "abcdef"
KINDS = ("ok", "transient", "fail", "raise", "retry_status", "slow", "spawn", "mutate")
MAX_STEPS = 40_000
# Cancel instants sit an eighth of a second off every event (events are whole or quarter
# seconds plus microseconds), so a cancel never ties with the work it stops.
CANCEL_AT = (2.125, 0.125, 4.125, 7.125)
BOUNDARY_SHARE = 6  # about one example in 6 builds a canonical boundary graph


def fine(index: int) -> float:
    return float(5**index) * 1e-6


def boundary_graphs(can: GraphFeatures) -> tuple[Graph, ...]:
    """The canonical graphs at the two attempt budgets, those this Stageflow can build.

    An off-by-one in a budget shows only where the work needs exactly the budget (it passes on
    the last allowed attempt) or one attempt more (it fails having used all of them). Random
    graphs meet that rarely: a ``retry`` stack with ``max_attempts=2`` and a transient
    ConnectionError stage that no sibling cuts short, or a guard failing exactly
    ``max_attempts`` times. So :func:`graphs` draws these now and then, and the first one is
    Hypothesis's simplest graph: the first example of the derandomized ``ci`` profile, and
    what a failure shrinks toward.
    """
    canon: list[Graph] = []
    if "retry" in can.configs():  # 0.9.x ships RetryInterceptor but cannot install it
        # a fails on both attempts the budget allows (retried once, then spent); b fails once
        # and passes on the last allowed attempt, before a's second failure ends the run.
        a = StageDesc("a", (), "transient", 2.0 + fine(0), 2)
        b = StageDesc("b", (), "transient", 1.0 + fine(1), 1)
        canon.append(Graph((a, b), None, Config("retry", 2, 250, None)))
    if can.guard_retry:
        # 'bare' where this Stageflow takes interceptors; before that (0.8.0) its graphs run
        # none, and the guard-retry policy is all there is.
        stack = "bare" if "bare" in can.configs() else "none"
        t = StageDesc("t", (), "ok", 1.0 + fine(0))
        for passes_at in (3, 2):  # one attempt more than the policy allows; its last attempt
            g = StageDesc("g", ("t",), "guard", 1.0 + fine(1), passes_at)
            canon.append(Graph((t, g), GuardDesc("g", "t", 2), Config(stack, 2, 250, None)))
    return tuple(canon)


def around(budget: int) -> st.SearchStrategy[int]:
    """A failure count: half the time at a budget's edge (``budget``, then ``budget - 1``:
    exhausted, or cleared on the last attempt), otherwise 1 to 3 as any other."""
    edge = [n for n in (budget, budget - 1) if n >= 1]
    return st.one_of(st.sampled_from(edge), st.integers(1, 3))


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    can = features()
    canon = boundary_graphs(can)
    # About one example in BOUNDARY_SHARE is a boundary graph; 0, the simplest draw, is one.
    if canon and draw(st.integers(0, BOUNDARY_SHARE - 1)) == 0:
        return draw(st.sampled_from(canon))
    return draw(random_graphs(can))


@st.composite
def random_graphs(draw: st.DrawFn, can: GraphFeatures) -> Graph:
    # A slow stage outlasts the timeout; with no interceptor stack there is none to outlast.
    kinds = KINDS if can.interceptors else tuple(k for k in KINDS if k != "slow")
    interceptors = draw(st.sampled_from(can.configs()))
    config = Config(
        interceptors,
        draw(st.integers(2, 3)),
        draw(st.sampled_from([250, 500])),
        # Only a TimeoutInterceptor reads _timeout_ms: without a stack, nothing carries it.
        draw(st.sampled_from([None, 5000, 8000]))
        if can.interceptors and can.carries_data
        else None,
    )
    retrying = interceptors == "retry"
    if retrying:
        kinds = ("transient", *kinds)  # a retry stack is there to retry: twice the transients
    count = draw(st.integers(2, 6))
    stages: list[StageDesc] = []
    for i in range(count):
        earlier = list(NAMES[:i])
        deps = draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True)) if i else []
        kind = draw(st.sampled_from(kinds))
        if kind == "slow" and any(s.kind == "slow" for s in stages):
            kind = "ok"  # two slow siblings would time out at the same instant: a tie
        n = 0
        if kind in ("transient", "retry_status"):
            n = draw(around(config.max_attempts) if retrying else st.integers(1, 3))
        error = draw(st.sampled_from(["ConnectionError", "TimeoutError"]))
        work = draw(st.integers(1, 3)) + fine(i)
        stages.append(StageDesc(NAMES[i], tuple(sorted(deps)), kind, work, n, error))
    guard = None
    targets = [s.name for s in stages[:-1] if s.kind in ALWAYS_OK]
    wants_guard: bool = draw(st.booleans())
    if targets and wants_guard and can.guard_retry:
        target = draw(st.sampled_from(targets))
        last = stages[-1]
        with_target = tuple(sorted({*last.deps, target}))
        budget = draw(st.integers(1, 3))
        # The guard passes on the retried stage's attempt n: around the budget, it is the
        # guard's last allowed attempt (n = budget) or one more than allowed (budget + 1).
        passes_at = draw(around(budget + 1))
        stages[-1] = StageDesc(last.name, with_target, "guard", last.work, passes_at)
        guard = GuardDesc(last.name, target, budget)
    return Graph(tuple(stages), guard, config)


class GraphRunComparison(RuleBasedStateMachine):
    deviations: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        count_example()
        self.model = GraphRunModel(self.deviations)
        self.sut: GraphHarness | None = None
        self.breaker: Breaker = {}
        self.runs = 0

    @initialize(graph=graphs())
    def build_graph(self, graph: Graph) -> None:
        self.sut = GraphHarness(graph)

    def _h(self) -> GraphHarness:
        assert self.sut is not None
        return self.sut

    def _label(self) -> str:
        self.runs += 1
        return f"r{self.runs}"

    def _play(self, data: st.DataObject, *runs: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            await asyncio.gather(*(r() for r in runs))
            await asyncio.sleep(LINGER)  # whatever still works after the run ends, shows

        with quiet():
            run(main, HypothesisChooser(data), max_steps=MAX_STEPS)

    # -- rules -----------------------------------------------------------------------------
    @rule(data=st.data())
    def run_graph(self, data: st.DataObject) -> None:
        label, h = self._label(), self._h()
        self._play(data, lambda: h.run(label, "main"))
        predicted, self.breaker = self.model.run(h.graph, self.breaker, script="main")
        self._agree(label, h.observe(label), predicted)

    @rule(
        data=st.data(),
        at=st.sampled_from(CANCEL_AT),
        how=st.sampled_from(["cancel", "wait_for"]),
    )
    def cancel_run(self, data: st.DataObject, at: float, how: str) -> None:
        label, h = self._label(), self._h()
        self._play(data, lambda: h.run(label, "main", cancel_at=at, how=how))
        predicted, self.breaker = self.model.run(h.graph, self.breaker, script="main", cancel_at=at)
        self._agree(label, h.observe(label), predicted)

    @precondition(lambda self: self.sut is not None and self._breaker_quiet())
    @rule(
        data=st.data(),
        delay=st.sampled_from([0.0, 0.25, 1.25]),
        other=st.sampled_from(["main", "clean"]),
    )
    def run_two_at_once(self, data: st.DataObject, delay: float, other: str) -> None:
        first, second, h = self._label(), self._label(), self._h()
        self._play(
            data,
            lambda: h.run(first, "main"),
            lambda: h.run(second, other, delay=delay),
        )
        a, after_a = self.model.run(h.graph, self.breaker, script="main")
        b, after_b = self.model.run(h.graph, self.breaker, script=other, start=delay)
        seen_a, seen_b = h.observe(first), h.observe(second)
        self._agree_concurrent(first, seen_a, a, b)
        self._agree_concurrent(second, seen_b, b, a)
        # The breaker is shared by design; which run's update lands last is the scheduler's
        # choice, so take Stageflow's counts once they are ones the two runs could produce.
        real = h.breaker()
        for stage, count in real.items():
            bound = after_a.get(stage, 0) + after_b.get(stage, 0)
            assert count <= bound, f"breaker counts {count} failures of {stage}, at most {bound}"
        self.breaker = real

    def _breaker_quiet(self) -> bool:
        # Two runs add at most 2 + 2 failures per stage: from zero the breaker (5) cannot open
        # in the middle of the pair, where the order of updates would decide what runs.
        config = self._h().graph.config
        return not config.breaker or (not self.breaker and self._h().graph.guard is None)

    # -- invariants ------------------------------------------------------------------------
    @precondition(lambda self: self.sut is not None)
    @invariant()
    def breaker_counts_what_the_model_counts(self) -> None:
        assert self._h().breaker() == self.breaker, (
            f"circuit breaker counts {self._h().breaker()}, the model {self.breaker}"
        )

    # -- comparison ------------------------------------------------------------------------
    def _agree(self, label: str, seen: RunObservation, expected: RunObservation) -> None:
        if SHARED_OUTPUTS in self.deviations:
            seen, expected = seen.without_bags(), expected.without_bags()
        if seen != expected:
            raise AssertionError(self._mismatch(label, seen, expected))

    def _agree_concurrent(
        self, label: str, seen: RunObservation, alone: RunObservation, other: RunObservation
    ) -> None:
        """A run beside another must look as it would alone, but for adopted deviations."""
        if SHARED_CLEANUP in self.deviations:
            seen, alone = _no_cleanups(seen), _no_cleanups(alone)
        if SHARED_CANCEL_TOKEN in self.deviations and seen.outcome == "cancelled_by_other":
            # SF-RUN-05: the other run failed and cancelled this one's token; up to then, this
            # run did what it would have done alone.
            assert other.outcome == "failed" and other.end <= seen.end, self._mismatch(
                label, seen, alone
            )
            upto = [a for a in alone.attempts if a[3] < other.end]
            assert set(upto) <= set(seen.attempts), self._mismatch(label, seen, alone)
            return
        self._agree(label, seen, alone)

    def _mismatch(self, label: str, seen: RunObservation, expected: RunObservation) -> str:
        lines = [f"run {label} differs from the model", describe_graph(self._h().graph)]
        for name in RunObservation.__dataclass_fields__:
            mine, theirs = getattr(expected, name), getattr(seen, name)
            if mine != theirs:
                lines.append(f"  {name}:\n    model:     {mine!r}\n    stageflow: {theirs!r}")
        lines.append(f"  known deviations adopted: {', '.join(sorted(self.deviations)) or 'none'}")
        return "\n".join(lines)


def _no_cleanups(seen: RunObservation) -> RunObservation:
    from dataclasses import replace

    return replace(seen, cleanups=())


def comparison_for(deviations: frozenset[str]) -> type[GraphRunComparison]:
    """A GraphRunComparison whose model adopts ``deviations`` (finding ids)."""
    return type("GraphRunComparison", (GraphRunComparison,), {"deviations": deviations})


def run_graph_machine() -> None:
    machine = comparison_for(reproducing_ids(FINDINGS))
    run_state_machine_as_test(machine, settings=settings(settings.default))


CHECKS = [
    Check(
        name=CHECK,
        run=run_graph_machine,
        summary="DAG runs with failures, retries, timeouts, guards, cancels, concurrent runs",
    ),
]
