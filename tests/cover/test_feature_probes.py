"""Feature probes decide what the graph machine draws: the shapes of the releases 0.8.0 to 0.9.6.

Each release below 1.0.0 lacks some of what 1.2.0 offers, in combinations no version number
spells: 0.8.0 has a guard-retry policy but no interceptor stack; 0.9.x ships RetryInterceptor
but its built graph takes no interceptors; 0.9.6 takes interceptors and runs on a
PipelineContext, yet has no ``PipelineContext.create``. Every graph drawn for such a shape must
build, and a run's ``data`` must reach its context; these tests fake each shape on 1.2.0.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from stageflow_verify.core.sut import graphs as sut_graphs
from stageflow_verify.core.sut.graphs import GraphFeatures, GraphHarness, root_context
from stageflow_verify.models.graph_run import Graph
from stageflow_verify.stateful.graph_machine import boundary_graphs, random_graphs

SHAPES = {
    # 0.5.x, 0.7.0: nothing but a bare graph on a root StageContext
    "0.5.1": GraphFeatures(False, False, False, False, False),
    # 0.8.0: build(guard_retry_strategy=...) only
    "0.8.0": GraphFeatures(False, False, True, False, True),
    # 0.9.0-0.9.4: stageflow.pipeline.retry exists, build() still takes no interceptors
    "0.9.4": GraphFeatures(False, True, True, False, True),
    # 0.9.6: interceptors and a PipelineContext root, no create()
    "0.9.6": GraphFeatures(True, True, True, False, True, pipeline_root=True),
}


@pytest.mark.parametrize("release", ["0.8.0", "0.9.4"])
def test_boundary_graphs_use_only_stacks_the_release_builds(release: str) -> None:
    can = SHAPES[release]
    canon = boundary_graphs(can)
    assert canon, "a release with a guard-retry policy gets its guard boundary graphs"
    assert {g.config.interceptors for g in canon} == {"none"}
    assert all(g.guard is not None for g in canon)


@pytest.mark.parametrize("release", sorted(SHAPES))
def test_random_graphs_draw_only_what_the_release_offers(release: str) -> None:
    can = SHAPES[release]

    @settings(max_examples=150, database=None, derandomize=True)
    @given(random_graphs(can))
    def drawn(graph: Graph) -> None:
        assert graph.config.interceptors in can.configs()
        assert graph.guard is None or can.guard_retry
        assert graph.config.timeout_ms is None or can.carries_data

    drawn()


def test_a_guard_policy_survives_a_graph_without_interceptors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sut_graphs, "features", lambda: SHAPES["0.8.0"])
    guarded = boundary_graphs(SHAPES["0.8.0"])[0]
    harness = GraphHarness(guarded)
    # The built graph keeps the policy 'none' would once have dropped.
    assert harness.built._guard_retry_strategy is not None


def test_a_pipeline_context_without_create_still_carries_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sut_graphs, "features", lambda: SHAPES["0.9.6"])
    ctx = root_context("r1", {"_timeout_ms": 5000})
    assert type(ctx).__name__ == "PipelineContext"
    assert (ctx.input_text, ctx.data) == ("r1", {"_timeout_ms": 5000})


def test_a_stage_context_without_cancellation_or_context_ports_reads_absent() -> None:
    # 0.9.5-1.1.0: a derived StageContext has no cancellation API; 0.9.5 and 0.9.6: the
    # PipelineContext holds no ports, so its db has no path to a stage. Read as absent (and
    # compared as absent on both sides), never as an AttributeError of the suite's (ERROR).
    from types import SimpleNamespace

    from stageflow_verify.core.sut.context_views import ABSENT, holds_ports, stage_context_view

    inputs = SimpleNamespace(declared_deps=frozenset({"a"}), ports=None)
    old = SimpleNamespace(
        pipeline_run_id=None, request_id=None, execution_mode=None, stage_name="s", inputs=inputs
    )
    view = stage_context_view(old, db=object(), context_has_ports=holds_ports(SimpleNamespace()))
    assert {k: view[k] for k in ("is_cancelled", "cancellation_reason", "raise_if_cancelled")} == {
        "is_cancelled": ABSENT,
        "cancellation_reason": ABSENT,
        "raise_if_cancelled": ABSENT,
    }
    assert view["ports_db_is_the_contexts"] == ABSENT and view["declared_deps"] == ["a"]


def test_a_pipeline_context_without_create_carries_the_runs_event_sink(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The interceptor harness hands each run its own sink; 0.9.6 must get it too.
    monkeypatch.setattr(sut_graphs, "features", lambda: SHAPES["0.9.6"])
    sink = object()
    ctx = root_context("r1", {"idempotency_key": "k"}, event_sink=sink)
    assert (ctx.event_sink, ctx.data) == (sink, {"idempotency_key": "k"})


def test_interceptor_checks_apply_where_a_built_graph_runs_on_a_pipeline_context() -> None:
    from types import SimpleNamespace

    from stageflow_verify.stateful.interceptor_reproducers import needs_stack

    def build(interceptors: object = None) -> None: ...

    class Root:  # 0.9.5/0.9.6: a PipelineContext root, no create()
        def derive_root_stage_context(self) -> None: ...

    shape_096 = SimpleNamespace(Pipeline=SimpleNamespace(build=build), PipelineContext=Root)
    shape_094 = SimpleNamespace(Pipeline=SimpleNamespace(build=build), PipelineContext=object)
    assert needs_stack(shape_096) is None  # type: ignore[arg-type]
    assert "StageContext" in (needs_stack(shape_094) or "")  # type: ignore[arg-type]


def test_the_installed_release_runs_the_lifecycle_through_its_newest_api() -> None:
    from stageflow_verify.core.sut.lifecycle import LifeFeatures, life_features

    assert life_features() == LifeFeatures(results_api=True, pipeline_entries=True, root="create")


def test_plain_runs_on_a_root_stage_context_leak_nothing_into_a_runner_result() -> None:
    # Before 0.9.5 a plain run's root StageContext names no sink: SF-LIFE-05's leaked global
    # sink (the last runner's) receives nothing from it, so the RunResult keeps its own events.
    from stageflow_verify.models.run_lifecycle import LIFECYCLE_EVENTS_MISSING, LifeGraph, LifeStage
    from stageflow_verify.models.runner_result import RUNNER_KEEPS_GLOBAL_SINK, predict_sequence

    graph = LifeGraph((LifeStage("a", (), "skip", 1.0, 0, ()),), named_sink=False)
    leaking = frozenset({RUNNER_KEEPS_GLOBAL_SINK, LIFECYCLE_EVENTS_MISSING})
    new, _ = predict_sequence(graph, ("runner", "plain"), leaking)
    old, kept = predict_sequence(graph, ("runner", "plain"), leaking, global_sink_default=False)
    assert new[0].events == ("stage.a.skipped", "stage.a.skipped")
    assert old[0].events == ("stage.a.skipped",) and not kept
