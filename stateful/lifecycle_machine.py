"""``RunLifecycleComparison``: runs of one drawn pipeline, each compared with the lifecycle model.

Each example draws a small DAG (1 to 5 stages; dependencies on earlier stages only, so a
stage may have none, some or all of them), a status per stage (ok, skip, cancel, fail,
retry, raise), the value it writes (falsy values 0, False, "", [] as often as truthy ones),
the reads it makes on starting (``get_from``, ``get``, ``get_output``, ``has_output`` of a
declared dependency, of any other stage, of itself or of a stage no graph has;
``prior_outputs``) and whether the context names its own event sink. Rules run it on the
deterministic loop (interleavings drawn by Hypothesis, virtual time): plainly (through
``build().run``, or ``Pipeline.run``/``invoke``, which register no cleanup), or cancelled
from outside (``task.cancel()`` or ``wait_for``) at an instant that falls in the run or in its
cleanups. After each run the whole :class:`~models.run_lifecycle.LifeObservation` (outcome,
who ended the run, when it stopped and returned, what started, every read's answer, every
``PipelineResults`` accessor's answer, each cleanup's start and end, the events each sink got
up to the stop) must equal the model's, and the cleanups must have run in the reverse of the
order the stages registered them (LIFO), a relation the schedule alone decides.

Work durations follow the graph machine (whole seconds plus ``5**i`` microseconds): no two
events of a run tie; cancel instants sit an eighth of a second off every event.

For example::

    run_lifecycle_machine()  # raises with the shrunk rules, the graph and the swimlane
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from stageflow_verify.core.run.checks import Check, count_example, reproducing_ids
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.lifecycle import LifecycleHarness, life_features, quiet
from stageflow_verify.models.run_lifecycle import (
    ABSENT,
    STATUSES,
    LifeGraph,
    LifeObservation,
    LifeStage,
    predict,
)
from stageflow_verify.stateful.graph_machine import fine
from stageflow_verify.stateful.lifecycle_findings import CHECK, FINDINGS, KNOWN_ELSEWHERE, applies

NAMES = "abcde"
VALUES: tuple[Any, ...] = (0, False, "", [], 1, "x", [0], None)
CANCEL_AT = (0.125, 1.125, 2.125, 3.125, 4.375, 5.625)
# A cancel, fail or raise ends the run and hides every stage after it; drawn a tenth of the
# time each, most graphs still run to their end, so what the results API answers for a SKIP
# or RETRY output is seen as often as how a run ends. "ok" first: the simplest draw.
WEIGHTED_STATUSES = ("ok", "skip", "retry", "ok", "skip", "retry", "ok", "cancel", "fail", "raise")
assert set(WEIGHTED_STATUSES) == set(STATUSES)
MAX_RUNS = 4  # runs per example: each builds afresh, so more only repeats the same graph
MAX_STEPS = 20_000


@st.composite
def life_graphs(draw: st.DrawFn) -> LifeGraph:
    count = draw(st.integers(1, 5))
    stages: list[LifeStage] = []
    for i in range(count):
        earlier = list(NAMES[:i])
        deps: list[str] = []
        if earlier:
            # none, all, or some: the three configurations strict validation must hold in
            shape = draw(st.sampled_from(["none", "all", "some"]))
            deps = {"none": [], "all": earlier}.get(shape) or draw(
                st.lists(st.sampled_from(earlier), min_size=1, max_size=len(earlier), unique=True)
            )
        status = draw(st.sampled_from(WEIGHTED_STATUSES))
        targets = st.sampled_from([*NAMES[:count], ABSENT])
        read = st.tuples(
            st.sampled_from(
                ["get_from", "get", "require_from", "get_output", "has_output", "prior_outputs"]
            ),
            targets,
            st.sampled_from(["v", "w", ""]),  # written, never written, invalid
        )
        reads = tuple(draw(st.lists(read, max_size=4)))
        value = draw(st.sampled_from(VALUES))
        work = draw(st.integers(1, 3)) + fine(i)
        stages.append(LifeStage(NAMES[i], tuple(sorted(deps)), status, work, value, reads))
    return LifeGraph(tuple(stages), draw(st.booleans()))


class RunLifecycleComparison(RuleBasedStateMachine):
    deviations: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        count_example()
        self.harness: LifecycleHarness | None = None
        self.runs = 0

    @initialize(graph=life_graphs())
    def draw_graph(self, graph: LifeGraph) -> None:
        self.harness = LifecycleHarness(graph)

    def _h(self) -> LifecycleHarness:
        assert self.harness is not None
        return self.harness

    def _play(
        self, data: st.DataObject, cancel_at: float | None, how: str, entry: str = "build"
    ) -> None:
        self.runs += 1
        h, number = self._h(), self.runs

        async def main() -> None:
            await h.run(number, cancel_at, how, entry)
            await asyncio.sleep(30.0)  # stages a run left running finish off the record

        with quiet():
            run(main, HypothesisChooser(data), max_steps=MAX_STEPS)
        features = life_features()
        expected = predict(
            h.graph,
            self.deviations,
            cancel_at,
            how,
            h.ids,
            cleanups_registered=entry == "build",
            results_api=features.results_api,
            global_sink_default=features.global_sink_default,
        )
        self._agree(h.observe(), expected)

    @rule(data=st.data())
    def run_to_the_end(self, data: st.DataObject) -> None:
        self._play(data, None, "cancel")

    @precondition(lambda self: life_features().pipeline_entries)  # from 1.0.0
    @rule(data=st.data(), entry=st.sampled_from(["run", "invoke"]))
    def run_through_the_pipeline(self, data: st.DataObject, entry: str) -> None:
        # Pipeline.run "preserves the same execution behavior as build().run(...)"; invoke is
        # "a small alias for run(...)" (pipeline/pipeline.py): the same model, no cleanups.
        self._play(data, None, "cancel", entry)

    @rule(
        data=st.data(),
        at=st.sampled_from(CANCEL_AT),
        how=st.sampled_from(["cancel", "wait_for"]),
    )
    def cancel_from_outside(self, data: st.DataObject, at: float, how: str) -> None:
        self._play(data, at, how)

    def _agree(self, seen: LifeObservation, expected: LifeObservation) -> None:
        registered, ran = self._h().cleanup_order()
        lines = []
        if ran != registered[::-1]:
            lines.append(f"  cleanups ran {ran}, registered {registered}: not LIFO")
        for name in LifeObservation.__dataclass_fields__:
            mine, theirs = getattr(expected, name), getattr(seen, name)
            if mine != theirs:
                lines.append(f"  {name}:\n    model:     {mine!r}\n    stageflow: {theirs!r}")
        if lines:
            adopted = ", ".join(sorted(self.deviations)) or "none"
            raise AssertionError(
                "\n".join(
                    [
                        f"run {self.runs} differs from the lifecycle model",
                        f"  graph: {self._h().graph}",
                        *lines,
                        f"  known deviations adopted: {adopted}",
                    ]
                )
            )


def comparison_for(deviations: frozenset[str]) -> type[RunLifecycleComparison]:
    """A RunLifecycleComparison whose model adopts ``deviations`` (finding ids)."""
    return type("RunLifecycleComparison", (RunLifecycleComparison,), {"deviations": deviations})


def lifecycle_settings() -> settings:
    # One example is a graph and up to MAX_RUNS runs of it; the explain phase would re-run a
    # failure ~1000 times under the scheduler and says less than the comparison does.
    default = settings()
    return settings(
        parent=default,
        max_examples=min(default.max_examples, 60),
        stateful_step_count=min(default.stateful_step_count, MAX_RUNS),
        phases=[p for p in default.phases if p is not Phase.explain],
    )


def run_lifecycle_machine() -> None:
    known = reproducing_ids(FINDINGS) | reproducing_ids(KNOWN_ELSEWHERE)
    run_state_machine_as_test(comparison_for(known), settings=lifecycle_settings())


CHECKS = [
    Check(
        name=CHECK,
        run=run_lifecycle_machine,
        summary="a run's inputs, results API, cleanups, outside cancels and events",
        applies=applies,
    ),
]
