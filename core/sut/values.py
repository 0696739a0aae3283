"""Adapter for Stageflow's value types: constructors and projections to plain data.

The laws in ``properties/`` build real Stageflow values through the constructors here and read
them back through the projections, so they never import stageflow. Every function looks its
class up at call time (``StageOutput.ok`` is resolved when called, not when this module is
imported), so a test that monkeypatches a planted bug onto a Stageflow class sees it here.

The second half holds *typed pure wrappers* for CrossHair: each has concrete parameter types
and returns plain data, and ``models/values.py`` holds a function of the same name and
signature written from the docstring. ``python -m properties.diffbehavior`` pairs them up.

For example::

    out = output_ok({"k": 1}, version="v2")
    output_fields(out)["version"]            # "v2"
    extract_service("chat_fast")             # "chat"
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from stageflow import PipelineContext, StageArtifact, StageEvent, StageOutput, StageStatus
from stageflow import SubpipelineResult as _SubpipelineResult
from stageflow import extract_service as _extract_service
from stageflow.auth.tenant import TenantContext
from stageflow.context import (
    ContextSnapshot,
    Conversation,
    DocumentEnrichment,
    Enrichments,
    MemoryEnrichment,
    Message,
    OutputEntry,
    ProfileEnrichment,
    RoutingDecision,
    RunIdentity,
)
from stageflow.utils.frozen import FrozenDict, FrozenList

from stageflow_verify.core.sut import HarnessError, stageflow_module

# --- frozen containers ---------------------------------------------------------------------


def frozen_dict(data: Mapping[Any, Any] | None = None) -> FrozenDict[Any, Any]:
    return FrozenDict(data)


def frozen_list(data: Sequence[Any] | None = None) -> FrozenList[Any]:
    return FrozenList(data)


# --- versions ---------------------------------------------------------------------------------
# 0.5.1's StageOutput has no ``version`` (no factory takes one, no with_version), and its
# ContextSnapshot.to_dict wants extensions with a to_dict method (a typed bundle), where 1.2.0
# also takes a plain dict. The laws ask these functions before drawing what a version lacks.


def output_has_version() -> bool:
    return any(f.name == "version" for f in dataclasses.fields(StageOutput))


def _version_kw(version: str | None) -> dict[str, Any]:
    # A version that has no version field is asked for none; a non-None version is always passed
    # on, so a law that asks one of 0.5.1 fails loudly instead of silently losing the argument.
    return {} if version is None and not output_has_version() else {"version": version}


def snapshot_takes_dict_extensions() -> bool:
    """Whether this version's snapshots take plain-dict extensions, read from a declaration.

    It used to call ``ContextSnapshot(extensions={...}).to_dict()`` and read an AttributeError
    as "no dict extensions here": a probe that runs the code under test, so a broken to_dict
    (the generated mutant ``context_snapshot.py:198:AddNot:9``) turned the laws off instead of
    failing them. The dict fallback of to_dict came with PipelineContext's ``extensions`` field
    (0.9.5; read in the source of every release from 0.5.0 to 1.2.0), which to_snapshot hands
    to the snapshot, so the field is the probe: a release that declares it promises the
    round trip, and a to_dict that breaks on it fails the laws."""
    return any(f.name == "extensions" for f in dataclasses.fields(PipelineContext))


def context_has(*names: str) -> str | None:
    """None when PipelineContext has every attribute in ``names``, else the N/A reason."""
    missing = [n for n in names if not hasattr(PipelineContext, n)]
    if not missing:
        return None
    return f"PipelineContext has no {', '.join(missing)} in this version"


# --- StageOutput ---------------------------------------------------------------------------

OUTPUT_FIELDS = ("status", "data", "artifacts", "events", "error", "duration_ms", "version")


def output_ok(
    data: dict[str, Any] | None = None, *, version: str | None = None, **kwargs: Any
) -> StageOutput:
    return StageOutput.ok(data, **_version_kw(version), **kwargs)


def output_skip(
    reason: str = "", data: dict[str, Any] | None = None, *, version: str | None = None
) -> StageOutput:
    return StageOutput.skip(reason, data, **_version_kw(version))


def output_cancel(
    reason: str = "", data: dict[str, Any] | None = None, *, version: str | None = None
) -> StageOutput:
    return StageOutput.cancel(reason, data, **_version_kw(version))


def output_fail(
    error: str | None = None,
    data: dict[str, Any] | None = None,
    *,
    response: str | None = None,
    version: str | None = None,
) -> StageOutput:
    return StageOutput.fail(error, data, response=response, **_version_kw(version))


def output_retry(
    error: str, data: dict[str, Any] | None = None, *, version: str | None = None
) -> StageOutput:
    return StageOutput.retry(error, data, **_version_kw(version))


def stage_output(status: str, **fields: Any) -> StageOutput:
    """Build a StageOutput directly from its fields; ``status`` is the enum's value."""
    if "version" in fields:
        version = fields.pop("version")
        fields.update(_version_kw(version))
    return StageOutput(status=StageStatus(status), **fields)


def status_values() -> list[str]:
    return [s.value for s in StageStatus]


def artifact(type_: str, payload: dict[str, Any], timestamp: datetime) -> StageArtifact:
    return StageArtifact(type=type_, payload=payload, timestamp=timestamp)


def event(type_: str, data: dict[str, Any], timestamp: datetime) -> StageEvent:
    return StageEvent(type=type_, data=data, timestamp=timestamp)


def output_field_names() -> tuple[str, ...]:
    """The OUTPUT_FIELDS this version's StageOutput has (0.5.1: all but version)."""
    return OUTPUT_FIELDS if output_has_version() else OUTPUT_FIELDS[:-1]


def output_fields(output: StageOutput) -> dict[str, Any]:
    """Every field of ``output``, with the status as its string value (containers not copied).

    A version without StageOutput.version reads as version None: nothing can set one there.
    """
    fields = {name: getattr(output, name, None) for name in OUTPUT_FIELDS}
    fields["status"] = output.status.value
    return fields


def output_with_duration(output: StageOutput, duration_ms: int) -> StageOutput:
    return output.with_duration(duration_ms)


def output_with_version(output: StageOutput, version: str) -> StageOutput:
    return output.with_version(version)


# --- records: OutputEntry, SubpipelineResult -------------------------------------------------


def output_entry(
    output: StageOutput, attempt: int, timestamp: datetime, stage_name: str
) -> OutputEntry:
    return OutputEntry(output=output, attempt=attempt, timestamp=timestamp, stage_name=stage_name)


def subpipeline_result(success: bool, child_run_id: UUID, **optional: Any) -> _SubpipelineResult:
    """A SubpipelineResult; ``optional`` (data, error, duration_ms) holds only what the caller
    passes, so a law can leave an argument out and see its default."""
    return _SubpipelineResult(success=success, child_run_id=child_run_id, **optional)


SUBPIPELINE_EVENTS = (
    "PipelineSpawnedChildEvent",
    "PipelineChildCompletedEvent",
    "PipelineChildFailedEvent",
    "PipelineCanceledEvent",
)


def subpipeline_event(name: str, **fields: Any) -> Any:
    """One of :data:`SUBPIPELINE_EVENTS`, built with exactly ``fields`` (defaults left out)."""
    return getattr(stageflow_module().pipeline.subpipeline, name)(**fields)


# --- ContextSnapshot and its parts -----------------------------------------------------------

ID_FIELDS = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id", "interaction_id")


def run_identity(ids: Mapping[str, UUID | None], created_at: datetime) -> RunIdentity:
    return RunIdentity(**dict(ids), created_at=created_at)


def message(
    role: str, content: str, timestamp: datetime | None, metadata: dict[str, Any]
) -> Message:
    return Message(role=role, content=content, timestamp=timestamp, metadata=metadata)


def conversation(
    messages: list[Message], routing: tuple[str, str, str, str | None] | None
) -> Conversation:
    decision = RoutingDecision(*routing) if routing is not None else None
    return Conversation(messages=messages, routing_decision=decision)


def enrichments(
    user_id: UUID | None,
    display_name: str | None,
    preferences: dict[str, Any],
    goals: list[str],
    web_results: list[dict[str, Any]],
    with_profile: bool = True,
    memory: tuple[list[str], list[str], str | None] | None = None,
    documents: Sequence[tuple[str | None, str | None]] = (),
) -> Enrichments:
    """Enrichments with a profile (unless ``with_profile`` is False), web results, and the
    memory (recent topics, key facts, summary) and documents (id, type) given."""
    profile = ProfileEnrichment(
        user_id=user_id, display_name=display_name, preferences=preferences, goals=goals
    )
    held = None
    if memory is not None:
        topics, facts, summary = memory
        held = MemoryEnrichment(
            recent_topics=topics, key_facts=facts, interaction_history_summary=summary
        )
    return Enrichments(
        profile=profile if with_profile else None,
        memory=held,
        documents=[DocumentEnrichment(document_id=i, document_type=t) for i, t in documents],
        web_results=web_results,
    )


def context_snapshot(**fields: Any) -> ContextSnapshot[Any]:
    return ContextSnapshot(**fields)


def snapshot_from_dict(data: dict[str, Any]) -> ContextSnapshot[Any]:
    return ContextSnapshot.from_dict(data)


def snapshot_with(snapshot: ContextSnapshot[Any], field: str, value: Any) -> ContextSnapshot[Any]:
    """Call ``snapshot.with_<field>(value)`` (run_id, enrichments, conversation, extensions)."""
    if field not in ("run_id", "enrichments", "conversation", "extensions"):
        raise HarnessError(f"ContextSnapshot has no with_{field}; the suite asked for it")
    copied: ContextSnapshot[Any] = getattr(snapshot, f"with_{field}")(value)
    return copied


def record_fields(record: Any) -> dict[str, Any]:
    """The dataclass fields of a Stageflow record, by name (values not copied)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


# --- PipelineContext, extract_service, tenant --------------------------------------------------


def pipeline_context(**fields: Any) -> PipelineContext:
    """``PipelineContext.create(**fields)``; before create() (0.9.5, 0.9.6) the constructor,
    given every id field (it requires them; create() passes each)."""
    if hasattr(PipelineContext, "create"):
        return PipelineContext.create(**fields)
    return PipelineContext(**fields)


def context_from_snapshot(snapshot: ContextSnapshot[Any]) -> PipelineContext:
    return PipelineContext.from_snapshot(snapshot)


def tenant_from_snapshot(snapshot: ContextSnapshot[Any]) -> TenantContext | None:
    return TenantContext.from_snapshot(snapshot)


def extract_service(topology: str | None) -> str | None:
    return _extract_service(topology)


# --- typed pure wrappers for CrossHair (same names and signatures in models/values.py) -------


def frozen_dict_lookup(items: dict[int, int], key: int, default: int) -> tuple[bool, int, int]:
    fd = FrozenDict(items)
    return key in fd, cast(int, fd.get(key, default)), len(fd)


def frozen_dict_equal(a: dict[int, int], b: dict[int, int]) -> bool:
    return FrozenDict(a) == FrozenDict(b)


def frozen_dict_hash_agrees(a: dict[int, int], b: dict[int, str]) -> bool:
    # Keys 1 and "1" print alike: the one shape where FrozenDict's str-sorted hash can split.
    left = FrozenDict({**a, **{str(k): v for k, v in b.items()}})
    right = FrozenDict({**{str(k): v for k, v in b.items()}, **a})
    return left != right or hash(left) == hash(right)


def frozen_list_lookup(items: list[int], index: int) -> tuple[int, int, bool]:
    fl = FrozenList(items)
    found = fl[index] if -len(fl) <= index < len(fl) else -1
    return len(fl), found if isinstance(found, int) else -1, index in fl


def stage_output_ok(data: dict[str, int], extra: dict[str, int], version: str | None) -> Any:
    extra = {k: v for k, v in extra.items() if k not in ("data", "version")}
    return _plain(StageOutput.ok(data, version=version, **extra))


def stage_output_skip(reason: str, data: dict[str, int], version: str | None) -> Any:
    return _plain(StageOutput.skip(reason, data, version=version))


def stage_output_cancel(reason: str, data: dict[str, int], version: str | None) -> Any:
    return _plain(StageOutput.cancel(reason, data, version=version))


def stage_output_fail(
    error: str | None, response: str | None, data: dict[str, int], version: str | None
) -> Any:
    return _plain(StageOutput.fail(error, data, response=response, version=version))


def stage_output_retry(error: str, data: dict[str, int], version: str | None) -> Any:
    return _plain(StageOutput.retry(error, data, version=version))


def stage_output_with_duration(data: dict[str, int], error: str | None, duration_ms: int) -> Any:
    return _plain(StageOutput(StageStatus.FAIL, data=data, error=error).with_duration(duration_ms))


def _plain(output: StageOutput) -> tuple[str, dict[str, Any], str | None, int | None, str | None]:
    # A tuple rather than a dict: CrossHair compares it element by element and prints it short.
    return (
        output.status.value,
        dict(output.data),
        output.error,
        output.duration_ms,
        output.version,
    )


# --- snapshot formats: typed extension bundles and the legacy flat dict -----------------------


@functools.cache
def _verify_tags_class() -> type[Any]:
    # A user's typed extension, as the ExtensionBundle docstring shows one ("Subclass this to
    # create typed extension bundles"); made once, so equal bundles are of one class.
    from stageflow.context import ExtensionBundle

    @dataclasses.dataclass(frozen=True)
    class VerifyTags(ExtensionBundle):
        label: str = ""
        count: int = 0

    return VerifyTags


def extension_bundle(label: str, count: int) -> Any:
    return _verify_tags_class()(label=label, count=count)


def extension_types() -> dict[str, type[Any]]:
    """The registry from_dict takes to rebuild :func:`extension_bundle` values."""
    cls = _verify_tags_class()
    return {cls.__name__: cls}


def snapshot_from_dict_typed(
    data: dict[str, Any], registry: dict[str, type[Any]] | None
) -> ContextSnapshot[Any]:
    if registry is None:
        return ContextSnapshot.from_dict(data)
    return ContextSnapshot.from_dict(data, extension_types=registry)


def snapshot_replace(snapshot: ContextSnapshot[Any], **fields: Any) -> ContextSnapshot[Any]:
    return dataclasses.replace(snapshot, **fields)


def run_identity_replace(identity: RunIdentity, **fields: Any) -> RunIdentity:
    return dataclasses.replace(identity, **fields)
