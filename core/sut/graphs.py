"""Real Stageflow graphs built from a plain :class:`~models.graph_run.Graph`, run and observed.

A :class:`GraphHarness` builds one ``Pipeline`` of recording stages and calls ``build()`` once:
every run of the harness is a run of that one built ``UnifiedStageGraph``, as an application
would reuse it. Each run gets a label, passed as the context's ``input_text``; every stage reads
it to pick its behaviour (the graph's ``main`` script or the all-``ok`` ``clean`` one) and to
file what it did under that run: each attempt's start, end and outcome in virtual time, what it
received from its dependencies, and when the cleanup it registered ran. :meth:`observe` turns
that into the :class:`~models.graph_run.RunObservation` the model predicts.

Versions differ (see :class:`GraphFeatures`). 0.5.1's ``UnifiedStageGraph`` runs no interceptor
stack at all (no per-stage timeout, circuit breaker or retry; ``build()`` takes no arguments), has
no ``stageflow.pipeline.retry`` and no guard-retry policy, and its ``run`` takes the root
``StageContext`` that 0.5.1's own ``PipelineRunner`` builds (snapshot, empty inputs, a timer)
instead of a ``PipelineContext``. Where the concept exists the adapter bridges it (the root
context, ``Pipeline()`` without a name, ``build()`` without arguments); where it does not, the
machine never draws it: on 0.5.1 every graph has the interceptor configuration ``none``.

Runs are coroutines for the suite's deterministic loop (``core.sched.scheduler.run``); :func:`quiet`
wraps the loop run. It silences Stageflow's per-stage logging and makes the DAG's
``time.monotonic()`` (guard-retry budgets) read the loop's virtual clock by swapping
``stageflow.pipeline.dag.time`` for the duration of the run. The circuit breaker's 30 s reset
reads ``time.time()`` through a function-local ``import time`` (interceptors.py:296-299 and
323-326), which no module swap reaches, so ``quiet`` stills ``time.time`` itself while a graph
runs: on wall time, an example slower than 30 s (a loaded nightly machine) would half-open a
breaker that a faster replay of the same choices kept open. Still, the breaker never
half-opens, and the model says so. The deterministic loop numbers its tasks
(:mod:`core.sched.task_order`): the DAG iterates a set of its stage tasks, and tasks that hash
by address made the lanes offered differ between two runs of the same choices.

For example::

    harness = GraphHarness(graph)
    with quiet():
        run(lambda: harness.run("r1", "main"), HypothesisChooser(data))
    harness.observe("r1")  # == predict_run(graph, ...)[0] when Stageflow keeps its promises
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import importlib.util
import inspect
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from stageflow_verify.core.sut import HarnessError, UnsupportedFeature, stageflow_module
from stageflow_verify.models.graph_run import (
    CHILD_WORK,
    SHARED_TOKEN_CLEARED,
    Graph,
    RunObservation,
    StageDesc,
    t7,
)

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
    "auth_interceptor",  # get_default_interceptors(include_auth=True) warns per tokenless stage
)
# Stageflow logs every failed stage at ERROR (with a traceback); with no handler configured,
# logging's last-resort handler would print them all over verify's table and pytest's output.
for _name in _LOGGERS:
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False
LINGER = 120.0  # virtual seconds a rule waits after its runs: long enough for any orphan
STILL_WALL_CLOCK = 1_800_000_000.0  # what time.time() reads while a graph runs (2027-01-15)


@dataclass(frozen=True)
class GraphFeatures:
    """What this version's built graph offers, among the things the graph model talks about."""

    interceptors: bool  # build(interceptors=...): a stack with timeouts and a circuit breaker
    retry: bool  # stageflow.pipeline.retry.RetryInterceptor
    guard_retry: bool  # build(guard_retry_strategy=...)
    create: bool  # PipelineContext.create, and a run() that takes the PipelineContext
    named: bool  # Pipeline(name=...)
    # run() takes a PipelineContext (deriving the root StageContext itself): from 0.9.5, a
    # release before PipelineContext.create (1.0.0); such a context carries ``data``.
    pipeline_root: bool = False

    @property
    def carries_data(self) -> bool:
        """Whether a run's context can carry ``data`` (``_timeout_ms``) to its interceptors."""
        return self.create or self.pipeline_root

    def configs(self) -> tuple[str, ...]:
        """The interceptor configurations (``Config.interceptors``) this version can build."""
        if not self.interceptors:
            return ("none",)
        stacks = ("retry", "default", "timeout", "bare")
        return stacks if self.retry else stacks[1:]


def features() -> GraphFeatures:
    return _features(sf.Pipeline.build, sf.PipelineContext)


# Keyed on build and the context class: a planted bug that swaps either is a different SUT.
@functools.lru_cache(maxsize=16)
def _features(build: Any, context: type) -> GraphFeatures:
    params = inspect.signature(build).parameters
    return GraphFeatures(
        interceptors="interceptors" in params,
        retry=importlib.util.find_spec("stageflow.pipeline.retry") is not None,
        guard_retry="guard_retry_strategy" in params,
        create=hasattr(context, "create"),
        named="name" in {f.name for f in dataclasses.fields(sf.Pipeline)},
        pipeline_root=hasattr(context, "derive_root_stage_context"),
    )


def new_pipeline(name: str) -> Any:
    return sf.Pipeline(name=name) if features().named else sf.Pipeline()


def root_context(input_text: str, data: dict[str, Any] | None = None, **fields: Any) -> Any:
    """The context one run of a built graph is given, carrying ``input_text`` (and ``data``,
    and any other ``PipelineContext.create`` keyword in ``fields``, such as ``event_sink``).

    0.5.1 has no ``PipelineContext.create`` and its graph runs on a root ``StageContext``, built
    as its ``PipelineRunner.run`` builds one; nothing in a 0.5.1 graph reads ``data`` (only a
    ``TimeoutInterceptor`` would), so the machine never sets it there.
    """
    if features().create:
        return sf.PipelineContext.create(input_text=input_text, data=data or {}, **fields)
    if features().pipeline_root:
        # 0.9.5 and 0.9.6: what 1.2.0's create() builds, spelled out (every id field is
        # required there, and create() leaves each None unless given).
        ids = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id")
        unset: dict[str, Any] = dict.fromkeys((*ids, "interaction_id"))
        given = {**unset, **fields}
        return sf.PipelineContext(**given, input_text=input_text, data=dict(data or {}))
    if data or fields:
        raise UnsupportedFeature(
            f"this stageflow's graphs run on a StageContext, which holds no {data or fields}"
        )
    snapshot = sf.context.ContextSnapshot(input_text=input_text)
    root = "__pipeline_root__"
    inputs = sf.create_stage_inputs(snapshot, prior_outputs={}, declared_deps=(), stage_name=root)
    return sf.StageContext(
        snapshot=snapshot, inputs=inputs, stage_name=root, timer=sf.PipelineTimer()
    )


class _VirtualTime:
    """``time`` as stageflow.pipeline.dag sees it during a run: monotonic is the loop's clock."""

    def monotonic(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _still_wall_clock() -> float:
    return STILL_WALL_CLOCK


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run Stageflow graphs without log noise, with the DAG's monotonic clock virtual and the
    wall clock (``time.time``, the circuit breaker's) standing still."""
    dag = sf.pipeline.dag
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    saved = [lg.disabled for lg in loggers]
    real_time = getattr(dag, "time", None)  # 0.5.1's dag reads no clock (no guard retry)
    wall = time.time
    for lg in loggers:
        lg.disabled = True  # not just a level: a disabled logger builds no records (CPU)
    if real_time is not None:
        dag.time = _VirtualTime()
    time.time = _still_wall_clock
    try:
        yield
    finally:
        time.time = wall
        if real_time is not None:
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
        can = features()
        supported = can.configs()
        if cfg.interceptors not in supported or (g.guard is not None and not can.guard_retry):
            raise UnsupportedFeature(
                f"this stageflow cannot build {cfg.interceptors!r} interceptors"
                f"{' with a guard retry policy' if g.guard else ''} (it builds: {supported}); "
                "draw graphs from stateful.graph_machine.graphs(), which asks features()"
            )
        pipeline = new_pipeline("verify")
        for desc in g.stages:
            kind = sf.StageKind.GUARD if desc.kind == "guard" else sf.StageKind.TRANSFORM
            pipeline = pipeline.with_stage(desc.name, self._runner(desc.name), kind, desc.deps)
        strategy = None
        if g.guard is not None:
            from stageflow.pipeline.guard_retry import GuardRetryPolicy, GuardRetryStrategy

            policy = GuardRetryPolicy(retry_stage=g.guard.target, max_attempts=g.guard.max_attempts)
            strategy = GuardRetryStrategy(policies={g.guard.guard: policy})
        if cfg.interceptors == "none":
            # 0.5.1 to 0.9.x: a graph that runs no interceptors at all; from 0.8.0 on it may
            # still carry a guard-retry policy, which must not be dropped.
            return pipeline.build(guard_retry_strategy=strategy) if strategy else pipeline.build()
        from stageflow.pipeline.interceptors import (
            LoggingInterceptor,
            TimeoutInterceptor,
            get_default_interceptors,
        )

        interceptors: list[Any] | None = None
        if cfg.interceptors == "retry":
            from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

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
            if self.graph.guard is None:
                raise HarnessError(f"{desc.name} is a guard stage in a graph with no guard policy")
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

        child_graph = new_pipeline("child").with_stage(name, child, sf.StageKind.TRANSFORM).build()
        await child_graph.run(root_context(f"{label}/child"))

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
        ctx = root_context(label, data)
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
        except sf.pipeline.dag.UnifiedStageExecutionError as exc:  # 0.5.1: not in stageflow
            outcome, failed = "failed", exc.stage
        except sf.pipeline.dag.UnifiedPipelineCancelled:
            outcome = "cancelled_by_other"
        except (asyncio.CancelledError, TimeoutError):
            outcome = "cancelled"
        except AttributeError as exc:
            # 0.5.1's way of ending a run stopped by a concurrent run's failure (SF-RUN-05) once
            # that run has reset the shared token to None: the same stop as 1.2.0's
            # UnifiedPipelineCancelled, so recorded as such. Any other AttributeError is a crash.
            if f"raised AttributeError: {exc}" != SHARED_TOKEN_CLEARED:
                raise
            outcome = "cancelled_by_other"
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
        for interceptor in getattr(self.built, "_interceptors", ()):  # 0.5.1: no stack
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
