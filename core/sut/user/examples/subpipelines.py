"""A parent stage spawning child pipelines, cancelled while they run (an orphan planted).

The pattern is Stageflow's "Cancellation Propagation" (``docs/advanced/subpipelines.md:353``:
"Parent cancellation should cascade to children"): a ``research`` stage starts one child
pipeline per question with ``SubpipelineSpawner.spawn`` (``docs/advanced/subpipelines.md:607``),
each in a task of its own, and gathers them; if the stage is cancelled meanwhile it cancels
every child task and awaits them before re-raising, as the guide's ``except
asyncio.CancelledError`` block does. Each child forks the run's context (the spawner does
that), so the child runs inherit the tenant ids and get data dicts of their own.

``buggy=True`` plants the mistake the guide warns about: the stage re-raises without
cancelling its children, which then go on running (and writing) after the run has ended.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import stageflow as sf
from stageflow.pipeline.subpipeline import ChildRunTracker, SubpipelineSpawner

QUESTIONS = ("pricing", "reviews")
# Fixed ids: the tenant checks compare them, and a replay must build the same run.
RUN_ID, USER_ID, ORG_ID = UUID(int=1), UUID(int=2), UUID(int=3)


def research_context() -> Any:
    return sf.PipelineContext.create(
        pipeline_run_id=RUN_ID, user_id=USER_ID, org_id=ORG_ID, input_text="compare plans"
    )


def research_pipeline(ctx: Any, *, buggy: bool = False) -> Any:
    spawner = SubpipelineSpawner(child_tracker=ChildRunTracker(), emit_events=False)

    async def lookup(stage_ctx: Any) -> Any:
        await asyncio.sleep(0.05)  # the search backend answers
        return sf.StageOutput.ok(answer=f"about {stage_ctx.snapshot.input_text}")

    child_graph = sf.Pipeline(name="lookup").with_stage("lookup", lookup, sf.StageKind.WORK)

    async def run_child(child_ctx: Any) -> dict[str, Any]:
        results = await child_graph.build().run(child_ctx)
        child_ctx.data["answer"] = results["lookup"].data["answer"]
        return {"answer": child_ctx.data["answer"]}

    async def ask(question: str, index: int) -> Any:
        return await spawner.spawn(
            pipeline_name="lookup",
            ctx=ctx,
            correlation_id=UUID(int=100 + index),
            parent_stage_id="research",
            runner=run_child,
            topology=f"lookup_{question}",
        )

    async def research(stage_ctx: Any) -> Any:
        children = [asyncio.create_task(ask(q, i)) for i, q in enumerate(QUESTIONS)]
        try:
            answers = await asyncio.gather(*children)
        except asyncio.CancelledError:
            if not buggy:
                for child in children:
                    child.cancel()
                await asyncio.gather(*children, return_exceptions=True)
            raise
        return sf.StageOutput.ok(answers=[a.data.get("answer") for a in answers])

    return sf.Pipeline(name="research").with_stage("research", research, sf.StageKind.WORK)
