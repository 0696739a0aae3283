"""``StructuredTaskGroup`` driven with a :class:`~models.task_group.GroupPlan`, observed as the
model predicts it. Run :func:`play_group` on the suite's deterministic loop: every duration is
virtual, so the observation is a function of the plan and the schedule.

For example::

    seen = run(lambda: play_group(plan), HypothesisChooser(data)).value
    seen == predict_group(plan, deviations)  # while Stageflow keeps its promise
"""

from __future__ import annotations

import asyncio

from core.sut import stageflow_module
from models.graph_run import t7
from models.task_group import CLEANUP_WORK, GroupObservation, GroupPlan

sf = stageflow_module()


class BodyError(Exception):
    """What the ``async with`` body raises when the plan says so."""


async def play_group(plan: GroupPlan) -> tuple[GroupObservation, list[int], list[int]]:
    """One group; returns the observation, the cleanups' registration order and run order."""
    from stageflow.pipeline.cancellation import StructuredTaskGroup

    loop = asyncio.get_running_loop()
    finished: list[int] = []
    cancelled: list[int] = []
    cleanups: list[tuple[float, float]] = []
    ran: list[int] = []

    async def task(i: int) -> None:
        try:
            await asyncio.sleep(plan.works[i])
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        finished.append(i)
        if plan.fails[i]:
            raise ValueError(f"task {i}")

    def cleanup(k: int) -> object:
        async def callback() -> None:
            ran.append(k)
            start = loop.time()
            await asyncio.sleep(CLEANUP_WORK)
            cleanups.append((t7(start), t7(loop.time())))

        return callback

    group = StructuredTaskGroup()
    for k in range(plan.cleanups):
        group.cleanup_registry.register(cleanup(k), name=f"cleanup {k}")  # type: ignore[arg-type]
    raised = None
    try:
        async with group as tg:
            for i in range(len(plan.works)):
                tg.create_task(task(i), name=f"task {i}")
            if plan.body_error_at is not None:
                await asyncio.sleep(plan.body_error_at)
                raise BodyError("body")
    except (ValueError, BodyError) as exc:
        raised = str(exc)
    seen = GroupObservation(
        tuple(sorted(finished)),
        tuple(sorted(cancelled)),
        raised,
        group.cancel_token.is_cancelled,
        tuple(cleanups),
        t7(loop.time()),
    )
    return seen, list(range(plan.cleanups)), ran
