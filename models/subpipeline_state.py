"""The subpipeline model's state and operations: what :mod:`models.subpipelines` steps through.

A :class:`State` is a forest of :class:`Run` records under one :class:`Config` (the roots,
max_depth, the failing event, the adopted deviations), with the ids the spawner reports
cancelled, the contexts marked cancelled, every event emitted and every result. The operations
(:class:`Spawn`, :class:`Finish`, :class:`Abort`, :class:`Cancel`, :class:`IsCanceled`) are
plain values; the step functions live in :mod:`models.subpipelines` (spawn, finish, abort) and
:mod:`models.subpipeline_marks` (cancel_with_children). The finding ids a model can adopt are
named here, since every module of the model asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from stageflow_verify.models.subpipeline_events import (
    DEFAULT_MAX_DEPTH,
    Event,
    Outcome,
    Plain,
    RunResult,
)

# Finding ids the model can adopt; the stateful module registers the findings themselves.
RETAINS_CANCELED_IDS = "SF-SUB-01"  # spawner._canceled_runs is never pruned
SPAWN_IGNORES_CANCEL = "SF-SUB-02"  # a child of a cancelled run starts uncancelled
SPAWN_SINK_LEAKS = "SF-SUB-03"  # a failing 'spawned' emit leaves the child registered
SINK_CHANGES_OUTCOME = "SF-SUB-04"  # a failing completed/failed emit rewrites the result
SINK_ABORTS_CASCADE = "SF-SUB-05"  # a failing 'canceled' emit stops the cascade
AMBIENT_SINK_ONLY = "SF-SUB-06"  # events go to get_event_sink(), not ctx.event_sink
CHILD_CONTEXT_UNMARKED = "SF-SUB-07"  # a cancelled child's own ctx never sees the cancel
FORGETS_ENDED = "SF-SUB-08"  # a parent the spawner does not record counts as depth 0

Status: TypeAlias = Literal["live", "draining", "ended"]
SpawnResult: TypeAlias = tuple[object, ...]  # ("spawned",) | ("refused", d, max) | ("raised", m)
CancelResult: TypeAlias = tuple[object, ...]  # ("canceled", [labels]) | ("raised", m, [marked])


@dataclass(frozen=True)
class Config:
    """What an example fixes up front: the roots (some maybe without a run id), max_depth (None:
    the default) and the sink.

    ``failing_event`` names the one event type whose emit raises ("spawned", "completed",
    "failed", "canceled") or is None; a slow sink changes no outcome, so the model ignores it.
    """

    roots: tuple[str, ...]
    max_depth: int | None = None
    failing_event: str | None = None
    deviations: frozenset[str] = frozenset()
    # Roots whose context has no pipeline_run_id: what PipelineContext.create() gives by
    # default ("pipeline_run_id: UUID | None = None", stageflow/stages/context.py:214).
    unidentified: frozenset[str] = frozenset()

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
    # Spawned from a context without pipeline_run_id: the tracker cannot hold it under its
    # parent (see models.subpipelines._spawn), though the spawner records its depth.
    untracked: bool = False
    # A context the user forked by hand (ctx.fork) from this run: no spawn made it, so it is
    # a root to the spawner and the tracker (parent None), though it is nested below the run.
    forked_from: str | None = None

    @property
    def registered(self) -> bool:
        """The tracker holds it under its parent."""
        active = self.status != "ended" or self.leaked
        return self.parent is not None and active and not self.untracked

    @property
    def depth_recorded(self) -> bool:
        """The spawner holds its depth: from its spawn until it ends (or leaks)."""
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


def with_run(state: State, run: Run) -> State:
    runs = tuple(run if r.label == run.label else r for r in state.runs)
    if all(r.label != run.label for r in state.runs):
        runs = (*state.runs, run)
    return replace(state, runs=runs)


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
