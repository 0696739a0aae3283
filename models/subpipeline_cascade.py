"""``cancel_with_children`` as the steps it takes, for batches where it races other operations.

The sequential model (:func:`models.subpipelines.step`) applies a cascade in one step. Stageflow
does not: ``cancel_recursive`` (stageflow/pipeline/subpipeline.py:546-565) reads a run's
children (``await self._tracker.get_children(current_id)``, under the tracker's lock), recurses
into each, and only then, under the spawner's lock, checks ``if current_id not in
self._canceled_runs``, marks the run and reads its parent for the event (``parent = await
self._tracker.get_parent(current_id)``). Every run is a separate acquisition of each lock, so
other operations run between the reads and the marks of one cascade:

- an abort whose run the cascade already reached ends that run (spawn's ``finally`` calls
  ``unregister_child``, line 523) before the cascade marks it: the run is marked and reported,
  and its event names no parent (``get_parent`` answers None for a run that is "not a child",
  ChildRunTracker.get_parent's docstring);
- two cascades over one subtree share the runs between them: each reports the runs it marked
  ("Returns: List of all canceled run IDs" of this call; a run already cancelled is skipped,
  as a second cascade after the first skips them all), so neither list is the whole subtree.

Neither breaks a promise: every run the cascade reached is cancelled exactly once, children
before parents within each cascade, and the docstrings promise no atomicity. So a cascade that
returned ``("canceled", marked)`` is split into atoms: one *walk* (the subtree it reaches, read
when it starts), one *mark* per run of ``marked`` in that order, and a *finish* (every run it
reached but did not mark was already cancelled when it looked). One walk stands for all of
``get_children``'s reads: they only read the tree, and the changes they can see (registrations
and ends in disjoint subtrees) commute with each other, so a single instant explains them.

For example::

    walked = walk(state, op, ["c1", "r0"])        # None: the result cannot come from this state
    state = mark(state, op, "c1", walked, mine)   # None: c1 cannot be marked now
    assert finish(state, walked, mine)
"""

from __future__ import annotations

from collections.abc import Sequence

from stageflow_verify.models.subpipelines import (
    RETAINS_CANCELED_IDS,
    Abort,
    Cancel,
    Finish,
    Op,
    State,
    abort_run,
    aborted_runs,
    ancestors,
    apply_marks,
    finish_run,
    post_order,
    subtree,
)

# An atom of a split batch: (index of its operation, what it is, the run it ends or marks).
Atom = tuple[int, str, str | None]
END, WALK, MARK, FINISH, WHOLE = "end", "walk", "mark", "finish", "whole"
# A finish split from the draining ancestors it ends: the released run's own end (RELEASE),
# then each ancestor's end (SETTLE, models.subpipelines.end_drained), a step of its own.
RELEASE, SETTLE = "release", "settle"


def splits(result: object) -> bool:
    """Is this cascade result split into atoms? Only a completed cascade: a raising one
    (``("raised", message, marked)``) reports marks by every concurrent cascade, in set order."""
    return isinstance(result, tuple) and len(result) == 2 and result[0] == "canceled"


def marks(result: object) -> tuple[str, ...]:
    assert isinstance(result, tuple) and splits(result)
    return tuple(result[1])


def walk(state: State, op: Cancel, mine: Sequence[str]) -> tuple[str, ...] | None:
    """The runs the cascade reaches if it starts now, or None if ``mine`` cannot be its marks:
    a run outside the subtree, a run twice, or a run before one of its descendants."""
    reached = tuple(subtree(state, op.run))
    if len(set(mine)) != len(mine) or not set(mine) <= set(reached):
        return None
    return reached if post_order(state, list(mine)) else None


def _checked(state: State, run: str) -> bool:
    # The cascade skipped ``run``: it was cancelled when the cascade looked. Where the model
    # keeps the promise that a run's id goes when it ends (SF-SUB-01 not adopted), an ended
    # run may have been cancelled and forgotten since.
    if run in state.canceled:
        return True
    return RETAINS_CANCELED_IDS not in state.config.deviations and not state.active(run)


def mark(
    state: State, op: Cancel, run: str, reached: tuple[str, ...], mine: Sequence[str]
) -> State | None:
    """The cascade marks ``run`` now (the next of ``mine``), or None if it could not have:
    ``run`` is already cancelled, or a descendant it reached and skipped is not cancelled."""
    if run in state.canceled:
        return None
    below = [r for r in reached if run in ancestors(state, r) and r not in mine]
    if not all(_checked(state, r) for r in below):
        return None
    return apply_marks(state, op, [run])


def finish(state: State, reached: tuple[str, ...], mine: Sequence[str]) -> bool:
    """Every run the cascade reached and did not mark was cancelled when it looked."""
    return all(_checked(state, r) for r in reached if r not in mine)


def settled(state: State, steps: Sequence[tuple[Op, object]]) -> dict[str, int]:
    """The draining runs the batch's finishes and aborts leave childless, so that they end too,
    each with the index of the last of those operations below it, deepest runs first.

    Which runs end does not depend on the order: the finishes and aborts of one batch are on
    disjoint lines of the tree and no batch spawns from a draining run
    (``SubpipelineComparison._batch``), so applying them in the batch's order finds them all.
    """
    after, aborted = state, set[str]()
    for op, _ in steps:
        if isinstance(op, Finish):
            after = finish_run(after, op)
        elif isinstance(op, Abort):
            aborted |= set(aborted_runs(state, op.run))
            after = abort_run(after, op.run)
    out: dict[str, int] = {}
    for run in sorted(state.runs, key=lambda r: -r.depth):
        if run.status != "draining" or run.label in aborted or after.active(run.label):
            continue
        below = [
            i
            for i, (op, _) in enumerate(steps)
            if isinstance(op, Finish | Abort) and run.label in ancestors(state, op.run)
        ]
        if below:
            out[run.label] = max(below)
    return out


def atoms(state: State, steps: Sequence[tuple[Op, object]]) -> list[Atom] | None:
    """A batch as atoms, or None if an abort or a finish returned something: each abort's
    ends, in an order that keeps a run's descendants before it; a finish that ends draining
    ancestors, as its release and each ancestor's settle (:func:`settled`); each completed
    cascade's walk, marks (in the order it returned them) and finish; every other operation
    whole."""
    atoms: list[Atom] = []
    settles = settled(state, steps)
    for i, (op, result) in enumerate(steps):
        if isinstance(op, Abort):
            if result is not None:
                return None  # an abort returns nothing
            atoms.extend((i, END, run) for run in aborted_runs(state, op.run))
        elif isinstance(op, Finish) and i in settles.values():
            if result is not None:
                return None  # a finish returns nothing
            atoms.append((i, RELEASE, op.run))
        elif isinstance(op, Cancel) and splits(result):
            atoms.append((i, WALK, None))
            atoms.extend((i, MARK, run) for run in marks(result))
            atoms.append((i, FINISH, None))
        else:
            atoms.append((i, WHOLE, None))
    atoms.extend((i, SETTLE, run) for run, i in settles.items())
    return atoms
