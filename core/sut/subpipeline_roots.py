"""What every subpipeline adapter starts from: root contexts, recording sinks, version features.

The harness (``core/sut/subpipelines.py``) and the emit, depth and memory scenarios make their
roots with :func:`root_context` (the legacy graph adapter passes the same :data:`ID_FIELDS`);
the harness and the emit scenario record what a spawner emits with :class:`RecordingSink`, and
name the events by the short names of ``EVENT_NAMES``, as the model's views do. Importing this
module also keeps ``spawn()``'s ERROR log of every failing child off verify's table, for every
adapter that spawns.

Versions differ (see :class:`SubpipelineFeatures`): the spawner and tracker of 0.5.1 are those of
1.2.0, except that 0.5.1's ``spawn`` takes no ``inherit_data`` (its child context always starts
with empty ``data``), and 0.5.1's ``PipelineContext`` requires every id field (so
:func:`root_context` passes them all, None, on every version). :func:`bridge_inherit` is how a
caller asks for inheritance only where ``spawn`` can give it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from stageflow_verify.core.sut import stageflow_module

EVENT_NAMES = {
    "pipeline.spawned_child": "spawned",
    "pipeline.child_completed": "completed",
    "pipeline.child_failed": "failed",
    "pipeline.canceled": "canceled",
}

# spawn() logs every failing child at ERROR; with no handler configured, logging's last-resort
# handler would print them all over verify's table.
logging.getLogger("stageflow.subpipeline").addHandler(logging.NullHandler())
logging.getLogger("stageflow.subpipeline").propagate = False


# 0.5.1's PipelineContext requires these (keyword-only, no default); 1.2.0 defaults them to None.
ID_FIELDS = ("request_id", "session_id", "user_id", "org_id", "interaction_id")


@dataclass(frozen=True)
class SubpipelineFeatures:
    """What this version's spawner offers, among the things the subpipeline model talks about."""

    inherit_data: bool  # SubpipelineSpawner.spawn(..., inherit_data=...)


def features() -> SubpipelineFeatures:
    return _features(stageflow_module().pipeline.subpipeline.SubpipelineSpawner.spawn)


# Keyed on spawn: a planted bug that swaps it is a different SUT. A spawn taking **kwargs counts
# as taking every keyword, so bridging never hides a planted wrapper.
@functools.lru_cache(maxsize=16)
def _features(spawn: Any) -> SubpipelineFeatures:
    params = inspect.signature(spawn).parameters
    any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return SubpipelineFeatures(inherit_data=any_keyword or "inherit_data" in params)


def bridge_inherit(inherit: bool) -> bool:
    """``inherit`` where this version's spawn can inherit parent data, else False."""
    return inherit and features().inherit_data


def root_context(run_id: uuid.UUID | None, event_sink: Any, data: dict[str, Any]) -> Any:
    """A root ``PipelineContext``: every id field is passed (None), as 0.5.1 requires; a
    ``run_id`` of None is what ``PipelineContext.create()`` gives by default."""
    ids: dict[str, Any] = dict.fromkeys(ID_FIELDS)
    return stageflow_module().PipelineContext(
        pipeline_run_id=run_id, **ids, event_sink=event_sink, data=data
    )


class SinkFailure(RuntimeError):
    pass


class RecordingSink:
    """An EventSink that records every emit it is asked for, then maybe yields or raises."""

    def __init__(self, failing_type: str | None = None, delay: int = 0) -> None:
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self.emitters: list[asyncio.Task[Any] | None] = []  # the task of each awaited emit
        self.failing_type = failing_type
        self.delay = delay

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.emitted.append((type, dict(data or {})))
        self.emitters.append(asyncio.current_task())
        for _ in range(self.delay):  # a slow sink: other tasks run in between
            await asyncio.sleep(0)
        if type == self.failing_type:
            raise SinkFailure(f"event sink failed on {type}")

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.emitted.append((type, dict(data or {})))
        self.emitters.append(None)
