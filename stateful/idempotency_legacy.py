"""The idempotency findings where a built graph runs no interceptors: through the legacy
``StageGraph``, whose default interceptors hold an ``IdempotencyInterceptor`` from 0.8.0 on.

Each reproducer here is the only one of its finding: one scenario, run on whichever graph
runs the interceptors. Issue 17: "A circuit-breaker or other finding that reproduces through
StageGraph on 0.5.x-0.8.x is KNOWN there, not N/A". From 0.9.6 a built graph takes interceptors
and runs on a ``PipelineContext`` (``interceptor_reproducers.needs_stack``), and the
reproducers build one, as before. Before that the same interceptor still runs on every stage
of a legacy ``StageGraph`` run, on the ``PipelineContext`` the user gives it (whose ``data``
holds the key), so each reproducer here falls back to one. Feature probes decide, never the version:

- SF-INT-06 (a later stage replays an earlier one's output), SF-INT-08 (a cancelled stage keeps
  the key locked), SF-INT-09 (the third request gets empty data) and SF-INT-10 (a
  CriticalInterceptorError leaves the key locked) need only the interceptor and a StageGraph
  that takes interceptors: :func:`legacy_idempotency`.
- SF-INT-05 (every stage deduplicated, not only WORK) and SF-INT-07 (a CANCEL output replayed
  as OK) stay N/A there, argued from the legacy graph's source: a ``StageSpec`` has no kind
  (dag.py ``StageSpec``: name, runner, dependencies, conditional), so "not only WORK stages"
  has nothing to compare; and the legacy graph turns a CANCEL output into a ``completed``
  result before any interceptor sees it (``StageGraph._normalize_result``), so a replayed
  ``completed`` is what it reports for the first run too.

Through the legacy graph a replay's data is the cached ``StageResult`` itself, one level deeper
per repeat (``_clone_stage_result`` of a result whose data is a result), where the built graph
unwraps one level: SF-INT-09's symptom there is that the third request's data is not the
stored data (a nested StageResult rather than ``{}``); the root cause is the same.

Runners are classes with ``execute``: 0.5.1's StageGraph instantiates every runner.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from types import ModuleType
from typing import Any

from stageflow_verify.stateful.graph_runs import _context
from stageflow_verify.stateful.interceptor_reproducers import needs_stack


def legacy_idempotency(sf: ModuleType) -> str | None:
    """None where a built graph runs the stack, or else a legacy StageGraph runs an
    IdempotencyInterceptor among the interceptors it is given."""
    if needs_stack(sf) is None:
        return None
    if importlib.util.find_spec("stageflow.pipeline.idempotency") is None:
        return "this stageflow has no stageflow.pipeline.idempotency"
    dag = sf.pipeline.dag
    if not hasattr(dag, "StageGraph"):
        return "this stageflow ships no legacy StageGraph"
    if "interceptors" not in inspect.signature(dag.StageGraph).parameters:
        return "this stageflow's StageGraph takes no interceptors"
    return None


def built_graphs_only(sf: ModuleType) -> str | None:
    """SF-INT-05 and SF-INT-07: None where a built graph runs the stack; else N/A, and why the
    legacy StageGraph cannot show them (see the module docstring)."""
    reason = needs_stack(sf)
    if reason is None:
        return None
    return (
        f"{reason}; and the legacy StageGraph cannot show it: its StageSpec has no stage kind, "
        "and it turns a CANCEL output into a completed result before any interceptor sees it"
    )


def _idempotent_graph(
    sf: ModuleType, stages: list[tuple[str, Any, tuple[str, ...]]], extra: Any = ()
) -> Any:
    """A graph of ``(name, async fn(ctx), dependencies)`` WORK stages running the default
    interceptors plus ``extra``: built where built graphs run them, else a legacy StageGraph."""
    import warnings

    from stageflow.pipeline.interceptors import get_default_interceptors

    stack = [*get_default_interceptors(), *extra]
    if needs_stack(sf) is None:
        pipeline = sf.Pipeline()
        for name, fn, deps in stages:
            pipeline = pipeline.with_stage(name, fn, sf.StageKind.WORK, dependencies=deps)
        return pipeline.build(interceptors=stack)

    def runner(fn: Any) -> type:
        class Stage:
            async def execute(self, ctx: Any) -> Any:
                return await fn(ctx)

        return Stage

    dag = sf.pipeline.dag
    specs = [dag.StageSpec(name=n, runner=runner(fn), dependencies=d) for n, fn, d in stages]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return dag.StageGraph(specs, stack)


async def _run_once(sf: ModuleType, graph: Any, data: dict[str, Any]) -> Any:
    """One run with ``data`` in its context; what it raised, if it raised."""
    if needs_stack(sf) is None:
        ctx = _context(sf, data=dict(data))
    else:  # the legacy graph's PipelineContext, every id field given (0.8.0 requires them)
        ids = dict.fromkeys(("pipeline_run_id", "request_id", "session_id", "user_id", "org_id"))
        ctx = sf.PipelineContext(**ids, interaction_id=None, data=dict(data))
    try:
        return await graph.run(ctx)
    except Exception as exc:
        return exc


def _without_debug_files(sf: ModuleType, main: Any) -> Any:
    """``asyncio.run(main())`` with the legacy graph's /tmp debug logs (SF-LIFE-08) written to
    memory: ``open`` shadowed in its module for the run, then restored."""
    import io

    dag = sf.pipeline.dag
    dag.open = lambda *args, **kwargs: io.StringIO()
    try:
        return asyncio.run(main())
    finally:
        del dag.open


def _payload(data: Any) -> Any:
    """The data under a replayed result: the legacy graph stores the cached StageResult itself
    as the replay's data (unwrapped here, so what the stage reports can be compared)."""
    while hasattr(data, "status") and hasattr(data, "data"):
        data = data.data
    return data


def later_stage_replays_earlier_stage(sf: ModuleType) -> bool:
    async def charge(ctx: Any) -> Any:
        return sf.StageOutput.ok(charged=True)

    async def email(ctx: Any) -> Any:
        return sf.StageOutput.ok(emailed=True)

    async def main() -> Any:
        graph = _idempotent_graph(sf, [("charge", charge, ()), ("email", email, ("charge",))])
        return await _run_once(sf, graph, {"idempotency_key": "order-1"})

    results = _without_debug_files(sf, main)
    return bool(_payload(results["email"].data) == {"charged": True})


def cancelled_stage_keeps_the_key_locked(sf: ModuleType) -> bool:
    started = []

    async def work(ctx: Any) -> Any:
        started.append(1)
        if len(started) == 1:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # this stage's task is cancelled while it works
            await asyncio.sleep(0)
        return sf.StageOutput.ok()

    async def main() -> bool:
        graph = _idempotent_graph(sf, [("pay", work, ())])
        key = {"idempotency_key": "order-1"}
        first = asyncio.ensure_future(_run_once(sf, graph, key))
        await asyncio.gather(first, return_exceptions=True)
        second = asyncio.ensure_future(_run_once(sf, graph, key))
        for _ in range(1000):
            await asyncio.sleep(0)
        hangs = not second.done() and len(started) == 1
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        return hangs

    return bool(_without_debug_files(sf, main))


def third_request_gets_empty_data(sf: ModuleType) -> bool:
    calls = []

    async def receipt(ctx: Any) -> Any:
        calls.append(1)
        return sf.StageOutput.ok(receipt="r-1")

    async def main() -> list[Any]:
        graph = _idempotent_graph(sf, [("s", receipt, ())])
        return [await _run_once(sf, graph, {"idempotency_key": "k"}) for _ in range(3)]

    datas = [r["s"].data for r in _without_debug_files(sf, main)]
    # A built graph hands the third request {}; the legacy graph a StageResult nested twice:
    # either way not the stored {"receipt": "r-1"} the first two got.
    first = {"receipt": "r-1"}
    return len(calls) == 1 and _payload(datas[1]) == first and datas[2] != first


def aborted_stage_keeps_the_key_locked(sf: ModuleType) -> bool:
    from stageflow.pipeline.interceptors import BaseInterceptor, CriticalInterceptorError

    class QuotaGate(BaseInterceptor):  # inside idempotency (4): runs once it holds the lock
        name, priority = "quota", 7

        async def before(self, stage_name: str, ctx: Any) -> None:
            if ctx.data.get("over_quota"):
                raise CriticalInterceptorError("over quota", self.name)

        async def after(self, stage_name: str, result: Any, ctx: Any) -> None:
            return None

    started = []

    async def work(ctx: Any) -> Any:
        started.append(1)
        return sf.StageOutput.ok()

    async def main() -> bool:
        graph = _idempotent_graph(sf, [("pay", work, ())], [QuotaGate()])
        await _run_once(sf, graph, {"idempotency_key": "order-1", "over_quota": True})
        second = asyncio.ensure_future(_run_once(sf, graph, {"idempotency_key": "order-1"}))
        for _ in range(1000):
            await asyncio.sleep(0)
        hangs = not second.done() and not started
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        return hangs

    return bool(_without_debug_files(sf, main))
