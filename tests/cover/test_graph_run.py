"""Graph runs: the model's rules on small graphs, the findings' reproducers, the pristine check."""

from __future__ import annotations

import pytest

from core.checks import still_reproduces
from models.graph_run import (
    ORPHANED_STAGES,
    RETRY_ONCE,
    Config,
    Graph,
    GraphRunModel,
    GuardDesc,
    StageDesc,
)
from stateful.graph_findings import FINDINGS
from stateful.graph_machine import run_graph_machine

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
    assert (documented.outcome, documented.failed_stage, counts) == ("failed", "a", {"a": 2})
    adopted, counts = GraphRunModel(frozenset({RETRY_ONCE})).run(graph, {}, script="main")
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


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.id for f in FINDINGS])
def test_graph_finding_reproduces_on_the_installed_stageflow(finding: object) -> None:
    assert still_reproduces(finding)  # type: ignore[arg-type]


def test_pristine_graph_machine_passes() -> None:
    run_graph_machine()
