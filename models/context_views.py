"""What a user reads of a ``PipelineContext`` beyond its fields, derived from the context model.

:class:`models.context_tree.ContextTreeModel` says what each field of each context holds; this
module says what the *other* read paths show, as a pure function of that observation plus the
little per-context state the tree model does not keep (:class:`Extras`: hooks, stage metadata).
Each rule quotes the text it encodes (``stageflow/stages/context.py`` 1.2.0, and the upstream
guides as ``docs/<path>:<line>``):

- ``create``'s defaults (``docs/api/context.md:14-29``: ``topology=None``, ``metadata={}``,
  ``configuration={}``, ``service="pipeline"``, ``data={}``, ``extensions=None``): leaving an
  argument out is the same as passing its default (:data:`CREATE_DEFAULTS`).
- ``to_dict``: "Convert context to a dict for tool execution"; it carries the ids as strings,
  the labels, metadata, data, the cancellation state and the artifact count, and "Add parent
  correlation for child contexts": ``parent_run_id``, ``parent_stage_id``, ``correlation_id``
  appear exactly when set (:func:`expected_to_dict`).
- ``to_snapshot``: "Derive immutable snapshot view from the canonical PipelineContext": the
  snapshot's ids, labels, metadata and extensions are the context's (:func:`expected_snapshot`).
- ``created_at`` (given, else "now" in UTC) is the snapshot's, and a fork's (``fork`` passes
  ``created_at=self.created_at``); ``now()``: "Return current UTC timestamp".
- ``derive_for_stage(..., declared_deps=None)``: the StageContext's inputs hold the declared
  dependencies as a frozenset (none when left out), and its ports come from the context's
  ``ports``, else from its ``db`` ("Use ``ports=`` on ``PipelineContext`` when you want the root
  graph entrypoint to pass shared runtime capabilities into derived ``StageContext.inputs.ports``",
  ``docs/api/context.md:49-50``).
- ``get_parent_data(key, default=None)``: "The value from parent data or default": a root, or a
  key the parent lacked, gives the default, ``None`` when it is left out.
- ``mark_canceled`` / ``raise_if_cancelled`` / ``cancellation_checkpoint``: "Raised by
  ``ctx.raise_if_cancelled()`` and ``await ctx.cancellation_checkpoint()`` when cooperative
  cancellation has been requested" (``docs/api/core.md:97-98``); the checkpoint "Yield[s] once
  and then raise[s]"; the message is the reason, else "Pipeline cancelled".
- ``add_before_stage_start_hook``: hooks "run before each stage begins"
  (``docs/guides/context.md:116``), "in registration order". A fork copies the parent's hooks at
  fork time (the code copies the list; undocumented, and the reasonable reading of "Has its own
  fresh data dict and artifacts list": what the child registers is the child's alone).
- ``set_stage_metadata`` / ``get_stage_metadata``: per context, ``None`` for a stage never set;
  a fork starts with none (the code passes ``_stage_metadata={}``).
- ``try_emit_event(type, data)``: "Add correlation IDs to event data": the event carries
  ``pipeline_run_id``, ``request_id``, ``execution_mode``, ``topology`` and ``service`` and then
  the caller's data, to the context's sink, which a fork shares with its parent.
- ``record_stage_event(stage=, status=, payload=None)``: "Emit a timestamped stage event": type
  ``stage.<stage>.<status>``, the tenant ids and service, the stage fields and the payload, and
  ``pipeline_run_id`` when the context has one. The timestamp is wall-clock time: only its
  presence is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from stageflow_verify.models.heap import Plain

CREATE_DEFAULTS: Mapping[str, Plain] = {
    "topology": None,
    "execution_mode": None,
    "service": "pipeline",
    "data": {},
    "configuration": {},
    "metadata": {},
    "extensions": None,
}
PIPELINE_CANCELLED = "Pipeline cancelled"
STAGES = ("stage_a", "stage_b")
CORRELATION = ("parent_run_id", "parent_stage_id", "correlation_id")


@dataclass(frozen=True)
class Extras:
    """A context's registered hooks (ids, in order) and its stage metadata."""

    hooks: tuple[int, ...] = ()
    stage_metadata: tuple[tuple[str, Plain], ...] = ()
    created_at: str = ""  # ISO text: given to create, else what the root got at creation

    def with_hook(self, hook: int) -> Extras:
        return replace(self, hooks=(*self.hooks, hook))

    def with_stage_metadata(self, stage: str, value: Plain) -> Extras:
        kept = tuple((s, v) for s, v in self.stage_metadata if s != stage)
        return replace(self, stage_metadata=(*kept, (stage, value)))

    def forked(self) -> Extras:
        """A child's extras: the parent's hooks as they are now, no stage metadata, the
        parent's created_at (fork passes ``created_at=self.created_at``)."""
        return Extras(hooks=self.hooks, created_at=self.created_at)


def expected_to_dict(obs: Mapping[str, Plain]) -> dict[str, Plain]:
    ids = obs["identity"]
    assert isinstance(ids, dict)
    result: dict[str, Plain] = {
        f: ids[f] for f in ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id")
    }
    result.update(
        interaction_id=ids["interaction_id"],
        topology=obs["topology"],
        execution_mode=obs["execution_mode"],
        input_text=None,
        input_audio_duration_ms=None,
        metadata=obs["metadata"],
        service=obs["service"],
        data=obs["data"],
        canceled=obs["canceled"],
        cancellation_reason=obs["cancellation_reason"],
        artifacts_count=obs["artifacts"],
    )
    result.update({f: ids[f] for f in CORRELATION if ids[f] is not None})
    return result


def expected_snapshot(obs: Mapping[str, Plain], created_at: str) -> dict[str, Plain]:
    ids = obs["identity"]
    assert isinstance(ids, dict)
    fields = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id")
    return {
        **{f: ids[f] for f in (*fields, "interaction_id")},
        "topology": obs["topology"],
        "execution_mode": obs["execution_mode"],
        "metadata": obs["metadata"],
        "extensions": obs["extensions"],
        "created_at": created_at,
    }


def expected_cancellation(obs: Mapping[str, Plain]) -> Plain:
    """What raise_if_cancelled raises (its message), or None when it returns."""
    if not obs["canceled"]:
        return None
    return f"StageCancellationRequested: {obs['cancellation_reason'] or PIPELINE_CANCELLED}"


def expected_views(obs: Mapping[str, Plain], extras: Extras) -> dict[str, Plain]:
    """Every derived read path of a context, as :func:`core.sut.context_views.views` reads it."""
    cancellation = expected_cancellation(obs)
    return {
        "to_dict": expected_to_dict(obs),
        "snapshot": expected_snapshot(obs, extras.created_at),
        "snapshot_property": True,  # ``snapshot``: "Compatibility accessor" for to_snapshot()
        "now_is_utc": True,  # on the context and on PipelineContext itself (a classmethod)
        "parent_data_absent_key": [None, "<default>"],
        "is_canceled": obs["canceled"],
        "raise_if_cancelled": cancellation,
        "cancellation_checkpoint": [1, cancellation],
        "hooks": [[hook, True] for hook in extras.hooks],
        "stage_metadata": expected_stage_metadata(extras),
    }


ROOT_STAGE_NAME = "__pipeline_root__"  # derive_root_stage_context's default stage_name


def expected_stage_context(
    obs: Mapping[str, Plain], stage_name: str, declared_deps: list[str]
) -> dict[str, Plain]:
    """A StageContext derived from the context, read now: its ids and mode are the context's,
    and its cancellation follows the context's *current* state ("the unified runtime converts
    [StageCancellationRequested] into pipeline cancellation", ``docs/guides/context.md:113``:
    a stage must see a cancellation requested after it started)."""
    ids = obs["identity"]
    assert isinstance(ids, dict)
    reason = obs["cancellation_reason"] if obs["canceled"] else None
    message = reason or f"Stage '{stage_name}' was cancelled"
    return {
        "pipeline_run_id": ids["pipeline_run_id"],
        "request_id": ids["request_id"],
        "execution_mode": obs["execution_mode"],
        "stage_name": stage_name,
        "declared_deps": list[Plain](sorted(declared_deps)),
        "ports_db_is_the_contexts": True,
        "is_cancelled": obs["canceled"],
        "cancellation_reason": obs["cancellation_reason"],
        "raise_if_cancelled": (
            f"StageCancellationRequested: {message}" if obs["canceled"] else None
        ),
        # derive_for_stage(..., strict=True) by default: "strict: If True, raises error for
        # undeclared dependency access" (stageflow/stages/context.py:516); a stage that declared
        # nothing may read anything (SF-LIFE-01's subject, checked by its own reproducer).
        "undeclared_read": "UndeclaredDependencyError" if declared_deps else None,
    }


def expected_stage_metadata(extras: Extras) -> dict[str, Plain]:
    held = dict(extras.stage_metadata)
    return {stage: held.get(stage) for stage in STAGES}


def expected_event(obs: Mapping[str, Plain], data: Mapping[str, Plain]) -> dict[str, Plain]:
    ids = obs["identity"]
    assert isinstance(ids, dict)
    return {
        "pipeline_run_id": ids["pipeline_run_id"],
        "request_id": ids["request_id"],
        "execution_mode": obs["execution_mode"],
        "topology": obs["topology"],
        "service": obs["service"],
        **data,
    }


def expected_stage_event(
    obs: Mapping[str, Plain], stage: str, status: str, payload: Mapping[str, Plain] | None
) -> dict[str, Plain]:
    """The stage event's data, its timestamp left out (wall-clock time)."""
    ids = obs["identity"]
    assert isinstance(ids, dict)
    event: dict[str, Plain] = {f: ids[f] for f in ("request_id", "session_id", "user_id")}
    event.update(
        org_id=ids["org_id"],
        service=obs["service"],
        stage=stage,
        status=status,
        topology=obs["topology"],
        execution_mode=obs["execution_mode"],
        **(payload or {}),
    )
    if ids["pipeline_run_id"] is not None:
        event["pipeline_run_id"] = ids["pipeline_run_id"]
    return event
