"""Concurrent batches of subpipeline operations, judged against the sequential model.

A batch starts two or three operations at once (spawns, finishes, task cancels,
``cancel_with_children``, ``is_canceled``) and lets the scheduler interleave them. The model is
sequential, so a batch is accepted when *some* order of its operations, applied one after the
other, gives the results each operation returned and ends in the state that was observed: the
batch is linearizable. With at most three operations that is at most six orders, so the search
is a plain loop over permutations; :mod:`core.linearizability` is the general tool when
operations carry their whole effect in their return values, which here they do not (a finish
returns nothing and its effect is the tracker, the results and the events).

Events interleave within a batch, so the events a batch added are compared as a multiset; the
ones before it must be unchanged.

For example::

    found = linearize(model, state, [(spawn, ("spawned",)), (cancel, result)], observed)
    assert found is not None, "no order of the batch explains what Stageflow did"
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from models.subpipelines import (
    Op,
    State,
    SubpipelineModel,
    data_view,
    depths_view,
    events_view,
    results_view,
    tracker_view,
)


def views(state: State) -> dict[str, Any]:
    """Everything the invariants compare, in the shape ``SubpipelineHarness.observe`` reports."""
    return {
        "tracker": tracker_view(state),
        "depths": depths_view(state),
        "canceled": sorted(state.canceled),
        "ctx_canceled": sorted(state.marked),
        "data": data_view(state),
        "results": results_view(state),
        "events": events_view(state),
    }


def _events_agree(before: int, model: dict[str, Any], observed: dict[str, Any]) -> bool:
    for sink in ("ambient", "context"):
        m, o = model[sink], observed[sink]
        if len(m) != len(o):
            return False
        cut = min(before, len(m))
        if m[:cut] != o[:cut] or sorted(map(repr, m[cut:])) != sorted(map(repr, o[cut:])):
            return False
    return True


def agrees(state: State, observed: dict[str, Any], before: State) -> bool:
    """Does ``observed`` match the model state, with batch events compared as a multiset?

    Cancelled contexts are compared as a range: a cascade that reaches a child between its
    registration and its runner's start has no context to mark yet, and no order of the batch
    can say which side of that gap the cascade fell on.
    """
    expected = views(state)
    events_before = len(before.events)
    for key, value in expected.items():
        if key == "ctx_canceled":
            seen = set(observed[key])
            if not (before.marked <= seen <= state.marked):
                return False
        elif key == "events":
            if not _events_agree(events_before, value, observed["events"]):
                return False
        elif observed[key] != value:
            return False
    return True


def linearize(
    model: SubpipelineModel,
    state: State,
    steps: Sequence[tuple[Op, object]],
    observed: dict[str, Any],
) -> tuple[State, tuple[int, ...]] | None:
    """The state after the first order of ``steps`` the observation agrees with, and the order.

    Each step is an operation and the result Stageflow returned for it. None when no order
    explains the observation: the batch was not linearizable against the model.
    """
    for order in itertools.permutations(range(len(steps))):
        current: State | None = state
        for i in order:
            op, result = steps[i]
            assert current is not None
            current = model.step(current, op, result)
            if current is None:
                break
        if current is not None and agrees(current, observed, state):
            current = replace(current, marked=frozenset(observed["ctx_canceled"]))
            return _in_observed_order(current, observed["events"], len(state.events)), order
    return None


def _in_observed_order(state: State, observed: dict[str, Any], before: int) -> State:
    # The batch's events agree as a multiset; keep them in the order they were emitted, so the
    # invariants after the batch can go on comparing whole lists.
    emitted = observed["ambient"] or observed["context"]
    fresh = list(state.events[before:])
    ordered = []
    for plain in emitted[before:]:
        match = next(e for e in fresh if e.plain() == plain)
        fresh.remove(match)
        ordered.append(match)
    return replace(state, events=state.events[:before] + tuple(ordered))
