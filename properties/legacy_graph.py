"""``lifecycle.legacy_graph``: the deprecated ``StageGraph`` against :mod:`models.legacy_graph`.

Graphs are the lifecycle machine's (1 to 5 stages, none/some/all dependencies, every status,
falsy and truthy values); a third of them name one stage that sets ``ctx.canceled`` as it
ends. Each example runs a freshly built StageGraph on the deterministic loop (interleavings
drawn by Hypothesis, virtual time) and compares its results, the stages that started and the
events its context's sink received (type, ``pipeline_run_id``, ``request_id``, instant). It
shares the unified graph's documented events rule, which StageGraph keeps: a graph run without
SF-LIFE-02 to compare against.

For example::

    run_legacy_graph_law()  # raises with the shrunk graph and the swimlane
"""

from __future__ import annotations

from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

from core.run.checks import Check, adopting_known, count_example
from core.sched.choosers import HypothesisChooser
from core.sched.scheduler import run
from core.sut.legacy_graph import legacy_quiet, run_legacy
from models.legacy_graph import predict_legacy
from models.run_lifecycle import LifeGraph
from stateful.graph_findings import FINDINGS as GRAPH_FINDINGS
from stateful.lifecycle_machine import life_graphs

CHECK = "lifecycle.legacy_graph"
ADOPTED = [f for f in GRAPH_FINDINGS if f.id == "SF-RUN-02"]  # RETRY is no failure here too


def applies(sf: ModuleType) -> str | None:
    if not hasattr(sf.pipeline.dag, "StageGraph"):
        return "this stageflow ships no legacy StageGraph"
    return None


@given(graph=life_graphs(), pick=st.integers(0, 14), data=st.data())
def legacy_graph_law(
    graph: LifeGraph, pick: int, data: st.DataObject, active: frozenset[str]
) -> None:
    count_example()
    names = [s.name for s in graph.stages]
    flag = names[pick] if pick < len(names) else None  # about a third of graphs flag a stage
    with legacy_quiet():
        seen = run(lambda: run_legacy(graph, flag, 1), HypothesisChooser(data)).value
    ids = ("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000002711")
    expected = predict_legacy(graph, flag, active, ids)
    differences = [
        f"  {name}:\n    model:     {getattr(expected, name)!r}\n"
        f"    stageflow: {getattr(seen, name)!r}"
        for name in type(expected).__dataclass_fields__
        if getattr(expected, name) != getattr(seen, name)
    ]
    assert not differences, "\n".join(
        [f"StageGraph differs from the legacy model (flag: {flag}) for {graph}", *differences]
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
