"""One chain of spawns on a real SubpipelineSpawner, reported as the depth model's outcomes.

:func:`spawn_chain` runs what :mod:`models.subpipeline_depth` describes: from a root context,
spawn ``i`` creates level ``i`` from level ``i - 1``'s context, *nested* (inside level
``i - 1``'s runner, while its spawn() runs) or *detached* (level ``i - 1``'s runner kept its
context and returned; the spawn comes after). Each spawn reports ``("spawned",)`` once its
runner starts, ``("refused", current_depth)`` for a MaxDepthExceededError, or
``("failed", error)`` if spawn() returned an unsuccessful result; the chain stops at the first
spawn that is not spawned.

The spawner gets a fresh ChildRunTracker and emits no events (depth does not involve them), and
the chain runs on the suite's deterministic loop: it is sequential, so the stock order is the
only order. Nothing here differs between 0.5.1 and 1.2.0: the root context passes every id
field, and spawn is called without 1.2.0's ``inherit_data``.

For example::

    assert spawn_chain(("nested", "nested"), max_depth=1) == (("spawned",), ("refused", 1))
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.subpipeline_roots import root_context

Outcome = tuple[Any, ...]


def _spawner(max_depth: int | None) -> Any:
    # None: max_depth left out, so the spawner's own default applies.
    sub = stageflow_module().pipeline.subpipeline
    given = {} if max_depth is None else {"max_depth": max_depth}
    return sub.SubpipelineSpawner(child_tracker=sub.ChildRunTracker(), emit_events=False, **given)


def spawner_max_depth(max_depth: int | None) -> Any:
    """What ``spawner.max_depth`` reads for a spawner built with ``max_depth`` (None: left out)."""
    return _spawner(max_depth).max_depth


def spawn_chain(modes: Sequence[str], max_depth: int | None) -> tuple[Outcome, ...]:
    """Spawn ``len(modes)`` levels, each nested in or detached from the one above
    (``max_depth`` None: left out)."""
    sub = stageflow_module().pipeline.subpipeline
    spawner = _spawner(max_depth)
    outcomes: list[Outcome] = []

    async def spawn_level(parent_ctx: Any, level: int) -> None:
        kept: dict[str, Any] = {}
        nested_next = level < len(modes) and modes[level] == "nested"

        async def runner(ctx: Any) -> dict[str, Any]:
            outcomes.append(("spawned",))
            if nested_next:
                await spawn_level(ctx, level + 1)
            else:
                kept["ctx"] = ctx  # the runner returns; its context lives on
            return {}

        try:
            result = await spawner.spawn(f"level{level}", parent_ctx, uuid.uuid4(), "s", runner)
        except sub.MaxDepthExceededError as refused:
            outcomes.append(("refused", refused.current_depth))
            return
        if not result.success:
            outcomes.append(("failed", result.error))
        elif "ctx" in kept and level < len(modes):
            await spawn_level(kept["ctx"], level + 1)

    async def chain() -> None:
        if modes:
            await spawn_level(root_context(uuid.uuid4(), None, {}), 1)

    run(chain, max_steps=100_000)
    return tuple(outcomes)
