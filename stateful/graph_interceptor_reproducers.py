"""The reproducers of the graph findings about a built graph's interceptor stack.

SF-RUN-01, 02, 03 (RetryInterceptor), 08, 11 (the default circuit breaker) and 09 (an empty
interceptor list): what the interceptors a built graph runs do to a failing or retrying stage.
``stateful/graph_findings.py`` declares them; the version gates here (:func:`_needs_retry`,
:func:`_needs_interceptor_stack`, :func:`_has_a_breaker`) are their ``applies``.

Each is plain Stageflow code given the imported ``stageflow`` package as ``sf``, runs its own
``asyncio.run`` (through :func:`~stateful.graph_runs._outcome`) and returns True while the
violation is there. None waits on the clock; RetryInterceptor's own 1 ms backoff is slept, but
no answer depends on its length. Where a release's built graph runs no interceptors (0.5.1), the
breaker findings are shown through the legacy ``StageGraph``, which runs the default
interceptors on every release that ships it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from types import ModuleType
from typing import Any

from stageflow_verify.stateful.graph_runs import _outcome


def _needs_interceptor_stack(sf: ModuleType) -> str | None:
    if "interceptors" not in inspect.signature(sf.Pipeline.build).parameters:
        return "Pipeline.build() takes no interceptors: this stageflow's built graph runs none"
    return None


def _needs_retry(sf: ModuleType) -> str | None:
    # 0.9.x ships stageflow.pipeline.retry while its built graph takes no interceptors: the
    # reproducers install a RetryInterceptor in a built graph, so they need both.
    if importlib.util.find_spec("stageflow.pipeline.retry") is None:
        return "this stageflow has no RetryInterceptor (no stageflow.pipeline.retry)"
    return _needs_interceptor_stack(sf)


def _retry(sf: ModuleType, attempts: int) -> Any:
    from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

    return RetryInterceptor(
        max_attempts=attempts, base_delay_ms=1, jitter_strategy=JitterStrategy.NONE
    )


def retry_stops_after_two_attempts(sf: ModuleType) -> bool:
    calls = []

    async def flaky(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("transient")
        return sf.StageOutput.ok()

    graph = (
        sf.Pipeline()
        .with_stage("a", flaky, sf.StageKind.TRANSFORM)
        .build(interceptors=[_retry(sf, 5)])
    )
    return isinstance(_outcome(sf, graph), Exception) and len(calls) == 2


def retry_output_is_a_success(sf: ModuleType) -> bool:
    ran = []

    async def asks(ctx: Any) -> Any:
        return sf.StageOutput.retry("try again")

    async def after(ctx: Any) -> Any:
        ran.append(1)

    pipeline = (
        sf.Pipeline()
        .with_stage("a", asks, sf.StageKind.TRANSFORM)
        .with_stage("b", after, sf.StageKind.TRANSFORM, dependencies=("a",))
    )
    # With a RetryInterceptor where there is one; 0.5.1 has none (nor any interceptor in a
    # built graph), and an unretried RETRY is still "Stage failed".
    retrier = _needs_retry(sf) is None
    graph = pipeline.build(interceptors=[_retry(sf, 3)]) if retrier else pipeline.build()
    results = _outcome(sf, graph)
    return not isinstance(results, Exception) and results["a"].status == "retry" and ran == [1]


def timeout_error_is_not_retried(sf: ModuleType) -> bool:
    calls = []

    async def slow_upstream(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("upstream timed out")
        return sf.StageOutput.ok()

    stage = sf.Pipeline().with_stage("a", slow_upstream, sf.StageKind.TRANSFORM)
    outcome = _outcome(sf, stage.build(interceptors=[_retry(sf, 3)]))
    return isinstance(outcome, Exception) and len(calls) == 1


def _failing_stage(sf: ModuleType, calls: list[int]) -> Any:
    async def broken(ctx: Any) -> Any:
        calls.append(1)
        raise ValueError("down")

    return sf.Pipeline().with_stage("a", broken, sf.StageKind.TRANSFORM)


def _has_a_breaker(sf: ModuleType) -> str | None:
    if _needs_interceptor_stack(sf) is None or hasattr(sf.pipeline.dag, "StageGraph"):
        return None
    return "neither a built graph nor a legacy StageGraph runs interceptors here"


def _failing_stage_graph(sf: ModuleType, calls: list[int]) -> Any:
    """A legacy StageGraph of one failing stage: it runs the default interceptors on every
    release that ships it (0.5.1's built graph runs none). Runners are classes: 0.5.1's
    StageGraph instantiates each one."""

    class Broken:
        async def execute(self, ctx: Any) -> Any:
            calls.append(1)
            raise ValueError("down")

    return sf.pipeline.dag.StageGraph([sf.pipeline.dag.StageSpec(name="a", runner=Broken)])


def _legacy_run(sf: ModuleType, graph: Any) -> Any:
    ids = dict.fromkeys(("request_id", "session_id", "user_id", "org_id", "interaction_id"))
    return asyncio.run(graph.run(sf.PipelineContext(pipeline_run_id=None, **ids)))


def open_breaker_through_stage_graph(sf: ModuleType) -> bool:
    """SF-RUN-08 through the legacy StageGraph (where built graphs run no interceptors)."""
    calls: list[int] = []
    graph = _failing_stage_graph(sf, calls)
    for _ in range(10):  # fail until the breaker opens, however many failures that takes
        before = len(calls)
        results = _legacy_run(sf, graph)
        if len(calls) == before:  # the stage was not called: the breaker is open
            return bool(results["a"].status == "completed")
    return False


def open_breaker_reports_success(sf: ModuleType) -> bool:
    if _needs_interceptor_stack(sf) is not None:
        return open_breaker_through_stage_graph(sf)
    calls: list[int] = []
    graph = _failing_stage(sf, calls).build()  # the default stack has a circuit breaker
    for _ in range(10):  # fail until the breaker opens, however many failures that takes
        before = len(calls)
        outcome = _outcome(sf, graph)
        if len(calls) == before:  # the stage was not called: the breaker is open
            return not isinstance(outcome, Exception) and outcome["a"].status == "ok"
    return False


def breaker_counts_each_failure_twice(sf: ModuleType) -> bool:
    calls: list[int] = []
    # A built graph where it runs interceptors, else the legacy StageGraph, which always does.
    built = _needs_interceptor_stack(sf) is None
    graph = _failing_stage(sf, calls).build() if built else _failing_stage_graph(sf, calls)
    for _ in range(6):
        before = len(calls)
        if built:
            _outcome(sf, graph)
        else:
            _legacy_run(sf, graph)
        if len(calls) == before:  # the breaker is open
            break
    return len(calls) < 5  # documented: "After 5 failures, circuit opens"


def empty_interceptor_list_installs_defaults(sf: ModuleType) -> bool:
    calls: list[int] = []
    graph = _failing_stage(sf, calls).build(interceptors=[])
    for _ in range(6):  # more failures than the default circuit breaker allows
        _outcome(sf, graph)
    return len(calls) < 6  # with no interceptor, nothing skips the stage: every run calls it
