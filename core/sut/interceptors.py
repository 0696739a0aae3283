"""Real Stageflow graphs with drawn interceptor stacks, run on the deterministic loop.

:class:`StackHarness` builds one graph from a :class:`~models.interceptor_runs.Graph` (its
stages record every attempt; probe interceptors record every hook they get) and runs it again
and again; :meth:`StackHarness.observe` turns a run into the
:class:`~models.interceptor_runs.RunObservation` the model predicts.

Every clock the stack reads is the loop's virtual time inside :func:`virtual_clocks`: the
breaker and the idempotency store read ``time.time()``, the DAG ``time.monotonic()``,
``run_with_interceptors`` and the DAG ``datetime.now()``. Each run starts a fresh loop at 0,
so the harness keeps an ``epoch`` (the virtual time all earlier runs and waits used up) and the
clocks read ``epoch + loop.time()``: a breaker opened in one run is still open, by the same
virtual clock, in the next. Outside a running :class:`DeterministicLoop` the clocks are the
real ones. The interceptors' asyncio locks bind to the loop that first waits on them; between
runs the harness unbinds them (a lock nobody waits on belongs to no loop), as if all runs
shared one loop, which is what an application does.

For example::

    harness = StackHarness(graph)
    with virtual_clocks(harness):
        run(lambda: harness.run("r1", RunData(key="k")), HypothesisChooser(data))
    harness.observe("r1")  # == predict_run(graph, ...) while Stageflow keeps its promises
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as _dt
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

from stageflow_verify.core.sched.loop import DeterministicLoop
from stageflow_verify.core.sut import HarnessError
from stageflow_verify.core.sut.graphs import quiet, root_context, sf
from stageflow_verify.core.sut.interceptor_stacks import (
    HookLog,
    Sink,
    breaker_view,
    build_stack,
    recording_logs,
    store_view,
    unbind_locks,
)
from stageflow_verify.models.interceptor_config import (
    CHILD_RUN,
    IDS,
    MODE,
    RATE_LIMITED,
    TOPOLOGY,
)
from stageflow_verify.models.interceptor_runs import (
    HANG,
    Graph,
    RunObservation,
    StageSeen,
    run_random,
)
from stageflow_verify.models.interceptor_stack import (
    EXHAUSTED,
    SCHEDULED,
    SLOW,
    RunData,
    StageSpec,
    t7,
)

_REAL_TIME, _REAL_MONOTONIC, _REAL_DATETIME = time.time, time.monotonic, _dt.datetime
_BASE = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
_clock_epoch = [0.0]  # the epoch of the harness whose runs are on the loop


def _virtual_now() -> float | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return _clock_epoch[0] + loop.time() if isinstance(loop, DeterministicLoop) else None


def _time() -> float:
    now = _virtual_now()
    return _REAL_TIME() if now is None else now


def _monotonic() -> float:
    now = _virtual_now()
    return _REAL_MONOTONIC() if now is None else now


class _VirtualDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        now = _virtual_now()
        if now is None:
            return _REAL_DATETIME.now(tz)
        return (_BASE + _dt.timedelta(seconds=now)).astimezone(tz or _dt.UTC)


# The label of the run a task belongs to: a run's stage tasks inherit it from the task that
# started the run (asyncio copies the context into every task it creates).
_RUN_LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("interceptor_run", default="")


class PerRunRandom:
    """Stands in for the ``random`` module in Stageflow's retrier: each run draws from its own
    ``run_random(seed, label)``. With one shared generator, which run drew first, and so every
    delay, depended on how two runs at once interleaved, and the model could not follow."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.generators: dict[str, random.Random] = {}

    def _mine(self) -> random.Random:
        label = _RUN_LABEL.get()
        if label not in self.generators:
            self.generators[label] = run_random(self.seed, label)
        return self.generators[label]

    def randint(self, a: int, b: int) -> int:
        return self._mine().randint(a, b)

    def random(self) -> float:
        return self._mine().random()

    def uniform(self, a: float, b: float) -> float:
        return self._mine().uniform(a, b)


@contextlib.contextmanager
def virtual_clocks(harness: StackHarness, seed: int = 0) -> Iterator[None]:
    """Quiet Stageflow logs and make every clock it reads the harness's virtual time; note
    each stage a run hands to its interceptor stack (``PipelineContext`` before 1.2 has no
    before-stage hook, so the DAG's own call is wrapped, changing nothing it does); the
    retrier's jitter draws from a generator of each run's own (:class:`PerRunRandom`) instead
    of the global one."""
    dag = sf.pipeline.dag
    retry_module = sf.pipeline.retry
    global_random = retry_module.random
    retry_module.random = PerRunRandom(seed)
    through_stack = dag.run_with_interceptors

    async def noting(*, stage_name: str, stage_run: Any, ctx: Any, interceptors: Any) -> Any:
        harness.reached[ctx.data["_label"]].append(stage_name)
        return await through_stack(
            stage_name=stage_name, stage_run=stage_run, ctx=ctx, interceptors=interceptors
        )

    dag.run_with_interceptors = noting
    _clock_epoch[0] = harness.epoch
    try:
        # quiet() stills the wall clock for the graph machine; entered first, so that this
        # harness's own virtual clocks, which the breaker and the store must see move, win.
        with quiet(), recording_logs(harness.hooks, _RUN_LABEL):
            time.time, time.monotonic = _time, _monotonic
            _dt.datetime = _VirtualDatetime  # type: ignore[misc]  # run_with_interceptors imports it
            dag.datetime = _VirtualDatetime
            yield
    finally:
        time.time, time.monotonic = _REAL_TIME, _REAL_MONOTONIC
        _dt.datetime = _REAL_DATETIME  # type: ignore[misc]
        dag.datetime = _REAL_DATETIME
        dag.run_with_interceptors = through_stack
        retry_module.random = global_random


def pipeline_runs() -> bool:
    """Whether ``Pipeline.run(ctx, interceptors=...)`` exists (a probe: 0.9.6 only builds)."""
    return hasattr(sf.Pipeline, "run")


class StackHarness:
    """One built graph of recording stages, run under labels; keeps what each run did."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.epoch = 0.0
        self.hooks: HookLog = []
        self.reached: dict[str, list[str]] = {}
        self.attempts: dict[tuple[str, str], list[tuple[int, float, float, str]]] = {}
        self.sinks: dict[str, Sink] = {}
        self.outcomes: dict[str, tuple[str, str | None, dict[str, Any] | None, float]] = {}
        self.pipeline = sf.Pipeline(name="verify")
        for spec in graph.stages:
            deps = tuple(s.name for s in graph.stages[: graph.stages.index(spec)][-1:])
            kind = sf.StageKind.WORK if spec.kind == "work" else sf.StageKind.TRANSFORM
            self.pipeline = self.pipeline.with_stage(spec.name, self._runner(spec), kind, deps)
        self.interceptors = build_stack(graph.stack, self.hooks)
        if self.interceptors is None:
            self.built = self.pipeline.build()
        else:
            self.built = self.pipeline.build(interceptors=self.interceptors)

    def _runner(self, spec: StageSpec) -> Any:
        async def runner(ctx: Any) -> Any:
            label = ctx.snapshot.input_text
            tries = self.attempts.setdefault((label, spec.name), [])
            k = len(tries) + 1
            loop = asyncio.get_running_loop()
            start, did = loop.time(), "cancelled"
            try:
                out = await self._behave(spec, k)
                did = str(out.status.value)
                return out
            except Exception:
                did = "raise"
                raise
            finally:
                tries.append((k, t7(start), t7(loop.time()), did))

        return runner

    async def _behave(self, spec: StageSpec, k: int) -> Any:
        did = spec.attempt(k)
        if did == "interrupted":
            await asyncio.sleep(spec.work / 2)
            task = asyncio.current_task()
            if task is None:
                raise HarnessError(f"{spec.name} was interrupted outside an asyncio task")
            task.cancel()  # as run() cancels the stages still working when one fails
            await asyncio.sleep(0)
        await asyncio.sleep(SLOW if did == "slow" else spec.work)
        data = {"stage": spec.name, "attempt": k}
        if did == "conn":
            raise ConnectionError(f"{spec.name} is unreachable")
        if did == RATE_LIMITED:
            raise sf.pipeline.retry.RateLimitError(f"{spec.name} is rate limited", retry_after=1.0)
        if did == "raise":
            raise ValueError(f"{spec.name} raises")
        if did == "fail":
            return sf.StageOutput.fail(error="")
        if did == "retry":
            return sf.StageOutput.retry(f"{spec.name} asks again", data=data)
        if did == "cancel":
            return sf.StageOutput.cancel("stop", data=data)
        return sf.StageOutput.ok(data=data)

    def context(self, label: str, data: RunData) -> Any:
        values: dict[str, Any] = {"_label": label}
        self.reached[label] = []
        if data.key is not None:
            values["idempotency_key"] = data.key
        if data.params:
            values["idempotency_params"] = dict(data.params)
        if data.timeout_ms is not None:
            values["_timeout_ms"] = data.timeout_ms
        if data.abort:
            values["_abort"] = True
        if data.token:  # MockJwtValidator, the default, takes any other token as valid
            values["_auth_token"] = "verify-token"
        sink = self.sinks[label] = Sink(lenient=data.sink == "lenient")
        ids = {field: uuid.UUID(int=n) for field, n in IDS.items()}
        where = {"event_sink": sink, "topology": TOPOLOGY, "execution_mode": MODE, **ids}
        if not data.child:
            return root_context(label, values, **where)
        # A child run, as a subpipeline gets one: forked from a root, with data of its own.
        child = root_context(label, {}, **where).fork(
            uuid.UUID(int=CHILD_RUN), "spawner", uuid.UUID(int=CHILD_RUN + 1)
        )
        child.data.update(values)
        return child

    async def run(self, label: str, data: RunData, *, via_pipeline: bool = False) -> None:
        """One run; ``via_pipeline``: ``Pipeline.run(ctx, interceptors=...)`` instead of the
        built graph (a fresh default stack per call when the graph's stack is omitted)."""
        _RUN_LABEL.set(label)  # this task's context only: the run's stage tasks inherit it
        ctx = self.context(label, data)
        loop = asyncio.get_running_loop()
        outcome, stopped, results = "ok", None, None
        try:
            if via_pipeline:
                given = self.interceptors
                extra = {} if given is None else {"interceptors": given}
                call = self.pipeline.run(ctx, **extra)
            else:
                call = self.built.run(ctx)
            res = await asyncio.wait_for(call, HANG)
            results = {name: (str(out.status.value), dict(out.data)) for name, out in res.items()}
        except sf.pipeline.dag.UnifiedStageExecutionError as exc:
            why = type(exc.original).__name__
            outcome = {"IdempotencyParamMismatch": "mismatch"}.get(why, "failed")
            if why == "CriticalInterceptorError":
                outcome = "aborted"
            stopped = exc.stage
        except sf.pipeline.dag.UnifiedPipelineCancelled as exc:
            outcome, stopped = "cancelled", exc.stage
        except TimeoutError:
            outcome = "hung"
        except asyncio.CancelledError:
            outcome = "interrupted"
        self.outcomes[label] = (outcome, stopped, results, loop.time())

    def observe(self, label: str) -> RunObservation:
        outcome, stopped, results, end = self.outcomes[label]
        reached = self.reached[label]
        stages = []
        for name in reached:
            status = "done"
            if results is not None:
                status = results[name][0]
            elif name == reached[-1]:
                status = outcome
            data = tuple(sorted(results[name][1].items())) if results is not None else None
            stages.append(
                StageSeen(
                    name,
                    status,
                    data,
                    tuple(self.attempts.get((label, name), ())),
                    tuple(
                        (hook, prio, t7(t), st)
                        for lb, stage, hook, prio, t, st in self.hooks
                        if lb == label and stage == name
                    ),
                    self._events(label, name),
                )
            )
        # The stage the run's exception names, else (interrupted, hung) the last one reached.
        last = stopped or (reached[-1] if reached else None)
        return RunObservation(outcome, None if outcome == "ok" else last, tuple(stages), t7(end))

    def _events(self, label: str, stage: str) -> tuple[Any, ...]:
        seen = []
        for kind, data in self.sinks[label].events:
            if not kind.startswith("stage.retry") or data.get("stage") != stage:
                continue
            names = EXHAUSTED if kind == "stage.retry_exhausted" else SCHEDULED
            seen.append((kind, tuple((f, data.get(f, "<missing>")) for f in names)))
        return tuple(seen)

    def breaker(self) -> dict[str, tuple[str, int]]:
        return breaker_view(self.built._interceptors)

    def store(self) -> tuple[tuple[str, Any], ...]:
        return store_view(self.built._interceptors, self.epoch)

    def after_runs(self, elapsed: float) -> None:
        """Book the virtual time a batch of runs used and unbind the stack's locks."""
        self.epoch += elapsed
        unbind_locks(self.built._interceptors)


__all__ = ["StackHarness", "pipeline_runs", "virtual_clocks"]
