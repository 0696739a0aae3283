"""Graph runs: the model's rules on small graphs, the findings' reproducers, the pristine check."""

from __future__ import annotations

import pytest
from hypothesis import find

from stageflow_verify.core.run.checks import Finding, still_reproduces
from stageflow_verify.core.sut import stageflow_module, stageflow_version
from stageflow_verify.core.sut.graphs import features
from stageflow_verify.models.graph_run import (
    DOUBLE_COUNTED,
    ORPHANED_STAGES,
    RETRY_ONCE,
    Config,
    Graph,
    GraphRunModel,
    GuardDesc,
    StageDesc,
)
from stageflow_verify.stateful.graph_findings import FINDINGS
from stageflow_verify.stateful.graph_machine import boundary_graphs, graphs, run_graph_machine

RETRY = Config("retry", 3, 500, None)


def test_stages_start_when_their_dependencies_finish() -> None:
    graph = Graph(
        (StageDesc("a", (), "ok", 1.0), StageDesc("b", (), "ok", 2.0),
         StageDesc("c", ("a", "b"), "ok", 1.0)),
        None, Config("bare", 2, 250, None),
    )  # fmt: skip
    seen, _ = GraphRunModel().run(graph, {}, script="main")
    assert seen.outcome == "ok"
    assert seen.attempts == (
        ("a", 1, 0.0, 1.0, "ok"), ("b", 1, 0.0, 2.0, "ok"), ("c", 1, 2.0, 3.0, "ok"),
    )  # fmt: skip
    assert seen.cleanups == (("a", 1, 3.0), ("b", 1, 3.0), ("c", 1, 3.0))


def test_documented_retry_makes_max_attempts_with_exponential_back_off() -> None:
    graph = Graph((StageDesc("a", (), "transient", 1.0, n=5),), None, RETRY)
    documented, counts = GraphRunModel().run(graph, {}, script="main")
    assert [(a[2], a[3]) for a in documented.attempts] == [(0.0, 1.0), (1.5, 2.5), (3.5, 4.5)]
    # One failed run counts one failure ("After 5 failures, circuit opens"); SF-RUN-11 counts
    # an exception twice, except after 1.2.0's single retry, which skips on_error.
    assert (documented.outcome, documented.failed_stage, counts) == ("failed", "a", {"a": 1})
    twice = GraphRunModel(frozenset({DOUBLE_COUNTED})).run(graph, {}, script="main")[1]
    assert twice == {"a": 2}
    both = frozenset({RETRY_ONCE, DOUBLE_COUNTED})
    adopted, counts = GraphRunModel(both).run(graph, {}, script="main")
    assert len(adopted.attempts) == 2 and counts == {"a": 1}


def test_guard_retry_reruns_its_stage_and_sees_the_fresh_output() -> None:
    graph = Graph(
        (StageDesc("t", (), "ok", 1.0), StageDesc("g", ("t",), "guard", 1.0, n=2)),
        GuardDesc("g", "t", 2), Config("bare", 2, 250, None),
    )  # fmt: skip
    seen, _ = GraphRunModel().run(graph, {}, script="main")
    assert seen.outcome == "ok"
    assert ("g", 2, (("t", 2, ()),)) in seen.seen
    assert ("t", "ok", 2, ()) in seen.results


def test_a_cancelled_run_stops_unless_orphans_are_adopted() -> None:
    graph = Graph((StageDesc("a", (), "ok", 3.0),), None, Config("bare", 2, 250, None))
    stopped, _ = GraphRunModel().run(graph, {}, script="main", cancel_at=1.0)
    assert stopped.attempts == (("a", 1, 0.0, 1.0, "cancelled"),)
    orphan, _ = GraphRunModel(frozenset({ORPHANED_STAGES})).run(
        graph, {}, script="main", cancel_at=1.0
    )
    assert orphan.attempts == (("a", 1, 0.0, 3.0, "ok"),) and orphan.end == 1.0


def test_a_graph_without_interceptors_never_times_out_nor_retries() -> None:
    graph = Graph(
        (StageDesc("a", (), "transient", 1.0, n=1), StageDesc("b", (), "ok", 40.0)),
        None, Config("none", 3, 250, None),
    )  # fmt: skip
    seen, counts = GraphRunModel().run(graph, {}, script="main")
    assert (seen.outcome, seen.failed_stage, counts) == ("failed", "a", {})
    assert seen.attempts == (("a", 1, 0.0, 1.0, "raise"), ("b", 1, 0.0, 1.0, "cancelled"))


def test_the_machine_draws_only_stacks_the_installed_stageflow_builds() -> None:
    can = features()
    if not can.interceptors:  # 0.5.1: the built graph runs no interceptor stack
        assert can.configs() == ("none",)
    else:
        assert set(can.configs()) == {"default", "timeout", "bare"} | (
            {"retry"} if can.retry else set()
        )


def test_boundary_graphs_sit_at_the_attempt_budgets_and_come_first() -> None:
    canon = boundary_graphs(features())
    if not canon:  # 0.5.1: neither RetryInterceptor nor guard-retry policies
        return
    # The simplest graph, what derandomized runs try first and failures shrink toward.
    assert find(graphs(), lambda g: True) == canon[0]
    outcomes = []
    for graph in canon:
        seen, _ = GraphRunModel().run(graph, {}, script="main")
        outcomes.append((seen.outcome, len(seen.attempts)))
    expected = {
        "retry": [("failed", 4)],  # a: 2 attempts, spent; b: 2, passes on the last
        "guard": [("failed", 4), ("ok", 4)],  # t, g twice: spent; passes on the last
    }
    assert outcomes == [
        *(expected["retry"] if features().retry else []),
        *(expected["guard"] if features().guard_retry else []),
    ]


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.id for f in FINDINGS])
def test_graph_finding_reproduces_where_it_declares(finding: Finding) -> None:
    reason = finding.applies(stageflow_module())
    if reason is not None:
        pytest.skip(f"N/A here: {reason}")
    declared = stageflow_version().partition("+")[0] in finding.versions
    assert still_reproduces(finding) == declared


def test_pristine_graph_machine_passes() -> None:
    run_graph_machine()
