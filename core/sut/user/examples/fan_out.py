"""Fan-out of parallel stages writing one nested document, then fan-in (a lost update planted).

The pattern is Stageflow's "Fan-Out (Parallel)" followed by "Fan-In (Aggregation)"
(``docs/guides/pipelines.md:87``, ``:106``): a ``load`` stage, three ENRICH stages that depend
only on it and so run concurrently, and a ``summarize`` stage that depends on all three. The
enrichers file what they found under ``ctx.data["profile"]["tags"]``, one nested document of the
run (``ctx.data`` is the run's mutable scratch space, ``docs/api/interceptors.md:153``), each
after awaiting its lookup service.

``buggy=True`` plants the classic lost update: an enricher copies the tag list *before* its
await and writes the copy back after it, so a sibling that wrote in between is overwritten.
The correct variant appends after the await, in one step no sibling can interleave with.
In stock asyncio order both variants pass (a plain ``asyncio.run`` test stays green); the
explorer finds the interleaving where the buggy one does not.
"""

from __future__ import annotations

import asyncio
from typing import Any

import stageflow as sf

# How many pages of its lookup's answer each enricher decodes (one await each). The lookups
# answer together, and in stock asyncio order the different page counts happen to keep the
# enrichers' writes apart; one step taken in another order makes two of them overlap.
ENRICHERS = {"locale": 0, "plan": 1, "history": 2}


def fan_out_context() -> Any:
    return sf.PipelineContext.create(input_text="user-42", data={"profile": {"tags": []}})


def fan_out_pipeline(ctx: Any, *, buggy: bool = False) -> Any:
    profile = ctx.data["profile"]

    async def load(stage_ctx: Any) -> Any:
        await asyncio.sleep(0.01)  # read the user record
        return sf.StageOutput.ok(user=stage_ctx.snapshot.input_text)

    def enricher(name: str, pages: int) -> Any:
        async def enrich(stage_ctx: Any) -> Any:
            await asyncio.sleep(0.01)  # the lookup service answers
            for _ in range(pages):
                await asyncio.sleep(0)  # decode one page of the answer
            if buggy:
                tags = list(profile["tags"])  # read ...
                await asyncio.sleep(0)  # ... flush an audit record ...
                profile["tags"] = [*tags, name]  # ... and write back a list that may be stale
            else:
                await asyncio.sleep(0)
                profile["tags"].append(name)  # one step: nothing can come in between
            return sf.StageOutput.ok(tag=name)

        return enrich

    async def summarize(stage_ctx: Any) -> Any:
        return sf.StageOutput.ok(tags=sorted(profile["tags"]))

    pipeline = sf.Pipeline(name="fan_out").with_stage("load", load, sf.StageKind.TRANSFORM)
    for name, pages in ENRICHERS.items():
        pipeline = pipeline.with_stage(name, enricher(name, pages), sf.StageKind.ENRICH, ("load",))
    return pipeline.with_stage("summarize", summarize, sf.StageKind.TRANSFORM, tuple(ENRICHERS))


def every_tag_kept(run: Any) -> list[str]:
    """A successful run's profile holds the tag of every enricher."""
    if run.outcome != "ok":
        return []
    tags = sorted(run.ctx.data["profile"]["tags"])
    return (
        [] if tags == sorted(ENRICHERS) else [f"profile tags are {tags}, not {sorted(ENRICHERS)}"]
    )
