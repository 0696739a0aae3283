"""``PipelineRunner`` (helpers/run_utils.py) driven through a sequence of runs of one built
graph, observed as :mod:`models.runner_result` predicts.

The graph is a :class:`~models.run_lifecycle.LifeGraph` built once, with a one-interceptor
stack (LoggingInterceptor: no circuit breaker, whose counts would carry from run to run by
design, which the graph machine follows). The sequence mixes ``runner`` runs (one
``PipelineRunner``, reused, given the built graph), ``runner_pipeline`` runs (the same runner
given the ``Pipeline``, which it builds, and ``input_text``, from which it makes the context)
and ``plain`` runs (``graph.run`` on a context that names no sink, so
the global one serves); the caller sets its own global sink first. ``RunResult`` fields that
read the wall clock (``duration_ms``, event timestamps) are left out; events are compared by
type. The runner is built quiet (``verbose=False``): it would print every event.

Releases differ, and the differences are probed: ``run(pipeline_ctx=)`` appears in 0.9.6
(before, the runner is given ``input_text`` and builds its own root), ``build(interceptors=)``
in 0.9.6 (before, a built graph runs no interceptors: nothing to choose), and a plain run's
context is the one :func:`core.sut.graphs.root_context` builds for the release, which before
0.9.5 is a root ``StageContext`` naming no sink (its events go nowhere: ``LifeFeatures``).

For example::

    results, kept, mine = run(lambda: run_sequence(graph, ("runner", "plain")), chooser).value
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import features, new_pipeline, root_context
from stageflow_verify.core.sut.lifecycle import behave
from stageflow_verify.models.run_lifecycle import LifeGraph, LifeStage, typed
from stageflow_verify.models.runner_result import RunnerResult

sf = stageflow_module()


class _UserSink:
    """The caller's own global sink."""

    def __init__(self) -> None:
        self.types: list[str] = []

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.types.append(type)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.types.append(type)


def _pipeline(graph: LifeGraph) -> Any:
    def runner(stage: LifeStage) -> Any:
        async def run_stage(ctx: Any) -> Any:
            await asyncio.sleep(stage.work)
            return behave(stage)

        return run_stage

    pipeline = new_pipeline("runner")
    for stage in graph.stages:
        pipeline = pipeline.with_stage(
            stage.name, runner(stage), sf.StageKind.TRANSFORM, stage.deps
        )
    return pipeline


def seen_result(result: Any) -> RunnerResult:
    stages = tuple(
        sorted(
            (name, tuple(sorted((k, typed(v)) for k, v in data.items())))
            for name, data in result.stages.items()
        )
    )
    return RunnerResult(
        success=result.success,
        stages=stages,
        cancelled=result.cancelled,
        cancel_reason=result.cancel_reason,
        error_type=result.error_type,
        events=tuple(e["type"] for e in result.events),
    )


async def run_sequence(
    graph: LifeGraph, kinds: tuple[str, ...]
) -> tuple[tuple[RunnerResult, ...], bool]:
    """Runs ``kinds`` one after another; returns the RunResults as they read at the end and
    whether the caller's global sink is still its own."""
    from stageflow.helpers.run_utils import PipelineRunner

    mine = _UserSink()
    sf.set_event_sink(mine)  # this task's context only
    from stageflow.pipeline.interceptors import LoggingInterceptor

    pipeline = _pipeline(graph)
    stack = {"interceptors": [LoggingInterceptor()]} if features().interceptors else {}
    built = pipeline.build(**stack)
    runner = PipelineRunner(verbose=False, colorize=False, capture_events=True)
    takes_context = "pipeline_ctx" in inspect.signature(runner.run).parameters
    results = []
    for kind in kinds:
        ctx = root_context(kind)
        if kind == "runner":
            given = {"pipeline_ctx": ctx} if takes_context else {"input_text": kind}
            results.append(await runner.run(built, **given))
            continue
        if kind == "runner_pipeline":  # the runner builds it (default interceptors, fresh)
            results.append(await runner.run(pipeline, input_text=kind))
            continue
        with contextlib.suppress(
            sf.pipeline.dag.UnifiedStageExecutionError, sf.pipeline.dag.UnifiedPipelineCancelled
        ):
            await built.run(ctx)
    await asyncio.sleep(30.0)  # whatever a run left working ends before the results are read
    return tuple(seen_result(r) for r in results), sf.get_event_sink() is mine
