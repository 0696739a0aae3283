"""One run of the subpipeline harness, and the ids and contexts Stageflow is handed for its runs.

A :class:`_Run` is a root or a child the harness knows by its label: its context once its
runner starts, the gate its runner parks on, where it is in its life (``phase``) and what it
ended with. :meth:`_Run.quiet` is what ``SubpipelineHarness.quiesce`` waits for on every run.

:class:`_CountedIds` stands in for ``uuid4`` in Stageflow's subpipeline module while a harness is
open, so that every example replays exactly; :class:`_LiveContexts` is the registry of contexts
a caller hands ``cancel_with_children``, read as the cascade reaches each run.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Plain = Any  # nested dicts, lists, strings, numbers: what the model's views produce


@dataclass(eq=False)
class _Run:
    label: str
    parent: _Run | None
    ctx: Any = None
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: str = "none"
    phase: str = "starting"  # starting -> parked -> draining -> (task done)
    task: asyncio.Task[None] | None = None
    children: list[asyncio.Task[None]] = field(default_factory=list)
    registered_at_start: bool | None = None
    spawn_result: tuple[object, ...] | None = None
    result: dict[str, Plain] | None = None
    # Milliseconds: the runner's own span (from its first line to its return or raise), what
    # spawn reported as duration_ms, and the span of the whole spawn() call around it.
    runner_ms: float | None = None
    timing: tuple[float, float, float] | None = None

    def quiet(self) -> bool:
        if self.task is None or self.task.done():
            return True
        if self.task.cancelling():  # cancelled, and not yet through spawn's finally
            return False
        if self.phase == "parked":
            return not self.gate.is_set()
        return self.phase == "draining" and any(not t.done() for t in self.children)


class _CountedIds:
    def __init__(self, real: Any) -> None:
        self.real = real
        self._next = itertools.count(1_000)

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=next(self._next))


class _LiveContexts(Mapping[uuid.UUID, Any]):
    # The contexts a caller passes to cancel_with_children, looked up when the cascade reaches
    # each run: a child whose runner starts while the cascade runs is in it too, as it would
    # be in a caller's own registry of contexts.
    def __init__(self, runs: Mapping[str, _Run]) -> None:
        self._runs = runs  # the harness's own dict of runs, which grows as children start

    def _ctxs(self) -> dict[uuid.UUID, Any]:
        runs = self._runs.values()
        return {r.ctx.pipeline_run_id: r.ctx for r in runs if r.ctx is not None}

    def __getitem__(self, run_id: uuid.UUID) -> Any:
        return self._ctxs()[run_id]

    def __iter__(self) -> Iterator[uuid.UUID]:
        return iter(self._ctxs())

    def __len__(self) -> int:
        return len(self._ctxs())
