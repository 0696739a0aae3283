"""``lifecycle.graph_api``: graphs built straight from their specs (``UnifiedStageGraph`` and the
legacy ``StageGraph``) on the paths a ``Pipeline`` rarely takes, against
:mod:`models.graph_api`, on the deterministic loop.

Each example draws one scenario on a chain ``a -> b -> c`` of one to three stages: what each
stage returns (``None``, a dict, a StageOutput, a legacy ``StageResult``, something no stage
may return, or a raise), the context it starts from (a PipelineContext or its root
StageContext), a conditional stage and the ``skip_reason`` its dependency hands it, a
cancellation request (raised, from a before-stage hook, or marked by a stage), a missing
dependency or a cycle, an empty graph, or wide events with and without an emitter. Only what
the release has is drawn (:func:`~core.sut.graph_api.graph_api_features`).

For example::

    run_graph_api_law()  # raises with the shrunk scenario and the part that differs
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.graph_api import GraphApiHarness, graph_api_features
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.models.graph_api import GraphScenario, predict

CHECK = "lifecycle.graph_api"
PARTS = ("outcome", "runners that ran", "events", "stage_specs", "registry set, then cleared")


@st.composite
def scenarios(draw: st.DrawFn) -> GraphScenario:
    can = graph_api_features()
    kinds = [k for k in ("returns", "conditional", "cancel_request", "deadlock", "wide",
                         "legacy", "empty") if k in can]  # fmt: skip
    kind = draw(st.sampled_from(kinds))
    count = draw(st.integers(1, 3))
    unified = ["output", "output", "dict", "none", "bad"]
    legacy = ["output", "dict", "none", "result", "bad", "raise"]
    returns = tuple(draw(st.sampled_from(legacy if kind == "legacy" else unified))
                    for _ in range(count))  # fmt: skip
    if kind in ("cancel_request", "conditional", "deadlock"):
        returns = tuple("output" for _ in range(max(count, 2)))
    entry = draw(st.sampled_from(["pipeline", "stage"])) if "stage_entry" in can else "pipeline"
    hows = [h for h in ("raise", "hook", "mark") if h in can] or ["raise"]
    return GraphScenario(
        kind,
        returns,
        # Hooks and mark_canceled belong to the PipelineContext: a StageContext entry runs on
        # a context derived from it, which has neither.
        entry="pipeline" if kind in ("legacy", "cancel_request") else entry,
        skip_reason=draw(st.sampled_from([None, "no need"])),
        conditional=draw(st.booleans()),
        how=draw(st.sampled_from(hows)),
        at=draw(st.integers(0, len(returns) - 1)),
        cycle=draw(st.booleans()),
        flags=(draw(st.booleans()), draw(st.booleans()), draw(st.booleans())),
    )


# One scenario at each rule's edge, drawn about half the time (ci's draws are few and fixed,
# and a combination such as a raised cancellation request can fall between them). Each is
# filtered by what this release has, as the drawn ones are.
CANONICAL = (
    GraphScenario("cancel_request", ("output", "output"), how="raise", at=0),
    GraphScenario("cancel_request", ("output", "output", "output"), how="raise", at=1),
    GraphScenario("cancel_request", ("output", "output"), how="hook", at=1),
    GraphScenario("cancel_request", ("output", "output"), how="mark", at=0),
    GraphScenario("conditional", ("output", "output"), skip_reason="no need", conditional=True),
    GraphScenario("deadlock", ("output",), cycle=True),
    GraphScenario("legacy", ("result", "none", "raise")),
    GraphScenario("legacy", ("dict", "bad", "output")),
    GraphScenario("wide", ("output", "bad"), flags=(True, True, False)),
    GraphScenario("returns", ("none", "dict", "output"), entry="stage"),
)


def _possible(s: GraphScenario) -> bool:
    can = graph_api_features()
    return (
        s.kind in can
        and (s.kind != "cancel_request" or s.how in can)
        and (s.entry != "stage" or "stage_entry" in can)
    )


@given(
    scenario=st.one_of(scenarios(), st.sampled_from(CANONICAL).filter(_possible)),
    data=st.data(),
)
def graph_api_law(scenario: GraphScenario, data: st.DataObject) -> None:
    count_example()
    with quiet():
        seen = run(GraphApiHarness(scenario).play, HypothesisChooser(data)).value
    expected = predict(scenario)
    for part, mine, theirs in zip(PARTS, expected, seen, strict=True):
        assert mine == theirs, (
            f"the graph's {part} differs from the model for {scenario}\n"
            f"  model:     {mine!r}\n  stageflow: {theirs!r}"
        )


def run_graph_api_law() -> None:
    graph_api_law()


CHECKS = [
    Check(
        name=CHECK,
        run=run_graph_api_law,
        summary="graphs built from specs: stage returns, conditional skips, cancel requests, "
        "deadlocks, wide events, the legacy StageGraph",
    ),
]
