"""The subpipeline model on its own: depth limits, draining, cancel cascades, batches."""

from __future__ import annotations

from stageflow_verify.models.subpipeline_batches import linearize, views
from stageflow_verify.models.subpipeline_events import Outcome, sink_error
from stageflow_verify.models.subpipelines import (
    SINK_ABORTS_CASCADE,
    Abort,
    Cancel,
    Config,
    Finish,
    IsCanceled,
    Spawn,
    State,
    SubpipelineModel,
    depths_view,
    tracker_view,
)

MODEL = SubpipelineModel()


def grow(state: State, *spawns: tuple[str, str]) -> State:
    for parent, child in spawns:
        after = MODEL.step(state, Spawn(parent, child), ("spawned",))
        assert after is not None, (parent, child)
        state = after
    return state


def test_spawns_past_max_depth_are_refused_with_the_parent_depth() -> None:
    state = grow(MODEL.init(Config(("r0",), max_depth=2)), ("r0", "c1"), ("c1", "c2"))
    assert MODEL.step(state, Spawn("c2", "c3"), ("refused", 2, 2)) == state
    assert MODEL.step(state, Spawn("c2", "c3"), ("spawned",)) is None


def test_the_default_max_depth_allows_five_levels() -> None:
    state = MODEL.init(Config(("r0",)))
    state = grow(state, ("r0", "c1"), ("c1", "c2"), ("c2", "c3"), ("c3", "c4"), ("c4", "c5"))
    assert depths_view(state)["c5"] == 5
    assert MODEL.step(state, Spawn("c5", "c6"), ("refused", 5, 5)) is not None


def test_a_finished_parent_drains_until_its_last_child_ends() -> None:
    state = grow(MODEL.init(Config(("r0",))), ("r0", "c1"), ("c1", "c2"))
    state = MODEL.expected(state, Finish("c1", Outcome("dict")))[0]
    assert state.run("c1").status == "draining"
    assert tracker_view(state)["parents"] == {"c1": "r0", "c2": "c1"}
    state = MODEL.expected(state, Finish("c2", Outcome("raise")))[0]
    assert tracker_view(state) == {"children": {}, "parents": {}}
    assert [(e.kind, e.run) for e in state.events[2:]] == [("failed", "c2"), ("completed", "c1")]


def test_cancelling_a_task_ends_its_whole_subtree_without_events() -> None:
    state = grow(MODEL.init(Config(("r0",))), ("r0", "c1"), ("c1", "c2"))
    state = MODEL.expected(state, Abort("c1"))[0]
    assert [label for label, _ in state.results] == ["c2", "c1"]  # children end first
    assert {r.kind for _, r in state.results} == {"cancelled"}
    assert len(state.events) == 2  # the two spawns only


def test_a_cascade_must_mark_children_before_parents_in_any_sibling_order() -> None:
    state = grow(MODEL.init(Config(("r0",))), ("r0", "c1"), ("r0", "c2"), ("c1", "c3"))
    for order in (["c3", "c1", "c2", "r0"], ["c2", "c3", "c1", "r0"]):
        assert MODEL.step(state, Cancel("r0"), ("canceled", order)) is not None
    assert MODEL.step(state, Cancel("r0"), ("canceled", ["c1", "c3", "c2", "r0"])) is None
    assert MODEL.step(state, Cancel("r0"), ("canceled", ["c3", "c1", "r0"])) is None


def test_an_aborted_cascade_marks_one_deepest_fresh_run_when_the_finding_is_adopted() -> None:
    config = Config(("r0",), failing_event="canceled", deviations=frozenset({SINK_ABORTS_CASCADE}))
    state = grow(MODEL.init(config), ("r0", "c1"), ("c1", "c2"))
    raised = ("raised", sink_error("canceled"))
    assert MODEL.step(state, Cancel("r0"), (*raised, ["c2"])) is not None
    assert MODEL.step(state, Cancel("r0"), (*raised, ["c1"])) is None


def test_is_canceled_reads_the_spawner_and_the_context() -> None:
    state = grow(MODEL.init(Config(("r0",))), ("r0", "c1"))
    after = MODEL.step(state, Cancel("r0", with_contexts=True), ("canceled", ["c1", "r0"]))
    assert after is not None
    assert MODEL.expected(after, IsCanceled("c1"))[1] == (True, True)


def test_a_batch_is_accepted_when_some_order_explains_it() -> None:
    state = grow(MODEL.init(Config(("r0",))), ("r0", "c1"))
    finish = Finish("c1", Outcome("none"))
    spawn = Spawn("r0", "c2")
    expected = MODEL.step(MODEL.expected(state, finish)[0], spawn, ("spawned",))
    assert expected is not None
    found = linearize(MODEL, state, [(spawn, ("spawned",)), (finish, None)], views(expected))
    assert found is not None  # both orders agree: batch events compare as a multiset
    wrong = views(state)
    assert linearize(MODEL, state, [(spawn, ("spawned",)), (finish, None)], wrong) is None


def test_a_child_of_a_root_without_a_run_id_is_counted_but_neither_tracked_nor_announced() -> None:
    state = grow(MODEL.init(Config(("r0",), unidentified=frozenset({"r0"}))), ("r0", "c1"))
    state = grow(state, ("c1", "c2"))
    # c1 runs at depth 1 (recorded); the tracker holds c2 under c1, never c1 under r0.
    assert depths_view(state) == {"c1": 1, "c2": 2}
    assert tracker_view(state) == {"children": {"c1": ["c2"]}, "parents": {"c2": "c1"}}
    assert [(e.kind, e.run) for e in state.events] == [("spawned", "c2")]  # none names r0
    done = MODEL.step(state, Finish("c2"), None)
    done = done and MODEL.step(done, Finish("c1", Outcome("dict")), None)
    assert done is not None
    assert [(e.kind, e.run) for e in done.events] == [("spawned", "c2"), ("completed", "c2")]
    assert dict(done.results)["c1"].plain() == {"kind": "ok", "data": {"out": "c1"}, "error": None}


def test_a_failing_sink_never_touches_a_child_of_a_root_without_a_run_id() -> None:
    config = Config(("r0",), failing_event="spawned", unidentified=frozenset({"r0"}))
    state = grow(MODEL.init(config), ("r0", "c1"))  # spawned: the sink was never asked
    assert state.events == () and depths_view(state) == {"c1": 1}
