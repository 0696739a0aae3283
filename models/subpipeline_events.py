"""What a subpipeline run ends with: its SubpipelineResult and the events emitted on the way.

``SubpipelineSpawner.spawn`` turns the runner's outcome into a ``SubpipelineResult`` and emits
``pipeline.child_completed`` or ``pipeline.child_failed`` for it. This module models that one
transition, including what a failing event sink does to it, so that :mod:`models.subpipelines`
can stay about the tree. Everything here is plain, frozen data that projects (``plain()``) into
the dicts the adapter reports.

For example::

    result, events = end_events("c1", "r0", Outcome("value"), None, sink_changes=False)
    assert result.plain() == {"kind": "ok", "data": {"result": 7}, "error": None}
    assert [e.plain()["type"] for e in events] == ["completed"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Plain: TypeAlias = bool | int | float | str | list["Plain"] | dict[str, "Plain"] | None

# "max_depth: Maximum allowed nesting depth (default: 5)" (SubpipelineSpawner docstring).
DEFAULT_MAX_DEPTH = 5

# The Stageflow event type behind each short name the model uses.
EVENT_TYPES = {
    "spawned": "pipeline.spawned_child",
    "completed": "pipeline.child_completed",
    "failed": "pipeline.child_failed",
    "canceled": "pipeline.canceled",
}

# The fields each event's data carries, as documented field by field in
# docs/advanced/subpipelines.md:764-816 (PipelineSpawnedChildEvent ... PipelineCanceledEvent).
# timestamp and duration_ms read the wall clock: their presence is compared, not their value.
EVENT_FIELDS = {
    "spawned": (
        "child_run_id",
        "correlation_id",
        "parent_run_id",
        "parent_stage_id",
        "pipeline_name",
        "timestamp",
    ),
    "completed": ("child_run_id", "duration_ms", "parent_run_id", "pipeline_name", "timestamp"),
    "failed": (
        "child_run_id",
        "duration_ms",
        "error_message",
        "parent_run_id",
        "pipeline_name",
        "timestamp",
    ),
    "canceled": ("cascade_depth", "parent_run_id", "pipeline_run_id", "reason", "timestamp"),
}
# cancel_with_children's default: 'reason: str = "user_requested"' (and the canceled event's
# example, docs/advanced/subpipelines.md:810).
CANCEL_REASON = "user_requested"


def stage_of(parent: str) -> str:
    """The ``parent_stage_id`` the harness spawns a child of ``parent`` with."""
    return f"stage-of-{parent}"


def correlation_of(child: str) -> str:
    """The name of the ``correlation_id`` (a fresh UUID) the harness spawns ``child`` with."""
    return f"action-of-{child}"


OutcomeKind: TypeAlias = Literal["none", "dict", "value", "raise"]
ResultKind: TypeAlias = Literal["ok", "failed", "raised", "cancelled"]


def sink_error(event: str) -> str:
    """The message the suite's failing sink raises for ``event`` (a short name)."""
    return f"event sink failed on {EVENT_TYPES[event]}"


def runner_error(label: str) -> str:
    """The message of the exception a runner told to raise raises."""
    return f"boom {label}"


@dataclass(frozen=True)
class Outcome:
    """How a runner finishes: return None, a dict, a non-dict value (7), or raise."""

    kind: OutcomeKind


@dataclass(frozen=True)
class RunResult:
    """How ``spawn`` ended for the caller: a SubpipelineResult (ok or failed), an exception that
    escaped ``spawn`` (raised), or the task's cancellation (cancelled)."""

    kind: ResultKind
    data: dict[str, Plain] | None = None
    error: str | None = None

    def plain(self) -> dict[str, Plain]:
        return {"kind": self.kind, "data": self.data, "error": self.error}


@dataclass(frozen=True)
class Event:
    """One emit the spawner attempted (a failing sink still saw the attempt)."""

    kind: str
    run: str
    parent: str | None
    error: str | None = None
    depth: int | None = None

    def plain(self) -> dict[str, Plain]:
        """Every documented field: the run ids as labels, the correlation fields a spawn was
        given (``parent_stage_id``, ``correlation_id``) echoed back, and the field names."""
        out: dict[str, Plain] = {"type": self.kind, "run": self.run, "parent": self.parent}
        out["fields"] = list(EVENT_FIELDS[self.kind])
        if self.kind != "canceled":
            out["pipeline_name"] = self.run  # the harness names each child pipeline by label
        if self.kind == "spawned" and self.parent is not None:
            out["parent_stage_id"] = stage_of(self.parent)
            out["correlation_id"] = correlation_of(self.run)
        if self.kind == "failed":
            out["error"] = self.error
        if self.kind == "canceled":
            out["cascade_depth"] = self.depth
            out["reason"] = CANCEL_REASON
        return out


def _data(label: str, outcome: Outcome) -> dict[str, Plain]:
    # "data=result if isinstance(result, dict) else {'result': result}": the docstring only says
    # "Output data from the child pipeline", so a runner returning None still gets a dict.
    if outcome.kind == "dict":
        return {"out": label}
    return {"result": 7 if outcome.kind == "value" else None}


def end_events(
    label: str,
    parent: str,
    outcome: Outcome,
    failing_event: str | None,
    sink_changes: bool,
) -> tuple[RunResult, tuple[Event, ...]]:
    """The result and events of a child whose runner finished with ``outcome``.

    The promise (what a user reasonably expects; Stageflow's docstrings are silent): the result
    reports the runner, whatever the sink does. With ``sink_changes`` (finding SF-SUB-04) the
    model follows Stageflow instead: a failing ``child_completed`` emit lands in the same
    ``except Exception`` as a failing runner, so a success is reported as a failure and a
    ``child_failed`` event follows; a failing ``child_failed`` emit escapes ``spawn``.
    """
    if outcome.kind != "raise":
        ok = RunResult("ok", data=_data(label, outcome))
        events: tuple[Event, ...] = (Event("completed", label, parent),)
        if failing_event == "completed" and sink_changes:
            error = sink_error("completed")
            return RunResult("failed", error=error), (
                *events,
                Event("failed", label, parent, error),
            )
        return ok, events
    error = runner_error(label)
    events = (Event("failed", label, parent, error),)
    if failing_event == "failed" and sink_changes:
        return RunResult("raised", error=sink_error("failed")), events
    return RunResult("failed", error=error), events
