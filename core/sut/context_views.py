"""The read paths of a real ``PipelineContext`` beyond its fields, in the shapes of
:mod:`models.context_views`: ``to_dict()``, ``to_snapshot()``, ``get_parent_data``'s default,
the cancellation checks, before-stage hooks, stage metadata, events, and the ``StageContext``
a context derives (kept and read again after later steps: its cancellation is live).

Coroutines (hooks, ``cancellation_checkpoint``) are driven by hand, one ``send`` per suspension,
with no event loop: the number of suspensions is itself an observation.

A version without a method (0.5.1 has no ``to_snapshot``, no hooks, no ``derive_*``) is read
as ``"absent"`` on both sides (see :func:`views`), never as a pass of something not run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from stageflow_verify.models.context_views import STAGES
from stageflow_verify.models.heap import Plain

from . import stageflow_module
from .context import _id, plain

ABSENT = "absent"
_MISSING = object()


class RecordingSink:
    """An event sink that keeps every event it is given, its data projected to plain data."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Plain]] = []

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.events.append((type, plain(data)))

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.try_emit(type=type, data=data)


def fields_lacking(ctx: Any) -> tuple[str, ...]:
    """The context fields to_dict reports that this version's PipelineContext does not hold
    (0.5.1: metadata, cancellation_reason, input_text, input_audio_duration_ms): left out of
    the comparison on both sides, as :func:`core.sut.context.comparable` does for fields."""
    held = {f.name for f in dataclasses.fields(ctx)}
    named = ("metadata", "cancellation_reason", "input_text", "input_audio_duration_ms")
    return tuple(n for n in named if n not in held)


def drive(coroutine: Coroutine[Any, Any, Any]) -> tuple[int, str | None]:
    """Run ``coroutine`` to its end without a loop: (suspensions, message it raised or None)."""
    suspensions = 0
    try:
        while True:
            coroutine.send(None)
            suspensions += 1
    except StopIteration:
        return suspensions, None
    except Exception as exc:  # StageCancellationRequested, or whatever a bug raises
        return suspensions, f"{type(exc).__name__}: {exc}"


def cancellation_message(check: Callable[[], None]) -> str | None:
    try:
        check()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def run_hooks(ctx: Any, log: list[tuple[int, Any]]) -> Plain:
    """The hooks that ran (id, whether they were handed this context), in order."""
    if not hasattr(ctx, "run_before_stage_start_hooks"):
        return ABSENT
    log.clear()
    _, raised = drive(
        ctx.run_before_stage_start_hooks(stage_name="probe", stage_kind=None, stage_ctx=None)
    )
    ran: list[Plain] = [[hook, handed is ctx] for hook, handed in log]
    return [*ran, raised] if raised else ran


def make_hook(hook_id: int, asynchronous: bool, log: list[tuple[int, Any]]) -> Any:
    """A before-stage hook that logs its id and the PipelineContext it was handed."""

    def record(stage_name: str, kind: Any, stage_ctx: Any, pipeline_ctx: Any) -> None:
        log.append((hook_id, pipeline_ctx))

    async def record_async(stage_name: str, kind: Any, stage_ctx: Any, pipeline_ctx: Any) -> None:
        record(stage_name, kind, stage_ctx, pipeline_ctx)

    return record_async if asynchronous else record


def views(ctx: Any, hooks_log: list[tuple[int, Any]]) -> dict[str, Plain]:
    """Every derived read path of ``ctx``, as plain data."""
    sentinel = "<default>"
    to_snapshot = getattr(ctx, "to_snapshot", None)
    checkpoint = getattr(ctx, "cancellation_checkpoint", None)
    return {
        "to_dict": plain(ctx.to_dict()),
        "snapshot": ABSENT if to_snapshot is None else snapshot_fields(to_snapshot()),
        # The compatibility accessor is to_snapshot() again: compared whole, not re-projected.
        "snapshot_property": (
            ctx.snapshot == ctx.to_snapshot() if hasattr(type(ctx), "snapshot") else ABSENT
        ),
        "now_is_utc": now_is_utc(ctx) if hasattr(ctx, "now") else ABSENT,
        "parent_data_absent_key": [
            plain(ctx.get_parent_data("no such key")),
            plain(ctx.get_parent_data("no such key", sentinel)),
        ],
        "is_canceled": getattr(ctx, "is_canceled", ctx.canceled),
        "raise_if_cancelled": (
            cancellation_message(ctx.raise_if_cancelled)
            if hasattr(ctx, "raise_if_cancelled")
            else ABSENT
        ),
        "cancellation_checkpoint": ABSENT if checkpoint is None else list(drive(checkpoint())),
        "hooks": run_hooks(ctx, hooks_log),
        "stage_metadata": {s: plain(ctx.get_stage_metadata(s)) for s in STAGES},
    }


def now_is_utc(ctx: Any) -> Plain:
    """Whether ``now()``, called on the context and on its class (it is a classmethod:
    ``PipelineContext.now()``), gives a UTC time; what a call raised, if it raised."""
    try:
        return all(f().utcoffset() == timedelta(0) for f in (ctx.now, type(ctx).now))
    except TypeError as exc:  # e.g. now() no longer a classmethod: the class call lacks self
        return f"TypeError: {exc}"


def snapshot_fields(snapshot: Any) -> dict[str, Plain]:
    fields = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id")
    return {
        **{f: _id(getattr(snapshot, f)) for f in (*fields, "interaction_id")},
        "topology": snapshot.topology,
        "execution_mode": snapshot.execution_mode,
        "metadata": plain(snapshot.metadata),
        "extensions": plain(snapshot.extensions),
        "created_at": snapshot.created_at.isoformat(),
    }


def derive_stage_context(
    ctx: Any, root: bool, stage_name: str | None, deps: Any, with_snapshot: bool = False
) -> Any:
    """A StageContext derived from ``ctx`` (None where this version cannot derive one)."""
    if root:
        if not hasattr(ctx, "derive_root_stage_context"):
            return None
        if stage_name is None:
            return ctx.derive_root_stage_context()
        return ctx.derive_root_stage_context(stage_name=stage_name)
    if not hasattr(ctx, "derive_for_stage") or not hasattr(ctx, "to_snapshot"):
        return None  # 0.5.1's derive_for_stage needs a snapshot it cannot derive itself
    bag = stageflow_module().context.OutputBag()
    if with_snapshot:
        given = {} if deps is _MISSING else {"declared_deps": deps}
        return ctx.derive_for_stage(stage_name or "stage_x", bag, ctx.to_snapshot(), **given)
    if deps is _MISSING:
        return ctx.derive_for_stage(stage_name or "stage_x", output_bag=bag)
    return ctx.derive_for_stage(stage_name or "stage_x", output_bag=bag, declared_deps=deps)


def stage_context_view(stage_ctx: Any, db: Any, context_has_ports: bool) -> dict[str, Plain]:
    """What a stage reads of its StageContext: ids, mode, name, declared dependencies, whether
    its ports carry ``db`` (the context's), and its (live) cancellation.

    What a version lacks reads as ``"absent"``, which the machine compares as absent on both
    sides: a StageContext without a cancellation API (0.9.5-1.1.0 derive StageContexts with no
    ``is_cancelled``, ``cancellation_reason`` or ``raise_if_cancelled``), and the db in the
    ports where the PipelineContext holds no ``ports`` of its own (0.9.5 and 0.9.6: a stage gets
    the ports its caller passes, and the context's db has no path to them)."""
    inputs = stage_ctx.inputs

    def cancellation(name: str, read: Callable[[Any], Plain]) -> Plain:
        return read(getattr(stage_ctx, name)) if hasattr(stage_ctx, name) else ABSENT

    return {
        "pipeline_run_id": _id(stage_ctx.pipeline_run_id),
        "request_id": _id(stage_ctx.request_id),
        "execution_mode": stage_ctx.execution_mode,
        "stage_name": stage_ctx.stage_name,
        "declared_deps": sorted(inputs.declared_deps),
        "ports_db_is_the_contexts": (
            getattr(inputs.ports, "db", None) is db if context_has_ports else ABSENT
        ),
        "is_cancelled": cancellation("is_cancelled", lambda value: value),
        "cancellation_reason": cancellation("cancellation_reason", lambda value: value),
        "raise_if_cancelled": cancellation("raise_if_cancelled", cancellation_message),
        # A read of a stage it did not declare: what has_output raised (its class), if anything.
        "undeclared_read": (
            _raised_class(lambda: inputs.has_output("undeclared_stage"))
            if hasattr(inputs, "has_output")
            else ABSENT
        ),
    }


def _raised_class(read: Callable[[], Any]) -> str | None:
    try:
        read()
    except Exception as exc:
        return type(exc).__name__
    return None


def holds_ports(ctx: Any) -> bool:
    """Whether this PipelineContext holds ports (and so a db) to hand the stages it derives."""
    return hasattr(ctx, "ports")


def emit(ctx: Any, event_type: str, data: dict[str, Any]) -> None:
    ctx.try_emit_event(type=event_type, data=data)


def record_stage_event(ctx: Any, stage: str, status: str, payload: Any) -> None:
    if payload is _MISSING:
        ctx.record_stage_event(stage=stage, status=status)
    else:
        ctx.record_stage_event(stage=stage, status=status, payload=payload)


def omitted() -> object:
    """The marker for an argument the caller leaves out."""
    return _MISSING
