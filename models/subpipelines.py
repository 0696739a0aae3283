"""A pure sequential model of Stageflow's subpipeline spawner and child-run tracker.

The model holds a forest of runs. Roots are contexts the user created; every other run is a
child that ``SubpipelineSpawner.spawn`` started from a live run. A child is *registered* (the
tracker knows it, the spawner knows its depth) from its spawn until it ends. A child ends when
its runner returns or raises, or when its task is cancelled; a runner that finishes while its own
children are still running *drains* first (it awaits them, as a pipeline awaits its stages), so
a parent always outlives its children. ``cancel_with_children`` marks a run and every registered
descendant; cancellation is cooperative, so a marked run keeps running until it finishes.

Each rule quotes the Stageflow docstring it encodes. Where the docstring is silent or a user
would reasonably expect something else, the rule follows the expectation (the *promise*), and a
known finding that still reproduces swaps in Stageflow's actual behaviour as a named *deviation*
(the ids in :class:`Config.deviations`), so the machine keeps hunting past a known bug.

The model is Porcupine-shaped: :meth:`SubpipelineModel.step` takes the state, an operation and
the result the system under test produced, and returns the next state, or None when the result
is impossible. The views (:func:`tracker_view`, :func:`depths_view`, ...) project a state into
the same plain dicts and lists the adapter reports (``core/sut/subpipeline_observations.py``).

For example::

    model = SubpipelineModel()
    s = model.init(Config(roots=("r0",)))
    s = model.step(s, Spawn("r0", "c1"), ("spawned",))
    assert tracker_view(s) == {"children": {"r0": ["c1"]}, "parents": {"c1": "r0"}}
"""

from __future__ import annotations

from dataclasses import replace

from stageflow_verify.models.subpipeline_events import (
    Event,
    Outcome,
    RunResult,
    end_events,
    sink_error,
)

# The model's parts, re-exported: callers import the model from here.
from stageflow_verify.models.subpipeline_marks import apply_marks as apply_marks
from stageflow_verify.models.subpipeline_marks import cancel as cancel
from stageflow_verify.models.subpipeline_marks import post_order as post_order
from stageflow_verify.models.subpipeline_state import AMBIENT_SINK_ONLY as AMBIENT_SINK_ONLY
from stageflow_verify.models.subpipeline_state import (
    CHILD_CONTEXT_UNMARKED as CHILD_CONTEXT_UNMARKED,
)
from stageflow_verify.models.subpipeline_state import FORGETS_ENDED as FORGETS_ENDED
from stageflow_verify.models.subpipeline_state import RETAINS_CANCELED_IDS as RETAINS_CANCELED_IDS
from stageflow_verify.models.subpipeline_state import SINK_ABORTS_CASCADE as SINK_ABORTS_CASCADE
from stageflow_verify.models.subpipeline_state import SINK_CHANGES_OUTCOME as SINK_CHANGES_OUTCOME
from stageflow_verify.models.subpipeline_state import SPAWN_IGNORES_CANCEL as SPAWN_IGNORES_CANCEL
from stageflow_verify.models.subpipeline_state import SPAWN_SINK_LEAKS as SPAWN_SINK_LEAKS
from stageflow_verify.models.subpipeline_state import Abort as Abort
from stageflow_verify.models.subpipeline_state import Cancel as Cancel
from stageflow_verify.models.subpipeline_state import CancelResult as CancelResult
from stageflow_verify.models.subpipeline_state import Config as Config
from stageflow_verify.models.subpipeline_state import Finish as Finish
from stageflow_verify.models.subpipeline_state import IsCanceled as IsCanceled
from stageflow_verify.models.subpipeline_state import Op as Op
from stageflow_verify.models.subpipeline_state import Run as Run
from stageflow_verify.models.subpipeline_state import Spawn as Spawn
from stageflow_verify.models.subpipeline_state import SpawnResult as SpawnResult
from stageflow_verify.models.subpipeline_state import State as State
from stageflow_verify.models.subpipeline_state import Status as Status
from stageflow_verify.models.subpipeline_state import ancestors as ancestors
from stageflow_verify.models.subpipeline_state import subtree as subtree
from stageflow_verify.models.subpipeline_state import with_run as with_run
from stageflow_verify.models.subpipeline_views import data_view as data_view
from stageflow_verify.models.subpipeline_views import depths_view as depths_view
from stageflow_verify.models.subpipeline_views import events_view as events_view
from stageflow_verify.models.subpipeline_views import results_view as results_view
from stageflow_verify.models.subpipeline_views import tracker_view as tracker_view


def _cancelled_ancestor(state: State, label: str) -> bool:
    run: Run | None = state.run(label)
    while run is not None:
        if run.label in state.canceled:
            return True
        run = state.run(run.parent) if run.parent is not None else None
    return False


def _spawn(state: State, op: Spawn) -> tuple[State, SpawnResult]:
    cfg, parent = state.config, state.run(op.parent)
    # "Raises: MaxDepthExceededError: If spawning would exceed max_depth"; roots are depth 0,
    # so with max_depth=5 the deepest child is at depth 5. The error's current_depth is the
    # parent's depth, though its docstring says "The depth at which the spawn was attempted"
    # and its message then reads "depth 5 exceeds maximum allowed depth 5".
    depth = parent.depth
    if parent.forked_from is not None and FORGETS_ENDED in cfg.deviations:
        depth = 0  # SF-SUB-08: the spawner never recorded the hand-forked context's depth
    if depth >= cfg.depth_limit:
        return state, ("refused", depth, cfg.depth_limit)
    data = dict(parent.data) if op.inherit else {}
    data["run"] = op.child  # the runner writes its own label into its own data
    child = Run(op.child, op.parent, depth + 1, "live", tuple(sorted(data.items())))
    if op.parent in cfg.unidentified:
        # A parent without pipeline_run_id cannot be named where Stageflow names a parent: the
        # tracker keys children by "parent_id: The parent pipeline run ID" (ChildRunTracker.
        # register_child, stageflow/pipeline/subpipeline.py:194), and the spawned,
        # completed and failed events carry "parent_run_id": "uuid-string" (docs/advanced/
        # subpipelines.md:768, :781, :793; only the canceled event's may be null, :807). So
        # the child runs, its depth is counted from 0 ("Maximum allowed nesting depth") and
        # recorded, and it is neither registered under the parent nor announced: nothing can
        # cancel it through the parent, which has no id to cancel by.
        return with_run(state, replace(child, untracked=True)), ("spawned",)
    events = (*state.events, Event("spawned", op.child, op.parent))
    if cfg.failing_event == "spawned":
        # "Register for cancellation tracking" happens before the emit, outside try/finally.
        leaked = SPAWN_SINK_LEAKS in cfg.deviations
        child = replace(child, status="ended", started=False, leaked=leaked)
        result = RunResult("raised", error=sink_error("spawned"))
        state = replace(state, events=events, results=(*state.results, (op.child, result)))
        return with_run(state, child), ("raised", sink_error("spawned"))
    state = replace(with_run(state, child), events=events)
    if SPAWN_IGNORES_CANCEL not in cfg.deviations and _cancelled_ancestor(state, op.parent):
        # Promise (a user's expectation; the docstrings are silent): a child spawned under a
        # cancelled run is cancelled too, as cancel_with_children would have made it.
        state = replace(state, canceled=state.canceled | {op.child})
    return state, ("spawned",)


def fork_context(state: State, source: str, label: str) -> State:
    """The user forks ``source``'s context by hand: ``ctx.fork(child_run_id, parent_stage_id,
    correlation_id)``, "Create a child context for a subpipeline run" (PipelineContext.fork,
    stageflow/stages/context.py:361), and spawns from it later.

    The fork is nested one level below ``source`` ("References parent via parent_run_id",
    :365): the depth limit counts it so ("The spawner enforces a maximum nesting depth to
    prevent runaway recursion", docs/advanced/subpipelines.md:640; SF-SUB-08, adopted while it
    reproduces, counts it as 0). But no spawn made it: the tracker, which "Tracks
    parent-child relationships for cancellation propagation" (ChildRunTracker,
    stageflow/pipeline/subpipeline.py:170) through register_child calls spawn makes, never
    holds it under ``source``. So it is a root to the spawner: cancel_with_children of
    ``source`` does not reach it or what it spawns (the cascade walks "children =
    await self._tracker.get_children(current_id)", :548), and its own cancel does. Its
    ``data`` starts empty ("Has its own fresh data dict", :368; inherit_data defaults to False).
    """
    depth = state.run(source).depth + 1
    return with_run(state, Run(label, None, depth, "live", (), forked_from=source))


def _end(state: State, label: str, outcome: Outcome | None, settle: bool = True) -> State:
    run = state.run(label)
    events: tuple[Event, ...] = ()
    if outcome is None:  # the task was cancelled: spawn re-raises CancelledError, no event
        result = RunResult("cancelled")
    elif run.untracked:  # no event names a parent without a run id (see _spawn); no sink
        result, _ = end_events(label, "", outcome, None, sink_changes=False)
    else:
        assert run.parent is not None
        sink_changes = SINK_CHANGES_OUTCOME in state.config.deviations
        result, events = end_events(
            label, run.parent, outcome, state.config.failing_event, sink_changes
        )
    canceled = state.canceled
    if RETAINS_CANCELED_IDS not in state.config.deviations:
        canceled = canceled - {label}  # promise: no per-run state outlives the run
    state = replace(
        with_run(state, replace(run, status="ended", pending=None)),
        canceled=canceled,
        events=state.events + events,
        results=(*state.results, (label, result)),
    )
    return _settle(state, run.parent) if settle else state


def drained(state: State, label: str) -> bool:
    """Is ``label`` draining with no active child left, so that its runner returns next?"""
    run = state.run(label)
    return run.status == "draining" and not any(state.active(c) for c in state.children(label))


def _settle(state: State, label: str | None) -> State:
    # A draining runner returns once its last child has ended, which may end its parent in turn.
    # Sequentially that is one step; in a batch each is a step of its own (end_drained).
    if label is None or not drained(state, label):
        return state
    return _end(state, label, state.run(label).pending)


def finish_run(state: State, op: Finish, settle: bool = True) -> State:
    """``op.run``'s runner is released: it drains (ends at once if no child is active).

    With ``settle=False`` the run's own end is the whole step: a draining ancestor whose last
    child this was ends in a later step of its own (:func:`end_drained`).
    """
    run = replace(state.run(op.run), status="draining", pending=op.outcome)
    state = with_run(state, run)
    if not drained(state, op.run):
        return state
    return _end(state, op.run, op.outcome, settle)


def end_drained(state: State, label: str) -> State | None:
    """One step of a batch: the draining runner ``label``, whose last child has ended, returns
    and ends with its pending outcome; its own draining parent ends in a later step. None when
    ``label`` cannot end now (it is not draining, or a child of it is still active).

    A parent does not end in the same step as its last child. The child's ``spawn`` emits
    its completion and leaves the tracker (stageflow/pipeline/subpipeline.py:497-498, then the
    ``finally`` at :521-526, each awaiting the sink or a lock); only then is its task done and
    the parent's runner, awaiting it (``asyncio.gather``, as docs/advanced/subpipelines.md:373-375
    has a parent await its children), is woken on a later turn of the loop to return, and the
    parent's own ``spawn`` emits and unregisters (:494-523). A ``cancel_with_children`` may run
    in between: it no longer reaches the ended child but still reaches, marks and reports the
    parent (cooperative: "Cancel a run and all its children (depth-first cascading)",
    docs/advanced/subpipelines.md:624; a marked run keeps running until it finishes).
    """
    if not drained(state, label):
        return None
    return _end(state, label, state.run(label).pending, settle=False)


def aborted_runs(state: State, label: str) -> list[str]:
    """The runs an Abort of ``label`` ends, children before parents: ``label`` and every active
    registered descendant (a run's own descendants always come before it)."""
    out: list[str] = []
    for child in state.children(label):
        if state.active(child):
            out.extend(aborted_runs(state, child))
    out.append(label)
    return out


def end_aborted(state: State, label: str, run: str, settle: bool = True) -> State:
    """One step of an Abort of ``label``: ``run`` (one of :func:`aborted_runs`) ends cancelled.

    An abort is not one atomic step, and a concurrent operation can see it half done. The
    cancelled runner cancels and awaits its own children first (structured concurrency; the
    harness: "a cancelled one cancels and awaits them, as a ``TaskGroup`` would"), and each
    child leaves the tracker in spawn's ``finally`` ("Unregister a child run from its parent",
    ChildRunTracker.unregister_child) before its parent does. So ``cancel_with_children``
    ("Cancel a run and all its children (depth-first)"), racing the abort, walks a tree from
    which the aborted run's descendants may already be gone while the run itself is still
    registered: it marks and reports the run, but not the descendants that already ended.
    :mod:`models.subpipeline_batches` orders these steps among a batch's other operations.

    Every run of the aborted subtree stops draining at once (its task is cancelled), so its
    children ending must not end it with its outcome. With ``settle=False`` a draining parent of
    ``label`` that the abort leaves childless ends in a step of its own (:func:`end_drained`).
    """
    for r in aborted_runs(state, label):
        state = with_run(state, replace(state.run(r), status="live", pending=None))
    return _end(state, run, None, settle)


def abort_run(state: State, label: str) -> State:
    """An Abort of ``label`` as one sequential step (every run it ends, draining ancestors too)."""
    return _abort(state, label)


def _abort(state: State, label: str) -> State:
    # Sequentially, an abort is all of its steps, descendants first.
    for run in aborted_runs(state, label):
        state = end_aborted(state, label, run)
    return state


class SubpipelineModel:
    """The reference model: ``init`` builds the roots, ``step`` checks one observed result.

    For example::

        s = SubpipelineModel().init(Config(roots=("r0",), max_depth=0))
        assert SubpipelineModel().step(s, Spawn("r0", "c1"), ("refused", 0, 0)) == s
    """

    def init(self, config: Config) -> State:
        runs = tuple(
            Run(r, None, 0, "live", (("n", i), ("root", r))) for i, r in enumerate(config.roots)
        )
        return State(config, runs)

    def expected(
        self, state: State, op: Spawn | Finish | Abort | IsCanceled
    ) -> tuple[State, object]:
        """The deterministic operations: the next state and the one result they allow."""
        if isinstance(op, IsCanceled):
            # "Check if a run has been canceled" (spawner.is_canceled), and ctx.is_canceled,
            # which only cancel_with_children(contexts=...) sets: "Optional map of run_id ->
            # context for marking".
            return state, (op.run in state.canceled, op.run in state.marked)
        if isinstance(op, Spawn):
            return _spawn(state, op)
        if isinstance(op, Finish):
            return finish_run(state, op), None
        return _abort(state, op.run), None

    def step(self, state: State, op: Op, result: object) -> State | None:
        if isinstance(op, Cancel):
            assert isinstance(result, tuple)
            return cancel(state, op, result)
        after, allowed = self.expected(state, op)
        return after if result == allowed else None

    def describe_op(self, op: Op) -> str:
        return repr(op)

    def describe_state(self, state: State) -> str:
        lines = [f"max_depth={state.config.depth_limit} failing={state.config.failing_event}"]
        for r in state.runs:
            flags = "C" if r.label in state.canceled else "-"
            lines.append(f"  {r.label} <- {r.parent} depth={r.depth} {r.status} {flags}")
        return "\n".join(lines)
