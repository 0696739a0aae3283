"""Which events a real SubpipelineSpawner emits for a few sequential spawns and a cancel.

:func:`spawn_events` builds a spawner with ``emit_events`` given or left out, spawns one child
per entry of ``children`` from one root context (each runner returns, or raises for a failing
child), then optionally calls ``cancel_with_children`` on the root. One :class:`RecordingSink`
is both the root context's ``event_sink`` and the ambient ``set_event_sink`` one, so an event
counts once wherever Stageflow sends it (1.2.0 sends them to the ambient sink: SF-SUB-06). The
answer is the emitted types, in order, in the short names of ``EVENT_NAMES``.

For example::

    assert spawn_events((True, False), emit_events=False, cancel=True) == []
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.subpipeline_roots import EVENT_NAMES, RecordingSink, root_context


class ChildFailure(RuntimeError):
    pass


def spawn_events(children: Sequence[bool], emit_events: bool | None, cancel: bool) -> list[str]:
    """Spawn a child per entry (True: its runner returns, False: it raises), then maybe cancel
    the root; ``emit_events`` None leaves the argument out (the spawner's default applies)."""
    sf = stageflow_module()
    sub = sf.pipeline.subpipeline
    given = {} if emit_events is None else {"emit_events": emit_events}
    spawner = sub.SubpipelineSpawner(child_tracker=sub.ChildRunTracker(), **given)
    sink = RecordingSink()
    root_id = uuid.uuid4()

    async def main() -> None:
        sf.set_event_sink(sink)  # this task's context only: nothing leaks past run()
        root = root_context(root_id, sink, {})
        for i, succeeds in enumerate(children):

            async def runner(ctx: Any, succeeds: bool = succeeds) -> dict[str, Any]:
                if not succeeds:
                    raise ChildFailure("the child failed")
                return {}

            await spawner.spawn(f"child{i}", root, uuid.uuid4(), "s", runner)
        if cancel:
            await spawner.cancel_with_children(root_id)

    run(main, max_steps=100_000)
    return [EVENT_NAMES.get(type_, type_) for type_, _ in sink.emitted]
