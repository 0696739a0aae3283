"""Races the subpipeline machine once got wrong, replayed with a fixed schedule.

Nightly, ``subpipelines.spawn_tree``: ``Abort(c5)`` raced ``Cancel(r0) -> ['c5', 'c4']`` over
r0 <- c4 <- c5 <- c6, and no order of the batch explained it. The abort ends c6 (cancelled by
c5's runner, which awaits it) before c5; the cascade walked the tree in between, so it marked c5
and c4 but never saw c6. Stageflow is right (c6 had ended and left the tracker); the model took
an abort for one atomic step. The replay below is that race, shrunk to r0 <- c1 <- c2 <- c3.

Nightly and dev, ``subpipelines.spawn_tree`` (issue 19): ``Cancel(r0)`` racing ``Abort(c5)``
returned c5 among the cancelled runs with a ``canceled`` event whose parent is None; and two
``Cancel(r0)`` racing each other returned ``['c1']`` and ``['c2', 'r0']``. Stageflow is right
both times: ``cancel_recursive`` reads the children, recurses, then marks each run under its own
acquisition of the spawner's lock and reads its parent then (stageflow/pipeline/subpipeline.py
546-565), so an abort can end a reached run before it is marked (``get_parent``: None, "not a
child") and two cascades share the runs. The model took a cascade for one atomic step; it now
splits a racing cascade into its walk, marks and finish (:mod:`models.subpipeline_cascade`).

ci under pytest (the whole suite imported, so Hypothesis drew other examples),
``subpipelines.spawn_tree``: ``Cancel(r0) -> ['c1']`` raced ``Finish(c2)`` over r0 <- c1 <- c2
with r0 already cancelled and c1 draining on c2, and Stageflow emitted ``canceled(c1)`` between
c2's and c1's completions. Stageflow is right: c2's ``spawn`` emits its completion and leaves
the tracker (stageflow/pipeline/subpipeline.py:497-498, 521-526) before c1's runner, awaiting
it, is woken to return, so the cascade no longer reaches c2 but still marks the running c1. The
model ended a draining parent in the same step as its last child; it now ends it in a step of
its own (:func:`models.subpipelines.end_drained`).

Dev, the same check, a sink failing on ``pipeline.canceled`` (SF-SUB-05 adopted): three
cascades raced, and the last reported ``['r1', 'r2']`` as the runs it marked before its emit
raised, though r1 was another cascade's. The harness reported every id the spawner gained while
the cascade ran; it now counts only the 'canceled' emits of the cascade's own task.
"""

from __future__ import annotations

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.core.sched.choosers import ReplayChooser
from stageflow_verify.models.subpipeline_batches import linearize, views
from stageflow_verify.models.subpipeline_events import Event
from stageflow_verify.models.subpipelines import (
    Abort,
    Cancel,
    Config,
    Finish,
    Op,
    Spawn,
    State,
    SubpipelineModel,
)
from stageflow_verify.stateful.subpipeline_machine import (
    FINDINGS,
    SubpipelineComparison,
    comparison_for,
)

MODEL = SubpipelineModel()
# The scheduler's choices that let c3 end, and the cascade run, before c2's runner returns.
ABORT_BEFORE_CASCADE = (0, 1, 2)


def test_a_cascade_racing_an_abort_may_miss_descendants_that_already_ended() -> None:
    machine = comparison_for(reproducing_ids(FINDINGS))()
    try:
        machine.configure(roots=1, max_depth=None, failing_event=None, sink_delay=0)
        machine.spawn_child(parent=0, inherit=False, length=3)  # r0 <- c1 <- c2 <- c3
        chooser = ReplayChooser(ABORT_BEFORE_CASCADE)
        # Raised "no order of this batch explains what Stageflow did" before aborts were split.
        machine.race_ops([Abort("c2"), Cancel("r0", with_contexts=False)], chooser)
        observed = machine._observed()
        assert observed["canceled"] == ["c1", "c2", "r0"]  # c3 ended before the cascade
        assert observed["results"]["c3"]["kind"] == observed["results"]["c2"]["kind"]
        assert observed["results"]["c2"]["kind"] == "cancelled"
        machine.every_live_descendant_of_a_cancelled_run_is_cancelled()
        machine.tracker_holds_exactly_the_live_children()
        machine.results_and_events_agree_with_the_model()
        machine.cancelled_runs_see_it()
    finally:
        machine.teardown()


def _race(ops: list[Op], schedule: tuple[int, ...]) -> dict[str, object]:
    # r0 <- c1, r0 <- c2 with a sink that yields once per emit, so a cascade holding the
    # spawner's lock lets others run; the observation after the race and the invariants.
    machine = comparison_for(reproducing_ids(FINDINGS))()
    try:
        machine.configure(roots=1, max_depth=None, failing_event=None, sink_delay=1)
        machine.spawn_child(parent=0, inherit=False, length=1)
        machine.spawn_child(parent=1, inherit=False, length=1)  # the newest but one: r0
        # Raised "no order of this batch explains what Stageflow did" with an atomic cascade.
        machine.race_ops(ops, ReplayChooser(schedule))
        machine.every_live_descendant_of_a_cancelled_run_is_cancelled()
        machine.tracker_holds_exactly_the_live_children()
        machine.results_and_events_agree_with_the_model()
        machine.cancelled_runs_see_it()
        return machine._observed()
    finally:
        machine.teardown()


def _cancel_events(observed: dict[str, object]) -> list[object]:
    events = observed["events"]
    assert isinstance(events, dict)
    return [e for e in events["ambient"] if e["type"] == "canceled"]


def test_a_cascade_may_mark_a_child_that_ended_after_it_was_reached() -> None:
    # The cascade reads r0's children {c1, c2}, marks c1 and yields in the emit; c2's abort
    # unregisters c2; the cascade marks c2, and get_parent(c2) is None.
    observed = _race([Abort("c2"), Cancel("r0")], (0, 2))
    assert Event("canceled", "c2", None, depth=1).plain() in _cancel_events(observed)
    assert observed["tracker"] == {"children": {"r0": ["c1"]}, "parents": {"c1": "r0"}}


def test_two_cascades_over_one_tree_share_its_runs() -> None:
    # One cascade returned ['c1'], the other ['c2', 'r0']: each run once, by one of them.
    observed = _race([Abort("c1"), Cancel("r0"), Cancel("r0")], (0, 0, 1))
    assert sorted(e["run"] for e in _cancel_events(observed)) == ["c1", "c2", "r0"]  # type: ignore[index]


def test_a_raising_cascade_reports_only_its_own_marks() -> None:
    machine = comparison_for(reproducing_ids(FINDINGS))()
    try:
        machine.configure(roots=3, max_depth=None, failing_event="canceled", sink_delay=1)
        machine.spawn_child(parent=0, inherit=False, length=1)  # r2 <- c1
        # The r1 cascade holds the spawner's lock through its slow emit while both r2
        # cascades start; the second once claimed r1's mark as its own.
        ops: list[Op] = [Cancel("r1"), Cancel("r2"), Cancel("r2")]
        machine.race_ops(ops, ReplayChooser((1,)))
        machine.results_and_events_agree_with_the_model()
        assert machine._observed()["canceled"] == ["c1", "r1", "r2"]
    finally:
        machine.teardown()


def _siblings() -> tuple[State, dict[str, object]]:
    # r0 <- c1, r0 <- c2, and what one cascade over r0 leaves (events compare as a multiset).
    state = MODEL.init(Config(("r0",)))
    for child in ("c1", "c2"):
        after = MODEL.step(state, Spawn("r0", child), ("spawned",))
        assert after is not None
        state = after
    done = MODEL.step(state, Cancel("r0"), ("canceled", ["c1", "c2", "r0"]))
    assert done is not None
    return state, views(done)


def test_a_split_cascade_explains_only_what_stageflow_can_do() -> None:
    state, observed = _siblings()
    cancel = Cancel("r0")

    def explained(*results: list[str]) -> bool:
        steps: list[tuple[Op, object]] = [(cancel, ("canceled", r)) for r in results]
        return linearize(MODEL, state, steps, observed) is not None

    assert explained(["c1"], ["c2", "r0"])  # two cascades share the runs
    assert explained(["c1", "r0"], ["c2"])  # the other marked c2 before this one looked
    assert not explained(["r0", "c1"], ["c2"])  # r0 marked before its child c1
    assert not explained(["c1"], ["r0"])  # c2 reached by both, cancelled by neither
    assert not explained(["c1", "c2", "r0"], ["c1"])  # c1 cancelled twice
    # A run still registered has its parent in its event, whatever the race.
    orphaned = dict(observed, events={"ambient": [], "context": []})
    events = observed["events"]
    assert isinstance(events, dict)
    orphaned["events"] = {
        "ambient": [],
        "context": [
            dict(e, parent=None) if e.get("run") == "c2" and e["type"] == "canceled" else e
            for e in events["context"]
        ],
    }
    result = ("canceled", ["c1", "c2", "r0"])
    assert linearize(MODEL, state, [(cancel, result)], orphaned) is None


def _chain() -> State:
    state = MODEL.init(Config(("r0",)))
    for parent, child in (("r0", "c1"), ("c1", "c2"), ("c2", "c3")):
        after = MODEL.step(state, Spawn(parent, child), ("spawned",))
        assert after is not None
        state = after
    return state


def test_an_abort_splits_into_its_ends_only_where_they_explain_a_cascade() -> None:
    state, abort, cancel = _chain(), Abort("c2"), Cancel("r0")
    # Whole, neither order explains the cascade; split, c3's end, the cascade, c2's end does.
    result = ("canceled", ["c2", "c1", "r0"])
    found = linearize(MODEL, state, [(abort, None), (cancel, result)], _observed(state, result))
    # The cascade marked c2 before c2 ended (its event names c1); its finish, which reads no
    # run c2's end changes, may be ordered either side of that end.
    assert found is not None
    assert found[0].canceled == {"c1", "r0"} and found[0].run("c3").status == "ended"
    # A cascade that saw c3 but not its still-registered parent c2 is explained by no split.
    wrong = ("canceled", ["c3", "c1", "r0"])
    assert (
        linearize(MODEL, state, [(abort, None), (cancel, wrong)], _observed(state, wrong)) is None
    )


def _observed(state: State, result: tuple[str, list[str]]) -> dict[str, object]:
    # What Stageflow reports after c3 ends, the cascade marks ``result``, then c2 ends.
    parents = {"c1": "r0", "c2": "c1", "c3": "c2"}
    events: list[object] = [Event("spawned", c, p).plain() for c, p in parents.items()]
    events += [
        Event("canceled", r, parents.get(r), depth=d).plain()
        for r, d in zip(result[1], (2, 1, 0), strict=True)
    ]
    cancelled = {"kind": "cancelled", "data": None, "error": None}
    return {
        "tracker": {"children": {"r0": ["c1"]}, "parents": {"c1": "r0"}},
        "depths": {"c1": 1},
        "canceled": ["c1", "r0"],  # the promise: c2's id goes when c2 ends
        "ctx_canceled": ["c1", "c2"],
        "data": views(state)["data"],
        "results": {"c2": cancelled, "c3": cancelled},
        "events": {"ambient": [], "context": events},
    }


# The scheduler's choices that let c2 end, and the cascade walk r0's tree, before c1's runner
# (awaiting c2) returns.
CHILD_ENDS_BEFORE_CASCADE = (1, 1)
PARENT_DRAINING_BATCH: list[Op] = [Cancel("r0"), Finish("c2")]


def draining_parent_machine() -> SubpipelineComparison:
    """r0 (cancelled) <- c1 (draining on c2) <- c2 (live): the state before the batch."""
    machine = comparison_for(reproducing_ids(FINDINGS))()
    machine.configure(roots=1, max_depth=None, failing_event=None, sink_delay=0)
    machine.cancel_with_children(run=0, with_contexts=False)  # r0 cancelled first
    machine.spawn_child(parent=0, inherit=False, length=2)  # r0 <- c1 <- c2 (SF-SUB-02: unmarked)
    machine.finish_child(run=0, outcome="none")  # c1 drains on c2
    assert machine._s().run("c1").status == "draining"
    return machine


def test_a_cascade_may_mark_a_draining_parent_between_its_last_childs_end_and_its_own() -> None:
    machine = draining_parent_machine()
    try:
        # Raised "no order of this batch explains what Stageflow did" while a draining parent
        # ended in the same step as its last child.
        machine.race_ops(PARENT_DRAINING_BATCH, ReplayChooser(CHILD_ENDS_BEFORE_CASCADE))
        observed = machine._observed()
        events = observed["events"]
        assert isinstance(events, dict)
        order = [(e["type"], e["run"]) for e in events["ambient"][-3:]]
        assert order == [("completed", "c2"), ("canceled", "c1"), ("completed", "c1")]
        assert observed["canceled"] == ["c1", "r0"]  # c1 marked; c2 had left the tracker
        machine.every_live_descendant_of_a_cancelled_run_is_cancelled()
        machine.tracker_holds_exactly_the_live_children()
        machine.results_and_events_agree_with_the_model()
        machine.cancelled_runs_see_it()
    finally:
        machine.teardown()


def test_a_parent_ends_in_a_step_of_its_own_only_when_it_was_draining() -> None:
    # The model's side of the split: r0 <- c1 <- c2, a cascade over r0 racing c2's finish, as
    # the batch above reported it (c1's id kept, SF-SUB-01, as in the machine).
    live = MODEL.init(Config(("r0",), deviations=frozenset({"SF-SUB-01"})))
    for op, result in ((Spawn("r0", "c1"), ("spawned",)), (Spawn("c1", "c2"), ("spawned",))):
        after = MODEL.step(live, op, result)
        assert after is not None
        live = after
    draining = MODEL.step(live, Finish("c1"), None)
    assert draining is not None
    cancel, finish = Cancel("r0"), Finish("c2")
    ended = MODEL.step(draining, finish, None)
    assert ended is not None and ended.run("c1").status == "ended"
    marked = MODEL.step(ended, cancel, ("canceled", ["r0"]))
    assert marked is not None
    observed = views(marked)
    observed["canceled"] = ["c1", "r0"]
    observed["events"] = {
        "ambient": [],
        "context": [
            *(e.plain() for e in draining.events),
            Event("completed", "c2", "c1").plain(),
            Event("canceled", "c1", "r0", depth=1).plain(),
            Event("canceled", "r0", None, depth=0).plain(),
            Event("completed", "c1", "r0").plain(),
        ],
    }
    steps: list[tuple[Op, object]] = [(cancel, ("canceled", ["c1", "r0"])), (finish, None)]
    # c2 ends, the cascade walks {r0, c1} and marks c1 and r0, then c1's runner returns (the
    # finish's last step: the order lists the cascade first).
    found = linearize(MODEL, draining, steps, observed)
    assert found is not None and found[1] == (0, 1)
    assert found[0].run("c1").status == "ended" and found[0].canceled == {"c1", "r0"}
    # Whole, no order explains it: first, the cascade reaches c2; after c2's finish, c1 is gone.
    assert MODEL.step(draining, *steps[0]) is None
    assert MODEL.step(ended, *steps[0]) is None
    # Had c1 not been draining, nothing ends it: the same report is explained by no order.
    assert linearize(MODEL, live, steps, observed) is None
