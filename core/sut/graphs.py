"""Real Stageflow graphs built from a plain :class:`~models.graph_run.Graph`, run and observed.

A :class:`GraphHarness` builds one ``Pipeline`` of recording stages and calls ``build()`` once:
every run of the harness is a run of that one built ``UnifiedStageGraph``, as an application
would reuse it. Each run gets a label, passed as the context's ``input_text``; every stage reads
it to pick its behaviour (the graph's ``main`` script or the all-``ok`` ``clean`` one) and to
file what it did under that run: each attempt's start, end and outcome in virtual time, what it
received from its dependencies, and when the cleanup it registered ran. :meth:`observe` turns
that into the :class:`~models.graph_run.RunObservation` the model predicts.

Runs are coroutines for the suite's deterministic loop (``core.scheduler.run``); :func:`quiet`
wraps the loop run. It silences Stageflow's per-stage logging and makes the DAG's
``time.monotonic()`` (guard-retry budgets) read the loop's virtual clock by swapping
``stageflow.pipeline.dag.time`` for the duration of the run. The circuit breaker's 30 s reset
reads ``time.time()`` through a function-local ``import time``, which no module swap reaches;
it stays on wall time, which is harmless here only because one example lasts far less than
30 s: the breaker then never half-opens, and the model says so.

For example::

    harness = GraphHarness(graph)
    with quiet():
        run(lambda: harness.run("r1", "main"), HypothesisChooser(data))
    harness.observe("r1")  # == predict_run(graph, ...)[0] when Stageflow keeps its promises
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from core.sut import stageflow_module
from models.graph_run import CHILD_WORK, Graph, RunObservation, StageDesc, t7

sf = stageflow_module()
_LOGGERS = (
    "pipeline_dag",
    "interceptors",
    "stage_interceptor",
    "stage_metrics",
    "stageflow.pipeline.retry",
    "stageflow.cancellation",
    "stageflow.idempotency",
    "stageflow.child_tracker_metrics",
)
# Stageflow logs every failed stage at ERROR (with a traceback); with no handler configured,
# logging's last-resort handler would print them all over verify's table and pytest's output.
for _name in _LOGGERS:
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False
LINGER = 120.0  # virtual seconds a rule waits after its runs: long enough for any orphan


class _VirtualTime:
    """``time`` as stageflow.pipeline.dag sees it during a run: monotonic is the loop's clock."""

    def monotonic(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run Stageflow graphs without log noise and with the DAG's monotonic clock virtual."""
    dag = sf.pipeline.dag
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    saved = [lg.disabled for lg in loggers]
    real_time = dag.time
    for lg in loggers:
        lg.disabled = True  # not just a level: a disabled logger builds no records (CPU)
    dag.time = _VirtualTime()
    try:
        yield
    finally:
        dag.time = real_time
        for lg, was in zip(loggers, saved, strict=True):
            lg.disabled = was


class GraphHarness:
    """One built graph of recording stages; runs it and keeps what each run did."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.scripts: dict[str, str] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.attempts: dict[str, list[tuple[str, int, float, float, str]]] = {}
        self.seen: dict[str, list[Any]] = {}
        self.cleanups: dict[str, list[tuple[str, int, float]]] = {}
        self.outcomes: dict[str, tuple[str, str | None, tuple[Any, ...], float]] = {}
        self.built = self._build()

    def _build(self) -> Any:
        g, cfg = self.graph, self.graph.config
        pipeline = sf.Pipeline(name="verify")
        for desc in g.stages:
            kind = sf.StageKind.GUARD if desc.kind == "guard" else sf.StageKind.TRANSFORM
            pipeline = pipeline.with_stage(desc.name, self._runner(desc.name), kind, desc.deps)
        from stageflow.pipeline.guard_retry import GuardRetryPolicy, GuardRetryStrategy
        from stageflow.pipeline.interceptors import (
            LoggingInterceptor,
            TimeoutInterceptor,
            get_default_interceptors,
        )
        from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

        strategy = None
        if g.guard is not None:
            policy = GuardRetryPolicy(retry_stage=g.guard.target, max_attempts=g.guard.max_attempts)
            strategy = GuardRetryStrategy(policies={g.guard.guard: policy})
        interceptors: list[Any] | None = None
        if cfg.interceptors == "retry":
            retry = RetryInterceptor(
                max_attempts=cfg.max_attempts,
                base_delay_ms=cfg.base_delay_ms,
                jitter_strategy=JitterStrategy.NONE,  # jitter would be random.randint: not ours
            )
            interceptors = [*get_default_interceptors(), retry]
        elif cfg.interceptors == "timeout":
            interceptors = [TimeoutInterceptor()]
        elif cfg.interceptors == "bare":
            # Not []: build() treats an empty list as "omitted" and installs the defaults.
            interceptors = [LoggingInterceptor()]
        return pipeline.build(interceptors=interceptors, guard_retry_strategy=strategy)

    def _desc(self, label: str, name: str) -> StageDesc:
        desc = self.graph.stage(name)
        return desc if self.scripts[label] == "main" else replace(desc, kind="ok")

    def _runner(self, name: str) -> Any:
        async def runner(ctx: Any) -> Any:
            label = ctx.snapshot.input_text
            desc = self._desc(label, name)
            key = (label, name)
            attempt = self.counters[key] = self.counters.get(key, 0) + 1
            loop = asyncio.get_running_loop()
            start = loop.time()
            outputs = {dep: ctx.inputs.get_output(dep) for dep in desc.deps}
            self.seen[label].append(
                (name, attempt, tuple(_received(d, o) for d, o in outputs.items()))
            )

            async def cleanup() -> None:
                self.cleanups[label].append((name, attempt, loop.time()))

            self.built.register_cleanup(cleanup, name=f"{label}:{name}:{attempt}")
            if desc.kind == "mutate":
                for out in outputs.values():
                    if "bag" in out.data:
                        out.data["bag"].append(name)
            outcome = "cancelled"
            try:
                result = await self._behave(desc, attempt, ctx, label)
                outcome = str(result.status.value)
                return result
            except Exception:
                outcome = "raise"
                raise
            finally:
                self.attempts[label].append((name, attempt, start, loop.time(), outcome))

        return runner

    async def _behave(self, desc: StageDesc, attempt: int, ctx: Any, label: str) -> Any:
        if desc.kind == "slow":
            await asyncio.sleep(self.graph.config.timeout + desc.work)
        else:
            await asyncio.sleep(desc.work)
        if desc.kind == "spawn":
            await self._spawn(label, desc.name, attempt)
        if desc.kind == "fail":
            return sf.StageOutput.fail(error=f"{desc.name} fails")
        if desc.kind == "raise":
            raise ValueError(f"{desc.name} raises")
        if desc.kind == "transient" and attempt <= desc.n:
            raise (TimeoutError if desc.error == "TimeoutError" else ConnectionError)(desc.name)
        data = {"stage": desc.name, "attempt": attempt, "bag": []}
        if desc.kind == "retry_status" and attempt <= desc.n:
            return sf.StageOutput.retry(f"{desc.name} asks for a retry", data=data)
        if desc.kind == "guard":
            assert self.graph.guard is not None
            received = ctx.inputs.get_output(self.graph.guard.target).data.get("attempt")
            if received is None or received < desc.n:
                return sf.StageOutput.fail(error="not yet", data={"received": received})
        return sf.StageOutput.ok(data=data)

    async def _spawn(self, label: str, parent: str, attempt: int) -> None:
        name = f"{parent}~child"

        async def child(ctx: Any) -> Any:
            loop = asyncio.get_running_loop()
            start, outcome = loop.time(), "cancelled"
            try:
                await asyncio.sleep(CHILD_WORK)
                outcome = "ok"
                return sf.StageOutput.ok(data={"child": attempt})
            finally:
                self.attempts[label].append((name, attempt, start, loop.time(), outcome))

        child_graph = sf.Pipeline(name="child").with_stage(name, child, "transform").build()
        await child_graph.run(sf.PipelineContext.create(input_text=f"{label}/child"))

    async def run(
        self,
        label: str,
        script: str,
        *,
        delay: float = 0.0,
        cancel_at: float | None = None,
        how: str = "cancel",
    ) -> None:
        """One run of the built graph under ``label``; ``cancel_at`` cancels it from outside
        (``how``: ``cancel`` the task, or ``wait_for`` with that deadline)."""
        self.scripts[label] = script
        for store in (self.attempts, self.seen, self.cleanups):
            store[label] = []
        loop = asyncio.get_running_loop()
        if delay:
            await asyncio.sleep(delay)
        timeout_ms = self.graph.config.timeout_ms
        data = {} if timeout_ms is None else {"_timeout_ms": timeout_ms}
        ctx = sf.PipelineContext.create(input_text=label, data=data)
        outcome, failed = "ok", None
        results: tuple[tuple[str, str, int | None, tuple[str, ...] | None], ...] = ()
        try:
            if cancel_at is None:
                res = await self.built.run(ctx)
            elif how == "wait_for":
                res = await asyncio.wait_for(self.built.run(ctx), cancel_at - loop.time())
            else:
                task = asyncio.ensure_future(self.built.run(ctx))
                loop.call_at(cancel_at, task.cancel)
                res = await task
            results = tuple(sorted(_result(name, out) for name, out in res.items()))
        except sf.UnifiedStageExecutionError as exc:
            outcome, failed = "failed", exc.stage
        except sf.pipeline.dag.UnifiedPipelineCancelled:
            outcome = "cancelled_by_other"
        except (asyncio.CancelledError, TimeoutError):
            outcome = "cancelled"
        self.outcomes[label] = (outcome, failed, results, loop.time())

    def observe(self, label: str) -> RunObservation:
        outcome, failed, results, end = self.outcomes[label]
        return RunObservation(
            outcome,
            failed,
            results,
            tuple(sorted((s, a, t7(b), t7(e), o) for s, a, b, e, o in self.attempts[label])),
            tuple(sorted(self.seen[label])),
            tuple(sorted((s, a, t7(t)) for s, a, t in self.cleanups[label])),
            t7(end),
        )

    def breaker(self) -> dict[str, int]:
        """The failures the built graph's circuit breaker counts, per stage (none: {})."""
        for interceptor in self.built._interceptors:
            if type(interceptor).__name__ == "CircuitBreakerInterceptor":
                return {k: v for k, v in interceptor._failure_counts.items() if v}
        return {}


def _received(dep: str, out: Any) -> tuple[str, int | None, tuple[str, ...] | None]:
    data = out.data
    return (dep, data.get("attempt"), tuple(data["bag"]) if "bag" in data else None)


def _result(name: str, out: Any) -> tuple[str, str, int | None, tuple[str, ...] | None]:
    data = out.data
    bag = tuple(data["bag"]) if "bag" in data else None
    return (name, str(out.status.value), data.get("attempt"), bag)
