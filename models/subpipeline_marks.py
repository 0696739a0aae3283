"""``cancel_with_children`` in one step: which runs a cascade marks, and what marking does.

The sequential model (:class:`models.subpipelines.SubpipelineModel`) checks a cascade's result
with :func:`cancel`: the runs it may mark (every registered descendant not already cancelled),
in an order a depth-first walk can produce (:func:`post_order`), and then applies the marks
(:func:`apply_marks`: the ids, the contexts, one event per run). Batches where a cascade races
other operations split it into steps instead (:mod:`models.subpipeline_cascade`), reusing
:func:`post_order` and :func:`apply_marks`.
"""

from __future__ import annotations

from dataclasses import replace

from stageflow_verify.models.subpipeline_events import Event, sink_error
from stageflow_verify.models.subpipeline_state import (
    CHILD_CONTEXT_UNMARKED,
    RETAINS_CANCELED_IDS,
    SINK_ABORTS_CASCADE,
    Cancel,
    CancelResult,
    State,
    ancestors,
    subtree,
)


def _contexts_marked(state: State, op: Cancel, marked: list[str]) -> set[str]:
    # "contexts: Optional map of run_id -> context for marking": the caller's contexts are
    # marked. Only a run whose runner started has a context (SF-SUB-03 leftovers do not).
    started = {r for r in marked if state.run(r).started}
    out = set(started) if op.with_contexts else set()
    if CHILD_CONTEXT_UNMARKED not in state.config.deviations:
        # Promise: the spawner created each child's context, so a cancelled child's own
        # ctx.is_canceled (what raise_if_cancelled and cancellation_checkpoint read) is True.
        out |= {r for r in started if state.run(r).parent is not None}
    return out


def _tracked_parent(state: State, label: str) -> str | None:
    run = state.run(label)
    return run.parent if run.registered else None


def cancel(state: State, op: Cancel, result: CancelResult) -> State | None:
    # "Cancel a run and all its children (depth-first)": children before parents, siblings in
    # whatever order the tracker's set yields, runs already cancelled skipped but traversed.
    fresh = [r for r in subtree(state, op.run) if r not in state.canceled]
    if result[0] == "raised":
        marked = list(result[2])  # type: ignore[call-overload]
        if state.config.failing_event != "canceled" or result[1] != sink_error("canceled"):
            return None
        if SINK_ABORTS_CASCADE in state.config.deviations:
            # The first fresh run in depth-first order is marked, then the emit raises.
            minimal = [r for r in fresh if not any(r in ancestors(state, f) for f in fresh)]
            if len(marked) != 1 or marked[0] not in minimal:
                return None
        elif sorted(marked) != sorted(fresh):
            return None
    else:
        marked = list(result[1])  # type: ignore[call-overload]
        if sorted(marked) != sorted(fresh):
            return None
    if not post_order(state, marked):
        return None  # a run was marked before one of its descendants
    return apply_marks(state, op, marked)


def post_order(state: State, marked: list[str]) -> bool:
    """Does ``marked`` list every run after its descendants, as a depth-first cascade would?"""
    position = {r: i for i, r in enumerate(marked)}
    return not any(
        position.get(a, -1) < position[r]
        for r in marked
        for a in ancestors(state, r)
        if a in position
    )


def apply_marks(state: State, op: Cancel, marked: list[str]) -> State:
    """The effect of ``op`` marking ``marked`` now: ids, contexts and one event per run."""
    # cascade_depth: "0 for root, 1 for child, etc." (docs/advanced/subpipelines.md:809), the
    # cascade's recursion depth: hops below op.run, not a difference of recorded depths (a
    # spawn from a hand-forked context records depth 1 under SF-SUB-08 at any true depth).
    hops0 = len(ancestors(state, op.run))
    # The event's parent is ``await self._tracker.get_parent(current_id)``: a run that already
    # ended (a race lets cancel_with_children reach one) is no longer tracked, so its event
    # names no parent. A user would rather see the parent, but a cancel that lands after the
    # run ended is hardly a cancel of that run; the model follows Stageflow.
    events = tuple(
        Event("canceled", r, _tracked_parent(state, r), depth=len(ancestors(state, r)) - hops0)
        for r in marked
    )
    kept = set(marked)
    if RETAINS_CANCELED_IDS not in state.config.deviations:
        kept = {r for r in kept if state.run(r).parent is None or state.active(r)}
    return replace(
        state,
        canceled=state.canceled | kept,
        marked=state.marked | _contexts_marked(state, op, marked),
        events=state.events + events,
    )
