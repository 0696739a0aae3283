"""Races the subpipeline machine once got wrong, replayed with a fixed schedule.

Nightly, ``subpipelines.spawn_tree``: ``Abort(c5)`` raced ``Cancel(r0) -> ['c5', 'c4']`` over
r0 <- c4 <- c5 <- c6, and no order of the batch explained it. The abort ends c6 (cancelled by
c5's runner, which awaits it) before c5; the cascade walked the tree in between, so it marked c5
and c4 but never saw c6. Stageflow is right (c6 had ended and left the tracker); the model took
an abort for one atomic step. The replay below is that race, shrunk to r0 <- c1 <- c2 <- c3.
"""

from __future__ import annotations

from core.run.checks import reproducing_ids
from core.sched.choosers import ReplayChooser
from models.subpipeline_batches import linearize, views
from models.subpipelines import Abort, Cancel, Config, Spawn, State, SubpipelineModel
from stateful.subpipeline_machine import FINDINGS, comparison_for

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
    assert found is not None and found[1] == (1, 0)  # the cascade finished first
    assert found[0].canceled == {"c1", "r0"} and found[0].run("c3").status == "ended"
    # A cascade that saw c3 but not its still-registered parent c2 is explained by no split.
    wrong = ("canceled", ["c3", "c1", "r0"])
    assert (
        linearize(MODEL, state, [(abort, None), (cancel, wrong)], _observed(state, wrong)) is None
    )


def _observed(state: State, result: tuple[str, list[str]]) -> dict[str, object]:
    # What Stageflow reports after c3 ends, the cascade marks ``result``, then c2 ends.
    events: list[dict[str, object]] = [
        {"type": "spawned", "run": "c1", "parent": "r0"},
        {"type": "spawned", "run": "c2", "parent": "c1"},
        {"type": "spawned", "run": "c3", "parent": "c2"},
    ]
    parents = {"c1": "r0", "c2": "c1", "c3": "c2"}
    events += [
        {"type": "canceled", "run": r, "parent": parents.get(r), "cascade_depth": d}
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
