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
the same plain dicts and lists the adapter in ``core/sut/subpipelines.py`` reports.

For example::

    model = SubpipelineModel()
    s = model.init(Config(roots=("r0",)))
    s = model.step(s, Spawn("r0", "c1"), ("spawned",))
    assert tracker_view(s) == {"children": {"r0": ["c1"]}, "parents": {"c1": "r0"}}
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from models.subpipeline_events import (
    DEFAULT_MAX_DEPTH,
    Event,
    Outcome,
    Plain,
    RunResult,
    end_events,
    sink_error,
)

# Finding ids the model can adopt; the stateful module registers the findings themselves.
RETAINS_CANCELED_IDS = "SF-SUB-01"  # spawner._canceled_runs is never pruned
SPAWN_IGNORES_CANCEL = "SF-SUB-02"  # a child of a cancelled run starts uncancelled
SPAWN_SINK_LEAKS = "SF-SUB-03"  # a failing 'spawned' emit leaves the child registered
SINK_CHANGES_OUTCOME = "SF-SUB-04"  # a failing completed/failed emit rewrites the result
SINK_ABORTS_CASCADE = "SF-SUB-05"  # a failing 'canceled' emit stops the cascade
AMBIENT_SINK_ONLY = "SF-SUB-06"  # events go to get_event_sink(), not ctx.event_sink
CHILD_CONTEXT_UNMARKED = "SF-SUB-07"  # a cancelled child's own ctx never sees the cancel

Status: TypeAlias = Literal["live", "draining", "ended"]
SpawnResult: TypeAlias = tuple[object, ...]  # ("spawned",) | ("refused", d, max) | ("raised", m)
CancelResult: TypeAlias = tuple[object, ...]  # ("canceled", [labels]) | ("raised", m, [marked])


@dataclass(frozen=True)
class Config:
    """What an example fixes up front: the roots, max_depth (None: the default) and the sink.

    ``failing_event`` names the one event type whose emit raises ("spawned", "completed",
    "failed", "canceled") or is None; a slow sink changes no outcome, so the model ignores it.
    """

    roots: tuple[str, ...]
    max_depth: int | None = None
    failing_event: str | None = None
    deviations: frozenset[str] = frozenset()

    @property
    def depth_limit(self) -> int:
        return DEFAULT_MAX_DEPTH if self.max_depth is None else self.max_depth


@dataclass(frozen=True)
class Run:
    label: str
    parent: str | None
    depth: int
    status: Status
    data: tuple[tuple[str, Plain], ...]
    pending: Outcome | None = None  # the outcome a draining run ends with
    started: bool = True  # False when spawn raised before calling the runner
    leaked: bool = False  # registration left behind by a failed 'spawned' emit (SF-SUB-03)

    @property
    def registered(self) -> bool:
        return self.parent is not None and (self.status != "ended" or self.leaked)


@dataclass(frozen=True)
class State:
    config: Config
    runs: tuple[Run, ...]
    canceled: frozenset[str] = frozenset()  # what spawner.is_canceled answers True for
    marked: frozenset[str] = frozenset()  # contexts whose ctx.is_canceled is True
    events: tuple[Event, ...] = ()
    results: tuple[tuple[str, RunResult], ...] = ()

    def run(self, label: str) -> Run:
        return next(r for r in self.runs if r.label == label)

    def children(self, label: str) -> list[str]:
        return [r.label for r in self.runs if r.parent == label and r.registered]

    def active(self, label: str) -> bool:
        return self.run(label).status != "ended"


@dataclass(frozen=True)
class Spawn:
    parent: str
    child: str
    inherit: bool = False


@dataclass(frozen=True)
class Finish:
    run: str
    outcome: Outcome = field(default_factory=lambda: Outcome("none"))


@dataclass(frozen=True)
class Abort:
    run: str


@dataclass(frozen=True)
class Cancel:
    run: str
    with_contexts: bool = False


@dataclass(frozen=True)
class IsCanceled:
    run: str


Op: TypeAlias = Spawn | Finish | Abort | Cancel | IsCanceled


def _with_run(state: State, run: Run) -> State:
    runs = tuple(run if r.label == run.label else r for r in state.runs)
    if all(r.label != run.label for r in state.runs):
        runs = (*state.runs, run)
    return replace(state, runs=runs)


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
    if parent.depth >= cfg.depth_limit:
        return state, ("refused", parent.depth, cfg.depth_limit)
    data = dict(parent.data) if op.inherit else {}
    data["run"] = op.child  # the runner writes its own label into its own data
    child = Run(op.child, op.parent, parent.depth + 1, "live", tuple(sorted(data.items())))
    events = (*state.events, Event("spawned", op.child, op.parent))
    if cfg.failing_event == "spawned":
        # "Register for cancellation tracking" happens before the emit, outside try/finally.
        leaked = SPAWN_SINK_LEAKS in cfg.deviations
        child = replace(child, status="ended", started=False, leaked=leaked)
        result = RunResult("raised", error=sink_error("spawned"))
        state = replace(state, events=events, results=(*state.results, (op.child, result)))
        return _with_run(state, child), ("raised", sink_error("spawned"))
    state = replace(_with_run(state, child), events=events)
    if SPAWN_IGNORES_CANCEL not in cfg.deviations and _cancelled_ancestor(state, op.parent):
        # Promise (a user's expectation; the docstrings are silent): a child spawned under a
        # cancelled run is cancelled too, as cancel_with_children would have made it.
        state = replace(state, canceled=state.canceled | {op.child})
    return state, ("spawned",)


def _end(state: State, label: str, outcome: Outcome | None) -> State:
    run = state.run(label)
    events: tuple[Event, ...] = ()
    if outcome is None:  # the task was cancelled: spawn re-raises CancelledError, no event
        result = RunResult("cancelled")
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
        _with_run(state, replace(run, status="ended", pending=None)),
        canceled=canceled,
        events=state.events + events,
        results=(*state.results, (label, result)),
    )
    return _settle(state, run.parent)


def _settle(state: State, label: str | None) -> State:
    # A draining runner returns once its last child has ended, which may end its parent in turn.
    if label is None:
        return state
    run = state.run(label)
    if run.status == "draining" and not any(state.active(c) for c in state.children(label)):
        return _end(state, label, run.pending)
    return state


def aborted_runs(state: State, label: str) -> list[str]:
    """The runs an Abort of ``label`` ends, children before parents: ``label`` and every active
    registered descendant (a run's own descendants always come before it)."""
    out: list[str] = []
    for child in state.children(label):
        if state.active(child):
            out.extend(aborted_runs(state, child))
    out.append(label)
    return out


def end_aborted(state: State, label: str, run: str) -> State:
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
    children ending must not end it with its outcome.
    """
    for r in aborted_runs(state, label):
        state = _with_run(state, replace(state.run(r), status="live", pending=None))
    return _end(state, run, None)


def _abort(state: State, label: str) -> State:
    # Sequentially, an abort is all of its steps, descendants first.
    for run in aborted_runs(state, label):
        state = end_aborted(state, label, run)
    return state


def subtree(state: State, label: str) -> list[str]:
    """``label`` and every registered descendant, as ChildRunTracker.get_all_descendants sees."""
    out = [label]
    for child in state.children(label):
        out.extend(subtree(state, child))
    return out


def ancestors(state: State, label: str) -> set[str]:
    found, parent = set(), state.run(label).parent
    while parent is not None:
        found.add(parent)
        parent = state.run(parent).parent
    return found


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


def _cancel(state: State, op: Cancel, result: CancelResult) -> State | None:
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
    depth0 = state.run(op.run).depth
    # The event's parent is ``await self._tracker.get_parent(current_id)``: a run that already
    # ended (a race lets cancel_with_children reach one) is no longer tracked, so its event
    # names no parent. A user would rather see the parent, but a cancel that lands after the
    # run ended is hardly a cancel of that run; the model follows Stageflow.
    events = tuple(
        Event("canceled", r, _tracked_parent(state, r), depth=state.run(r).depth - depth0)
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
            run = replace(state.run(op.run), status="draining", pending=op.outcome)
            return _settle(_with_run(state, run), op.run), None
        return _abort(state, op.run), None

    def step(self, state: State, op: Op, result: object) -> State | None:
        if isinstance(op, Cancel):
            assert isinstance(result, tuple)
            return _cancel(state, op, result)
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


def tracker_view(state: State) -> dict[str, dict[str, Plain]]:
    """What ChildRunTracker holds: exactly the registered children, keyed by parent."""
    parents = {r.label: r.parent for r in state.runs if r.registered and r.parent is not None}
    children: dict[str, Plain] = {
        parent: list[Plain](sorted(c for c, p in parents.items() if p == parent))
        for parent in dict.fromkeys(parents.values())
    }
    return {"children": children, "parents": dict[str, Plain](parents)}


def depths_view(state: State) -> dict[str, int]:
    """SubpipelineSpawner's per-run depths: every registered child, never a root."""
    return {r.label: r.depth for r in state.runs if r.registered}


def data_view(state: State) -> dict[str, dict[str, Plain]]:
    """Every started run's ctx.data: roots keep theirs, whatever their children do."""
    return {r.label: dict(r.data) for r in state.runs if r.started}


def events_view(state: State) -> dict[str, list[Plain]]:
    """The emits each sink saw: the parent context's ``event_sink`` (promise) or the ambient
    ``get_event_sink()`` (SF-SUB-06, what the spawner's ``_emit_*`` helpers call)."""
    events: list[Plain] = [e.plain() for e in state.events]
    if AMBIENT_SINK_ONLY in state.config.deviations:
        return {"ambient": events, "context": []}
    return {"ambient": [], "context": events}


def results_view(state: State) -> dict[str, Plain]:
    return {label: result.plain() for label, result in state.results}
