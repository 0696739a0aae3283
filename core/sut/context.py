"""Real ``PipelineContext`` objects, driven by the context model's operations and observed as
plain data in the same shape as :meth:`models.context_tree.ContextTreeModel.observe`.

Observation goes through what a user can reach (fields, ``get_parent_data``, ``is_child_run``),
except for the set of parent-data keys: the public API has no way to list them, so it is read
from the private ``_parent_data`` where the version has it.

Versions differ (see :class:`Features`): 0.5.1's ``PipelineContext`` requires every id field,
has no ``create``, no ``metadata``, ``extensions`` or ``cancellation_reason``, and its ``fork``
takes no ``inherit_data`` or ``data_overrides``. The machine passes each operation through the
``bridge_*`` functions first, so it only asks a version for what that version has (the model
steps on the bridged operation, so both sides agree on what was done), and
:func:`comparable` leaves the fields a version lacks out of the comparison, on both sides.
Nothing is relaxed for a field the version has.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from stageflow_verify.models.context_tree import (
    IDENTITY_FIELDS,
    ROOT_ID_FIELDS,
    CreateRoot,
    Fork,
    ReadPath,
)
from stageflow_verify.models.heap import Edit, Path, Plain, edit_plain

from . import HarnessError, stageflow_module


def to_uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def plain(value: Any) -> Plain:
    """Project a real value to plain data (FrozenDict and other Mappings become dicts)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return repr(value)


@dataclass(frozen=True)
class Features:
    """What this version's ``PipelineContext`` has, among the things the model talks about."""

    create: bool  # the PipelineContext.create classmethod (else: the constructor)
    metadata: bool
    extensions: bool
    cancellation_reason: bool  # the field, and mark_canceled(reason)
    inherit_data: bool  # fork(..., inherit_data=...)
    data_overrides: bool  # fork(..., data_overrides=...)

    def missing_fields(self) -> tuple[str, ...]:
        names = ("metadata", "extensions", "cancellation_reason")
        return tuple(n for n in names if not getattr(self, n))


def features() -> Features:
    cls = stageflow_module().PipelineContext
    return _features(cls, cls.fork)


# Keyed on fork too: a planted bug that swaps fork is a different SUT. A fork taking **kwargs
# (a planted wrapper) counts as taking every keyword, so bridging never hides it.
@functools.lru_cache(maxsize=16)
def _features(cls: type, fork: Any) -> Features:
    fields = {f.name for f in dataclasses.fields(cls)}
    params = inspect.signature(fork).parameters
    any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return Features(
        create=hasattr(cls, "create"),
        metadata="metadata" in fields,
        extensions="extensions" in fields,
        cancellation_reason="cancellation_reason" in fields,
        inherit_data=any_keyword or "inherit_data" in params,
        data_overrides=any_keyword or "data_overrides" in params,
    )


def bridge_root(op: CreateRoot) -> CreateRoot:
    """``op`` with what this version cannot hold left at the empty value (no metadata...)."""
    f = features()
    return replace(
        op,
        metadata=op.metadata if f.metadata else {},
        extensions=op.extensions if f.extensions else None,
    )


def bridge_fork(op: Fork) -> Fork:
    f = features()
    return replace(
        op,
        inherit_data=op.inherit_data if f.inherit_data else False,
        data_overrides=op.data_overrides if f.data_overrides else None,
    )


def bridge_reason(reason: str | None) -> str | None:
    return reason if features().cancellation_reason else None


def reachable(read_path: ReadPath) -> bool:
    """Whether a user of this version can reach containers through ``read_path`` at all."""
    f = features()
    return {
        ReadPath.METADATA: f.metadata,
        ReadPath.EXTENSIONS: f.extensions,
        ReadPath.DATA_OVERRIDES: f.data_overrides,
    }.get(read_path, True)


def comparable(observation: dict[str, Plain]) -> dict[str, Plain]:
    """An observation (the model's or Stageflow's) without the fields this version lacks."""
    missing = features().missing_fields()
    return {k: v for k, v in observation.items() if k not in missing}


def create_root(
    op: CreateRoot, omit: frozenset[str] = frozenset(), extra: dict[str, Any] | None = None
) -> Any:
    """A root context; the arguments named in ``omit`` are left out (``op`` holds their
    defaults), and those of ``extra`` (event_sink, created_at, db) are passed as given."""
    sf = stageflow_module()
    f = features()
    # Every id is passed, None included: 0.5.1 requires them all as keywords.
    fields: dict[str, Any] = {f_: to_uuid(op.identity.get(f_)) for f_ in ROOT_ID_FIELDS}
    fields.update(
        topology=op.topology,
        execution_mode=op.execution_mode,
        service=op.service,
        data=_fresh(op.data),
        configuration=_fresh(op.configuration),
    )
    if f.metadata:
        fields["metadata"] = _fresh(op.metadata)
    if f.extensions:
        fields["extensions"] = None if op.extensions is None else _fresh(op.extensions)
    # Only what this version's PipelineContext holds (0.5.1: no created_at, no db).
    held = {f_.name for f_ in dataclasses.fields(sf.PipelineContext)}
    fields.update({k: v for k, v in (extra or {}).items() if k in held})
    fields = {k: v for k, v in fields.items() if k not in omit}
    if f.create:
        return sf.PipelineContext.create(**fields)
    return sf.PipelineContext(**fields)


def fork(
    parent: Any, op: Fork, overrides: dict[str, Any] | None, spell_defaults: bool = False
) -> Any:
    """Fork ``parent``; ``overrides`` is the caller's dict (kept by the caller for later edits).

    An argument at its default is left out, or with ``spell_defaults`` passed as that default:
    both must mean the same. Only the arguments this version takes are spelled out.
    """
    f = features()
    given = {
        "topology": op.topology,
        "execution_mode": op.execution_mode,
        "inherit_data": op.inherit_data,
        "data_overrides": overrides,
    }
    defaults = {"topology": None, "execution_mode": None, "inherit_data": False}
    defaults["data_overrides"] = None
    takes = {"inherit_data": f.inherit_data, "data_overrides": f.data_overrides}
    kwargs = {
        k: v
        for k, v in given.items()
        if ((v is not defaults[k] and v != defaults[k]) or spell_defaults) and takes.get(k, True)
    }
    return parent.fork(UUID(op.child_run_id), op.parent_stage_id, UUID(op.correlation_id), **kwargs)


def _fresh(value: dict[str, Plain]) -> dict[str, Any]:
    projected = plain(value)
    if not isinstance(projected, dict):
        raise HarnessError(f"plain() turned the drawn dict {value!r} into {projected!r}")
    return projected


def fresh_overrides(op: Fork) -> dict[str, Any] | None:
    return None if op.data_overrides is None else _fresh(op.data_overrides)


def reach(ctx: Any, read_path: ReadPath, path: Path, overrides: Any) -> Any:
    """The real container a user reaches through ``read_path`` and then ``path``."""
    steps = list(path)
    if read_path is ReadPath.PARENT_DATA:
        if not steps:
            return ctx._parent_data  # the FrozenDict itself
        target = ctx.get_parent_data(steps.pop(0))
    elif read_path is ReadPath.DATA_OVERRIDES:
        target = overrides
    else:
        target = getattr(ctx, read_path.value)
    for step in steps:
        target = target[step]
    return target


def edit_through(ctx: Any, read_path: ReadPath, path: Path, edit: Edit, overrides: Any) -> bool:
    """Apply ``edit`` the way a user would; False when Stageflow refused it (read-only)."""
    try:
        edit_plain(reach(ctx, read_path, path, overrides), edit)
    except (TypeError, AttributeError):
        return False
    return True


def mark_canceled(ctx: Any, reason: str | None) -> None:
    if reason is None:
        ctx.mark_canceled()
    else:
        ctx.mark_canceled(reason)


def add_artifact(ctx: Any) -> None:
    sf = stageflow_module()
    ctx.artifacts.append(sf.core.StageArtifact(type="verify", payload={}))


def observe(ctx: Any, overrides: Any) -> dict[str, Plain]:
    """Project a real context into the model's observation shape."""
    snapshot = getattr(ctx, "_parent_data", None)
    parent_data: Plain = None
    if snapshot is not None:
        parent_data = {str(k): plain(ctx.get_parent_data(k)) for k in snapshot}
    observation: dict[str, Plain] = {
        "identity": {f: _id(getattr(ctx, f, None)) for f in IDENTITY_FIELDS},
        "topology": ctx.topology,
        "execution_mode": ctx.execution_mode,
        "service": ctx.service,
        "is_child_run": ctx.is_child_run,
        "data": plain(ctx.data),
        "configuration": plain(ctx.configuration),
        "metadata": plain(getattr(ctx, "metadata", None)),
        "extensions": plain(getattr(ctx, "extensions", None)),
        "parent_data": parent_data,
        "data_overrides": plain(overrides),
        "canceled": ctx.canceled,
        "cancellation_reason": getattr(ctx, "cancellation_reason", None),
        "artifacts": len(ctx.artifacts),
    }
    return comparable(observation)


def _id(value: Any) -> str | None:
    return None if value is None else str(value)
