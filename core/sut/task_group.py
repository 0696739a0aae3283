"""``StructuredTaskGroup`` driven with a :class:`~models.task_group.GroupPlan`, directly or as
the work of one stage in a run, observed as :mod:`models.task_group` predicts. Run the
coroutines on the suite's deterministic loop: every duration is virtual, so the observation
is a function of the plan and the schedule.

For example::

    seen, registered, ran = run(lambda: play_group(plan), HypothesisChooser(data)).value
    seen == predict_group(plan, deviations)  # while Stageflow keeps its promise
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import new_pipeline, root_context
from stageflow_verify.models.graph_run import t7
from stageflow_verify.models.task_group import CLEANUP_WORK, GroupObservation, GroupPlan

sf = stageflow_module()


class BodyError(Exception):
    """What the ``async with`` body raises when the plan says so."""


@dataclass
class GroupRecord:
    """What one group did, kept even when the task running it is cancelled half way."""

    finished: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    cleanups: list[list[float | None]] = field(default_factory=list)  # [start, end or None]
    ran: list[int] = field(default_factory=list)  # cleanups in the order they ran
    raised: str | None = None
    token: bool = False
    exit: float = 0.0

    def observation(self) -> GroupObservation:
        cleanups = tuple((c[0] or 0.0, c[1]) for c in self.cleanups)
        return GroupObservation(
            tuple(sorted(self.finished)),
            tuple(sorted(self.cancelled)),
            self.raised,
            self.token,
            cleanups,
            self.exit,
        )


async def _group(plan: GroupPlan, rec: GroupRecord) -> None:
    from stageflow.pipeline.cancellation import StructuredTaskGroup

    loop = asyncio.get_running_loop()

    async def task(i: int) -> None:
        try:
            await asyncio.sleep(plan.works[i])
        except asyncio.CancelledError:
            rec.cancelled.append(i)
            raise
        rec.finished.append(i)
        if plan.fails[i]:
            raise ValueError(f"task {i}")

    def cleanup(k: int) -> Any:
        async def callback() -> None:
            rec.ran.append(k)
            entry: list[float | None] = [t7(loop.time()), None]
            rec.cleanups.append(entry)
            await asyncio.sleep(CLEANUP_WORK)
            entry[1] = t7(loop.time())

        return callback

    group = StructuredTaskGroup()
    for k in range(plan.cleanups):
        group.cleanup_registry.register(cleanup(k), name=f"cleanup {k}")
    try:
        async with group as tg:
            for i in range(len(plan.works)):
                tg.create_task(task(i), name=f"task {i}")
            if plan.body_error_at is not None:
                await asyncio.sleep(plan.body_error_at)
                raise BodyError("body")
    except (ValueError, BodyError) as exc:
        rec.raised = str(exc)
    except asyncio.CancelledError:
        rec.raised = "cancelled"
        raise
    finally:
        rec.token = group.cancel_token.is_cancelled
        rec.exit = t7(loop.time())


async def play_group(plan: GroupPlan) -> tuple[GroupObservation, list[int], list[int]]:
    """One group; returns the observation, the cleanups' registration order and run order."""
    rec = GroupRecord()
    await _group(plan, rec)
    return rec.observation(), list(range(plan.cleanups)), rec.ran


async def play_group_in_run(
    plan: GroupPlan, sibling_raises_at: float | None
) -> tuple[GroupObservation, str | None, list[int]]:
    """A run of two stages: ``g`` works through the group (and raises what it raised), ``s``
    works until ``sibling_raises_at`` and raises then (or returns at once when None).
    Returns the group's observation, the stage that failed the run, the cleanups' run order."""
    rec = GroupRecord()

    async def g(ctx: Any) -> Any:
        await _group(plan, rec)
        if rec.raised is not None:
            raise ValueError(rec.raised)
        return sf.StageOutput.ok()

    async def s(ctx: Any) -> Any:
        if sibling_raises_at is None:
            return sf.StageOutput.ok()
        await asyncio.sleep(sibling_raises_at)
        raise ValueError("s")

    pipeline = new_pipeline("group").with_stage("g", g, sf.StageKind.TRANSFORM)
    graph = pipeline.with_stage("s", s, sf.StageKind.TRANSFORM).build()
    failed = None
    try:
        await graph.run(root_context("group"))
    except sf.pipeline.dag.UnifiedStageExecutionError as exc:
        failed = exc.stage
    return rec.observation(), failed, rec.ran
