"""``lifecycle.legacy_graph``: the deprecated ``StageGraph`` against :mod:`models.legacy_graph`.

Graphs are the lifecycle machine's (1 to 5 stages, none/some/all dependencies, every status,
falsy and truthy values); a third of them name one stage that sets ``ctx.canceled`` as it
ends. Each example builds one StageGraph and runs it 1 to 4 times, each run on the
deterministic loop (interleavings drawn by Hypothesis, virtual time), and compares its
results, the stages that started, the events its context's sink received (type,
``pipeline_run_id``, ``request_id``, instant) and the circuit breaker's counts, which the
runs of one graph share. It
shares the unified graph's documented events rule, which StageGraph keeps: a graph run without
SF-LIFE-02 to compare against.

For example::

    run_legacy_graph_law()  # raises with the shrunk graph and the swimlane
"""

from __future__ import annotations

import functools
import uuid
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, adopting_known, count_example
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.legacy_graph import LegacyHarness, legacy_quiet
from stageflow_verify.models.legacy_graph import predict_legacy
from stageflow_verify.models.run_lifecycle import LifeGraph
from stageflow_verify.stateful.graph_findings import FINDINGS as GRAPH_FINDINGS
from stageflow_verify.stateful.lifecycle_machine import life_graphs

CHECK = "lifecycle.legacy_graph"
# RETRY is no failure here either, the breaker reports a stage it stopped as completed, and it
# counts a raise twice.
ADOPTED = [f for f in GRAPH_FINDINGS if f.id in ("SF-RUN-02", "SF-RUN-08", "SF-RUN-11")]


def applies(sf: ModuleType) -> str | None:
    if not hasattr(sf.pipeline.dag, "StageGraph"):
        return "this stageflow ships no legacy StageGraph"
    return None


@given(graph=life_graphs(), pick=st.integers(0, 14), runs=st.integers(1, 4), data=st.data())
def legacy_graph_law(
    graph: LifeGraph, pick: int, runs: int, data: st.DataObject, active: frozenset[str]
) -> None:
    count_example()
    names = [s.name for s in graph.stages]
    flag = names[pick] if pick < len(names) else None  # about a third of graphs flag a stage
    with legacy_quiet():
        harness = LegacyHarness(graph, flag)
        breaker: dict[str, int] = {}
        for number in range(1, runs + 1):
            seen = run(functools.partial(harness.run, number), HypothesisChooser(data)).value
            ids = (str(uuid.UUID(int=number)), str(uuid.UUID(int=10_000 + number)))
            expected, breaker = predict_legacy(graph, flag, active, ids, breaker)
            differences = [
                f"  {name}:\n    model:     {getattr(expected, name)!r}\n"
                f"    stageflow: {getattr(seen, name)!r}"
                for name in type(expected).__dataclass_fields__
                if getattr(expected, name) != getattr(seen, name)
            ]
            assert not differences, "\n".join(
                [f"StageGraph run {number} differs from the legacy model (flag: {flag}) "
                 f"for {graph}", *differences]
            )  # fmt: skip
            assert harness.breaker() == breaker, (
                f"after run {number} the breaker counts {harness.breaker()}, the model {breaker}"
            )


run_legacy_graph_law = adopting_known(legacy_graph_law, lambda: ADOPTED)

CHECKS = [
    Check(
        name=CHECK,
        run=run_legacy_graph_law,
        summary="legacy StageGraph: start order, results, canceled flag, documented events",
        applies=applies,
    ),
]
