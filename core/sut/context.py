"""Real ``PipelineContext`` objects, driven by the context model's operations and observed as
plain data in the same shape as :meth:`models.context_tree.ContextTreeModel.observe`.

Observation goes through what a user can reach (fields, ``get_parent_data``, ``is_child_run``),
except for the set of parent-data keys: the public API has no way to list them, so it is read
from the private ``_parent_data`` where the version has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from models.context_tree import IDENTITY_FIELDS, ROOT_ID_FIELDS, CreateRoot, Fork, ReadPath
from models.heap import Edit, Path, Plain, edit_plain

from . import stageflow_module


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


def create_root(op: CreateRoot) -> Any:
    sf = stageflow_module()
    ids = {f: to_uuid(op.identity.get(f)) for f in ROOT_ID_FIELDS}
    return sf.PipelineContext.create(
        **ids,
        topology=op.topology,
        execution_mode=op.execution_mode,
        service=op.service,
        data=_fresh(op.data),
        configuration=_fresh(op.configuration),
        metadata=_fresh(op.metadata),
        extensions=None if op.extensions is None else _fresh(op.extensions),
    )


def fork(parent: Any, op: Fork, overrides: dict[str, Any] | None) -> Any:
    """Fork ``parent``; ``overrides`` is the caller's dict (kept by the caller for later edits)."""
    kwargs: dict[str, Any] = {}
    if op.topology is not None:
        kwargs["topology"] = op.topology
    if op.execution_mode is not None:
        kwargs["execution_mode"] = op.execution_mode
    if op.inherit_data is not False:
        kwargs["inherit_data"] = op.inherit_data
    if overrides is not None:
        kwargs["data_overrides"] = overrides
    return parent.fork(UUID(op.child_run_id), op.parent_stage_id, UUID(op.correlation_id), **kwargs)


def _fresh(value: dict[str, Plain]) -> dict[str, Any]:
    projected = plain(value)
    assert isinstance(projected, dict)
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
    return {
        "identity": {f: _id(getattr(ctx, f, None)) for f in IDENTITY_FIELDS},
        "topology": ctx.topology,
        "execution_mode": ctx.execution_mode,
        "service": ctx.service,
        "is_child_run": ctx.is_child_run,
        "data": plain(ctx.data),
        "configuration": plain(ctx.configuration),
        "metadata": plain(ctx.metadata),
        "extensions": plain(ctx.extensions),
        "parent_data": parent_data,
        "data_overrides": plain(overrides),
        "canceled": ctx.canceled,
        "cancellation_reason": ctx.cancellation_reason,
        "artifacts": len(ctx.artifacts),
    }


def _id(value: Any) -> str | None:
    return None if value is None else str(value)
