"""Concurrent batches of subpipeline operations, judged against the sequential model.

A batch starts two or three operations at once (spawns, finishes, task cancels,
``cancel_with_children``, ``is_canceled``) and lets the scheduler interleave them. The model is
sequential, so a batch is accepted when *some* order of its operations, applied one after the
other, gives the results each operation returned and ends in the state that was observed: the
batch is linearizable. With at most three operations that is at most six orders, so the search
is a plain loop over permutations; :mod:`core.check.linearizability` is the general tool when
operations carry their whole effect in their return values, which here they do not (a finish
returns nothing and its effect is the tracker, the results and the events).

An ``Abort`` is not atomic: its runs end one at a time, descendants first
(:func:`~models.subpipelines.end_aborted`), and a ``cancel_with_children`` racing it can walk the
tree between two of those ends. Nor is a cascade: it marks one run at a time
(:mod:`models.subpipeline_cascade`). Nor is the end of a draining parent: when a finish or an
abort ends its last child, the parent's runner returns in a step of its own
(:func:`~models.subpipelines.end_drained`), and a cascade can mark the parent in between. When
no order of whole operations explains a batch, the search splits every abort into its steps,
every finish that leaves a draining ancestor childless into its release and each ancestor's
settle, and every completed cascade into its walk, marks and finish, and tries every
interleaving of them with the other operations (each abort's steps in an order that keeps a
run's descendants before it, a settle once its run has no active child, each cascade's atoms in
their order).

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

from stageflow_verify.models import subpipeline_cascade as cascade
from stageflow_verify.models.subpipeline_cascade import (
    END,
    FINISH,
    MARK,
    RELEASE,
    SETTLE,
    WALK,
    WHOLE,
)
from stageflow_verify.models.subpipelines import (
    Abort,
    Cancel,
    Finish,
    IsCanceled,
    Op,
    State,
    SubpipelineModel,
    aborted_runs,
    ancestors,
    data_view,
    depths_view,
    drained,
    end_aborted,
    end_drained,
    events_view,
    finish_run,
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

    Each step is an operation and the result Stageflow returned for it. Whole operations are
    tried first; then every abort split into its steps (the order then lists each operation
    where its last step fell). None when no order explains the observation: the batch was not
    linearizable against the model.
    """
    found = _whole(model, state, steps, observed) or _split(model, state, steps, observed)
    if found is None:
        return None
    current, order = found
    current = replace(current, marked=frozenset(observed["ctx_canceled"]))
    return _in_observed_order(current, observed["events"], len(state.events)), order


def _whole(
    model: SubpipelineModel,
    state: State,
    steps: Sequence[tuple[Op, object]],
    observed: dict[str, Any],
) -> tuple[State, tuple[int, ...]] | None:
    for order in itertools.permutations(range(len(steps))):
        current: State | None = state
        for i in order:
            op, result = steps[i]
            assert current is not None
            current = model.step(current, op, result)
            if current is None:
                break
        if current is not None and agrees(current, observed, state):
            return current, order
    return None


def _split(
    model: SubpipelineModel,
    state: State,
    steps: Sequence[tuple[Op, object]],
    observed: dict[str, Any],
) -> tuple[State, tuple[int, ...]] | None:
    atoms = cascade.atoms(state, steps)
    if atoms is None or len(atoms) == len(steps):
        return None  # nothing to split: _whole tried every order already
    below = {
        k: {
            j
            for j, (i, kind, r) in enumerate(atoms)
            if kind == END and i == step and r and run in ancestors(state, r)
        }
        for k, (step, kind, run) in enumerate(atoms)
        if kind == END
    }
    watches = {
        k: (
            # A settle or a release may follow its own abort's ends, or anyone's: no pruning.
            set(range(len(steps)))
            if kind in (RELEASE, SETTLE)
            else {j for j, (other, _) in enumerate(steps) if _observes(state, steps[i][0], other)}
        )
        for k, (i, kind, _) in enumerate(atoms)
        if kind != END
    }

    # Lowe's memo: (atoms taken, floor, burst, walks, state) that led nowhere. Orders of
    # commuting atoms reach the same state, which without it the search would explore once
    # per order. A cascade's atoms are taken in their order, the walk first.
    dead: set[tuple[frozenset[int], int, frozenset[int], str]] = set()
    Walks = tuple[tuple[int, tuple[str, ...]], ...]

    def search(
        current: State, done: tuple[int, ...], floor: int, burst: frozenset[int], walks: Walks
    ) -> tuple[State, tuple[int, ...]] | None:
        key = (frozenset(done), floor, burst, repr(walks) + _state_key(current))
        if key in dead:
            return None
        found = explore(current, done, floor, burst, walks)
        if found is None:
            dead.add(key)
        return found

    def take(current: State, k: int, walks: Walks) -> tuple[State | None, Walks]:
        i, kind, run = atoms[k]
        op, result = steps[i]
        if kind == WHOLE:
            return model.step(current, op, result), walks
        if kind == RELEASE:
            assert isinstance(op, Finish)
            return finish_run(current, op, settle=False), walks
        if kind == SETTLE:
            assert run is not None
            return end_drained(current, run), walks
        assert isinstance(op, Cancel)
        if kind == WALK:
            reached = cascade.walk(current, op, cascade.marks(result))
            return current, (walks if reached is None else (*walks, (i, reached)))
        reached = dict(walks)[i]
        if kind == MARK:
            assert run is not None
            return cascade.mark(current, op, run, reached, cascade.marks(result)), walks
        ok = cascade.finish(current, reached, cascade.marks(result))
        return (current if ok else None), walks

    def explore(
        current: State, done: tuple[int, ...], floor: int, burst: frozenset[int], walks: Walks
    ) -> tuple[State, tuple[int, ...]] | None:
        if len(done) == len(atoms):
            if any(drained(current, r.label) for r in current.runs):
                return None  # a runner left childless must have returned
            if not agrees(current, observed, state):
                return None
            last = {atoms[d][0]: n for n, d in enumerate(done)}
            return current, tuple(sorted(last, key=last.__getitem__))
        for k, (i, kind, run) in enumerate(atoms):
            if k in done:
                continue
            nxt: State | None
            if kind == END:
                # Steps of aborts taken back to back go in atom order: their order among
                # themselves changes nothing, only which of them precede another operation.
                if k <= floor or not below[k] <= set(done):
                    continue
                op = steps[i][0]
                assert isinstance(op, Abort) and run is not None
                nxt, nfloor, nburst, nwalks = (
                    end_aborted(current, op.run, run, settle=False),
                    k,
                    burst | {i},
                    walks,
                )
            else:
                if kind in (MARK, FINISH) and k - 1 not in done:
                    continue  # a cascade's atoms go in order
                # Abort steps taken just before an operation that cannot see them commute
                # with it: only the order with them after it is tried.
                if not burst <= watches[k]:
                    continue
                nxt, nwalks = take(current, k, walks)
                if kind == WALK and nwalks == walks:
                    nxt = None  # the cascade's marks cannot come from this walk
                nfloor, nburst = -1, frozenset[int]()
            if nxt is not None:
                found = search(nxt, (*done, k), nfloor, nburst, nwalks)
                if found is not None:
                    return found
        return None

    return search(state, (), -1, frozenset(), ())


def _observes(state: State, op: Op, other: Op) -> bool:
    """Can ``op``'s result or effect depend on how far the abort ``other`` has got?

    An abort ends runs of its own subtree; the draining ancestors it leaves childless end in
    settle steps of their own, which are never pruned (the set below still counts them).
    A cancel reads the whole subtree of its target; ``is_canceled`` reads one run. Spawns and
    finishes in a batch never touch an aborted subtree or its ancestors' draining
    (``SubpipelineComparison._batch`` drops such moves), so they commute with its steps.
    """
    if not isinstance(other, Abort) or not isinstance(op, Cancel | IsCanceled):
        return False
    near = set(aborted_runs(state, other.run))
    if isinstance(op, Cancel):
        return op.run in near | ancestors(state, other.run)
    parent = state.run(other.run).parent
    while parent is not None and state.run(parent).status == "draining":
        near.add(parent)  # ends with the aborted run's last step, if that was its last child
        parent = state.run(parent).parent
    return op.run in near


def _state_key(state: State) -> str:
    # Everything a later step or the comparison reads, with the batch's results and events
    # (compared as a multiset) in a canonical order.
    results = sorted((label, repr(result)) for label, result in state.results)
    events = sorted(map(repr, state.events))
    return repr((state.runs, sorted(state.canceled), sorted(state.marked), events, results))


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
