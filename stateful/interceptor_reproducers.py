"""The minimal reproducers of the interceptor findings (``stateful/interceptor_findings.py``).

Each reproducer is plain Stageflow code given the imported ``stageflow`` package as ``sf`` and
returns True while the violation is there. None waits on the wall clock: the ones about time
run on the suite's virtual-time loop (:func:`_virtual`, choice 0: what a stock loop does, with
sleeps that take no time), the others need only yields. ``applies`` is None where the
stack exists (build(interceptors=...), RetryInterceptor, IdempotencyInterceptor).
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from types import ModuleType
from typing import Any

import stageflow_verify.core.sut.graphs  # noqa: F401  (silences Stageflow's per-stage error logs)
from stageflow_verify.stateful.graph_runs import _context


def needs_stack(sf: ModuleType) -> str | None:
    if "interceptors" not in inspect.signature(sf.Pipeline.build).parameters:
        return "Pipeline.build() takes no interceptors: this stageflow's graph runs none"
    for module in ("stageflow.pipeline.retry", "stageflow.pipeline.idempotency"):
        if importlib.util.find_spec(module) is None:
            return f"this stageflow has no {module}"
    if not hasattr(sf.PipelineContext, "derive_root_stage_context"):
        # Before 0.9.5 a built graph runs on a root StageContext, whose data no interceptor
        # reads; from 0.9.5 it runs on a PipelineContext (0.9.x without create(): _context
        # spells out what create() builds). No release has interceptors and not this.
        return "a built graph runs on a StageContext here: no context data for interceptors"
    return None


async def _run(graph: Any, ctx: Any) -> Any:
    try:
        return await graph.run(ctx)
    except Exception as exc:
        return exc


class _Sink:
    """An EventSink keeping what it gets; ``lenient`` also takes positional arguments."""

    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.events.append((type, data or {}))

    def try_emit(self, *args: Any, **kwargs: Any) -> None:
        if args and not self.lenient:
            raise TypeError("try_emit() takes keyword-only arguments")
        self.events.append((args[0], args[1]) if args else (kwargs["type"], kwargs["data"]))


def _retry(max_attempts: int) -> Any:
    from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

    return RetryInterceptor(
        max_attempts=max_attempts, base_delay_ms=0, jitter_strategy=JitterStrategy.NONE
    )


def retry_events_never_reach_the_sink(sf: ModuleType) -> bool:
    calls = []

    async def flaky(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset by peer")
        return sf.StageOutput.ok()

    async def main() -> bool:
        sink = _Sink()
        graph = sf.Pipeline().with_stage("call", flaky, sf.StageKind.WORK)
        built = graph.build(interceptors=[_retry(3)])
        await _run(built, _context(sf, event_sink=sink))
        scheduled = [t for t, _ in sink.events if t == "stage.retry_scheduled"]
        return len(calls) == 2 and not scheduled

    return asyncio.run(main())


def exhausted_event_has_no_total_time(sf: ModuleType) -> bool:
    async def down(ctx: Any) -> Any:
        raise ConnectionError("reset by peer")

    async def main() -> bool:
        sink = _Sink(lenient=True)  # takes the positional call RetryInterceptor makes
        graph = sf.Pipeline().with_stage("call", down, sf.StageKind.WORK)
        await _run(graph.build(interceptors=[_retry(1)]), _context(sf, event_sink=sink))
        exhausted = [d for t, d in sink.events if t == "stage.retry_exhausted"]
        return len(exhausted) == 1 and "total_time_ms" not in exhausted[0]

    return asyncio.run(main())


def retried_attempt_has_no_timeout(sf: ModuleType) -> bool:
    from stageflow.pipeline.interceptors import TimeoutInterceptor

    calls = []

    async def flaky(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset by peer")
        # 15 times the stage's timeout. No race decides the answer: timers fire in deadline
        # order, so a bounded attempt always times out first, however slow the machine.
        await asyncio.sleep(0.3)
        return sf.StageOutput.ok()

    async def main() -> bool:
        graph = sf.Pipeline().with_stage("call", flaky, sf.StageKind.WORK)
        built = graph.build(interceptors=[TimeoutInterceptor(), _retry(3)])
        outcome = await _run(built, _context(sf, data={"_timeout_ms": 20}))
        return not isinstance(outcome, Exception) and len(calls) == 2

    return asyncio.run(main())


def _counting_run(sf: ModuleType, kind: Any, output: Any, runs: int, **data: Any) -> list[Any]:
    calls = []

    async def stage(ctx: Any) -> Any:
        calls.append(1)
        return output

    async def main() -> list[Any]:
        graph = sf.Pipeline().with_stage("s", stage, kind).build()
        return [await _run(graph, _context(sf, data=data)) for _ in range(runs)]

    return [*asyncio.run(main()), len(calls)]


def failed_status_retry_never_runs(sf: ModuleType) -> bool:
    from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

    calls = []

    async def flaky(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            return sf.StageOutput.fail(error="upstream said 503")
        return sf.StageOutput.ok()

    async def main() -> bool:
        retry = RetryInterceptor(
            max_attempts=3,
            base_delay_ms=0,
            jitter_strategy=JitterStrategy.NONE,
            retry_on_status=("failed",),  # "StageResult status values that trigger retry"
        )
        graph = sf.Pipeline().with_stage("call", flaky, sf.StageKind.WORK)
        outcome = await _run(graph.build(interceptors=[retry]), _context(sf))
        return isinstance(outcome, Exception) and len(calls) == 1

    return asyncio.run(main())


def transform_stage_is_deduplicated(sf: ModuleType) -> bool:
    out = sf.StageOutput.ok(text="fresh")
    *_, calls = _counting_run(sf, sf.StageKind.TRANSFORM, out, 2, idempotency_key="k")
    return bool(calls == 1)


def cancel_output_is_replayed_as_ok(sf: ModuleType) -> bool:
    out = sf.StageOutput.cancel("not now")
    first, second, calls = _counting_run(sf, sf.StageKind.WORK, out, 2, idempotency_key="k")
    cancelled = type(first).__name__ == "UnifiedPipelineCancelled"
    replayed = not isinstance(second, Exception) and second["s"].status == "ok"
    return cancelled and replayed and calls == 1


def has_observations(sf: ModuleType) -> str | None:
    # Every release from 0.5.0 has InterceptorContext: the legacy StageGraph's default
    # interceptors run on it (run_with_interceptors), also where built graphs run none.
    from stageflow.pipeline import interceptors

    if not hasattr(getattr(interceptors, "InterceptorContext", None), "get_observation"):
        return "this stageflow's InterceptorContext has no add_observation/get_observation"
    return None


def observation_is_invisible_to_other_interceptors(sf: ModuleType) -> bool:
    from stageflow.pipeline.interceptors import InterceptorContext

    if hasattr(sf.PipelineContext, "create"):
        ctx = sf.PipelineContext.create()
    else:  # before 1.0.0 every id field is required (None is allowed)
        ids = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id")
        ctx = sf.PipelineContext(**dict.fromkeys((*ids, "interaction_id")))
    InterceptorContext(ctx, _interceptor_name="timing").add_observation("start_time", 1.5)
    seen_by_metrics = InterceptorContext(ctx, _interceptor_name="metrics")
    return seen_by_metrics.get_observation("start_time") is None
