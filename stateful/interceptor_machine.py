"""``InterceptorStackComparison``: one built graph with a drawn interceptor stack, run again and
again, against ``models/interceptor_runs.py``.

Each example draws a chain of one or two stages (WORK or TRANSFORM; ok, fail, raise,
transient-then-ok, StageOutput.retry-then-ok, slow after failing fast, StageOutput.cancel, or
interrupted: its task cancelled half way) and a stack (``stateful/interceptor_strategies.py``),
and builds the graph once. Rules run it on the deterministic loop with virtual clocks, each run
with drawn context data (``idempotency_key``, ``idempotency_params``, ``_timeout_ms``, whether
a gate interceptor aborts it) and an event sink that follows the EventSink protocol or takes
anything. Every example starts with two runs with the same data (a repeat is where the stack's
state shows); then, in any order: one run of the built graph;
one ``Pipeline.run(ctx, interceptors=...)`` (a fresh default stack when the graph's was left
out); two runs at once, with the same data (duplicates) or different data, where their outcome
does not depend on the schedule (:func:`~models.interceptor_runs.pair_predictable`; otherwise
the rule does nothing);
and waiting, either side of the breaker's 30 s and past the store's 24 h. After every run the
rule compares, per stage, what it reported, every attempt with its start and end, every hook the
probes saw with its instant, and the retry events with every documented field; the invariants
compare the breaker's state and counts and the store's live entries, the state runs share.
Retry jitter draws from a generator the harness seeds per batch of runs, as the model does.
After the machine, :func:`check_stacks` plays the canonical scenarios on the stock schedule.

For example::

    run_interceptor_machine()  # raises with the shrunk rules, the stack and the difference
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
from stageflow_verify.core.sched.choosers import Chooser, HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.interceptors import StackHarness, pipeline_runs, virtual_clocks
from stageflow_verify.models.interceptor_config import DOCUMENTED_PRIORITY
from stageflow_verify.models.interceptor_runs import (
    Graph,
    RunObservation,
    owner_orders,
    pair_predictable,
    predict_pair,
    predict_run,
    run_random,
)
from stageflow_verify.models.interceptor_stack import RunData
from stageflow_verify.models.interceptor_state import StackState
from stageflow_verify.stateful.interceptor_findings import CHECK, adopted_findings
from stageflow_verify.stateful.interceptor_reproducers import needs_stack
from stageflow_verify.stateful.interceptor_strategies import WAITS, graphs, run_data

MAX_STEPS = 40_000
# A run here costs a few steps of the loop, a tenth of a graph-machine run; the budget buys
# 2.5 times the profile's examples (150 under ci, about 4 s of CPU); the canonical scenarios
# (stateful/interceptor_scenarios.py) then cover the edges those draws still miss.
EXAMPLE_FACTOR = 2.5


class InterceptorStackComparison(RuleBasedStateMachine):
    deviations: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        count_example()
        self.sut: StackHarness | None = None
        self.state = StackState()
        self.epoch = 0.0
        self.runs = 0

    @initialize(graph=graphs(), data=st.data(), values=run_data())
    def build_graph_and_run(self, graph: Graph, data: st.DataObject, values: RunData) -> None:
        """Build the graph and run it twice with the same data: what the stack keeps between
        runs (breaker, store, locks) shows only on a repeat, so every example has one."""
        self.sut = StackHarness(graph)
        self.run_graph(data, values)
        self.run_graph(data, values)

    def _h(self) -> StackHarness:
        assert self.sut is not None
        return self.sut

    def _labels(self, n: int) -> list[str]:
        self.runs += n
        return [f"r{self.runs - i}" for i in reversed(range(n))]

    def _play(self, chooser: Chooser, *runs: Callable[[], Coroutine[Any, Any, None]]) -> int:
        """Run a batch; returns the batch's jitter seed (the number of runs before it), from
        which each run's generator is derived for Stageflow and the model alike (run_random)."""
        h = self._h()
        seed = self.runs

        async def main() -> float:
            await asyncio.gather(*(r() for r in runs))
            return asyncio.get_running_loop().time()

        with virtual_clocks(h, seed):
            result = run(main, chooser, max_steps=MAX_STEPS)
        h.after_runs(result.value)
        return seed

    # -- rules -----------------------------------------------------------------------------
    @rule(data=st.data(), values=run_data())
    def run_graph(self, data: st.DataObject, values: RunData) -> None:
        self.run_once(HypothesisChooser(data), values)

    def run_once(self, chooser: Chooser, values: RunData) -> None:
        """One run of the built graph, scheduled by ``chooser``, compared with the model."""
        (label,), h = self._labels(1), self._h()
        rng = run_random(self._play(chooser, lambda: h.run(label, values)), label)
        expected = predict_run(h.graph, values, self.state, self.epoch, self.deviations, rng)
        self.epoch += expected.end
        self._agree([label], [expected], values)

    # Pipeline.run(ctx, interceptors=...) came with 1.0.0; 0.9.6 builds only.
    @precondition(lambda self: pipeline_runs())
    @rule(data=st.data(), values=run_data())
    def run_through_pipeline(self, data: st.DataObject, values: RunData) -> None:
        """Pipeline.run builds per call: with the stack left out (or, under SF-RUN-09, empty)
        every call gets fresh defaults, and shares nothing with the built graph."""
        (label,), h = self._labels(1), self._h()
        played = lambda: h.run(label, values, via_pipeline=True)  # noqa: E731
        rng = run_random(self._play(HypothesisChooser(data), played), label)
        fresh = h.graph.stack.fresh_per_build(self.deviations)
        state = StackState() if fresh else self.state
        expected = predict_run(h.graph, values, state, self.epoch, self.deviations, rng)
        self.epoch += expected.end
        self._agree([label], [expected], values)

    @rule(data=st.data(), values=run_data(), other=st.one_of(st.none(), run_data()))
    def run_two_at_once(self, data: st.DataObject, values: RunData, other: RunData | None) -> None:
        """Two runs started together: duplicates (``other`` None: the same data) or two
        different requests; only where the schedule cannot change the outcome."""
        self.run_pair(HypothesisChooser(data), values, values if other is None else other)

    def run_pair(self, chooser: Chooser, values: RunData, second_data: RunData) -> None:
        """Two runs at once, scheduled by ``chooser``; a schedule whose outcome the model
        cannot tell in advance is not played. Duplicates with a key: either may own the lock
        (and draw the retry jitter), so the model predicts both and the real pair must be one."""
        h, dev = self._h(), self.deviations
        if not pair_predictable(h.graph, values, second_data, self.state, self.epoch, dev):
            return
        first, second = self._labels(2)
        pair_of_runs = (lambda: h.run(first, values), lambda: h.run(second, second_data))
        seed = self._play(chooser, *pair_of_runs)
        rngs = (run_random(seed, first), run_random(seed, second))
        seen = sorted(repr(h.observe(label)) for label in (first, second))
        for order in owner_orders(values, second_data, rngs):
            state = self.state.fork()
            pair = predict_pair(h.graph, values, second_data, state, self.epoch, dev, order)
            if sorted(map(repr, pair)) == seen:
                break
        self.state = state
        self.epoch += max(p.end for p in pair)
        self._agree([first, second], list(pair), values)

    @rule(seconds=st.sampled_from(WAITS))
    def wait(self, seconds: float) -> None:
        self.epoch += seconds
        self._h().epoch += seconds

    # -- invariants ------------------------------------------------------------------------
    @precondition(lambda self: self.sut is not None)
    @invariant()
    def breaker_state_agrees(self) -> None:
        real, mine = self._h().breaker(), self.state.breaker_view()
        assert real == mine, f"circuit breaker: stageflow {real}, model {mine}"

    @precondition(lambda self: self.sut is not None)
    @invariant()
    def idempotency_store_agrees(self) -> None:
        real, mine = self._h().store(), self.state.store_view(self.epoch)
        assert real == mine, f"idempotency store: stageflow {real}, model {mine}"

    @precondition(lambda self: self.sut is not None)
    @invariant()
    def documented_priorities_hold(self) -> None:
        for i in self._h().built._interceptors:
            want = DOCUMENTED_PRIORITY.get(type(i).__name__)
            assert want in (None, i.priority), (
                f"{type(i).__name__}.priority {i.priority}, not {want}"
            )

    # -- comparison ------------------------------------------------------------------------
    def _agree(self, labels: list[str], expected: list[RunObservation], data: RunData) -> None:
        seen = [self._h().observe(label) for label in labels]
        # Two duplicates are the same run: which of them got the lock is the schedule's choice.
        if sorted(map(repr, seen)) != sorted(map(repr, expected)):
            raise AssertionError(self._mismatch(labels, seen, expected, data))

    def _mismatch(
        self, labels: list[str], seen: list[RunObservation], expected: list[RunObservation],
        data: RunData,
    ) -> str:  # fmt: skip
        g = self._h().graph
        lines = [f"run {' and '.join(labels)} differs from the model", f"  stack: {g.stack}"]
        lines += [f"  stage: {s}" for s in g.stages]
        lines.append(f"  data: {data}")
        for real, mine in zip(sorted(seen, key=repr), sorted(expected, key=repr), strict=True):
            lines += _differences("", mine, real)
            # Stage by stage and field by field, so a long observation shows what differs.
            for m, r in zip(mine.stages, real.stages, strict=False):
                lines += _differences(f"stage {m.stage}: ", m, r)
        lines.append(f"  deviations adopted: {', '.join(sorted(self.deviations)) or 'none'}")
        return "\n".join(lines)


def _differences(where: str, mine: Any, real: Any) -> list[str]:
    out = []
    for name in type(mine).__dataclass_fields__:
        a, b = getattr(mine, name), getattr(real, name)
        if a != b and name != "stages":
            out.append(f"  {where}{name}:\n    model:     {a!r}\n    stageflow: {b!r}")
    if getattr(mine, "stages", None) is not None and len(mine.stages) != len(real.stages):
        names = [s.stage for s in mine.stages], [s.stage for s in real.stages]
        out.append(f"  stages reached:\n    model:     {names[0]}\n    stageflow: {names[1]}")
    return out


def comparison_for(deviations: frozenset[str]) -> type[InterceptorStackComparison]:
    """An InterceptorStackComparison whose model adopts ``deviations`` (finding ids)."""
    attrs = {"deviations": deviations}
    return type("InterceptorStackComparison", (InterceptorStackComparison,), attrs)


def machine_settings() -> settings:
    profile = settings()  # the loaded profile's values
    examples = int(profile.max_examples * EXAMPLE_FACTOR)
    # One failure, shrunk, is what a report and a planted-bug test read best.
    return settings(profile, max_examples=examples, report_multiple_bugs=False)


def check_stacks(deviations: frozenset[str], budget: settings | None = None) -> None:
    """The machine (shrunk counterexamples), then the canonical scenarios: the edges random
    draws under a small budget may miss, played the same way every time."""
    from stageflow_verify.stateful.interceptor_scenarios import play_scenarios

    machine = comparison_for(deviations)
    run_state_machine_as_test(machine, settings=budget or machine_settings())
    play_scenarios(machine)


def run_interceptor_machine() -> None:
    check_stacks(reproducing_ids(adopted_findings()))


CHECKS = [
    Check(
        name=CHECK,
        run=run_interceptor_machine,
        summary="interceptor stacks: order, timeouts, retries, breaker, idempotency, reused",
        applies=needs_stack,
    ),
]
