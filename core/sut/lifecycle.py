"""One real Stageflow run of a :class:`~models.run_lifecycle.LifeGraph`, observed as the model
predicts it.

Each run builds the pipeline afresh (as ``Pipeline.run`` does, so no interceptor state such as
the circuit breaker's counts outlives a run) and keeps the built graph, because stages register
their cleanups on it (``UnifiedStageGraph.register_cleanup``). On starting, before its first
``await``, a stage makes its reads through ``ctx.inputs`` and registers one cleanup that takes
:data:`~models.run_lifecycle.CLEANUP_WORK` virtual seconds; then it works and returns its status.

Clocks and ids: everything is timed by the loop's virtual clock. Stageflow's own timestamps
(``datetime.now`` in stage results, ``duration_ms`` in the skipped event) are wall clock and are
left out of the comparison; the run's ``pipeline_run_id`` and ``request_id`` are counted UUIDs
(``UUID(int=n)``), never ``uuid4``, so the ids events carry are a function of the run.

Releases differ (:class:`LifeFeatures`, probed, never read from the version number). Before
1.0.0 a built graph's ``run`` returns a plain ``dict`` of StageOutputs (no ``PipelineResults``),
``Pipeline`` has no ``run``/``invoke`` and ``PipelineContext`` no ``create``: 0.9.5 and 0.9.6 run
on a ``PipelineContext`` built field by field, earlier releases on the root ``StageContext`` their
own ``PipelineRunner.run`` builds (snapshot with a ``RunIdentity``, empty inputs, a timer),
whose ``event_sink`` is optional and defaults to none, not to the global sink.

For example::

    harness = LifecycleHarness(graph)
    with quiet():
        run(lambda: harness.run(1), HypothesisChooser(data))
    harness.observe()  # == predict(graph, deviations, run_ids=harness.ids) while promises hold
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import re
import uuid
from dataclasses import dataclass
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import new_pipeline
from stageflow_verify.core.sut.graphs import quiet as quiet
from stageflow_verify.models.graph_run import t7
from stageflow_verify.models.run_lifecycle import (
    ABSENT,
    CLEANUP_WORK,
    LifeGraph,
    LifeObservation,
    LifeStage,
    typed,
)

sf = stageflow_module()
_MISSING = object()
_REQUIRE_OK = re.compile(r"^Stage '(\w+)' did not complete with OK status \((\w+)\)(?:: (.*))?$")


def output_seen(out: Any) -> Any:
    """A real StageOutput as the model writes one: (status, typed data items, error)."""
    if out is None:
        return None
    items = tuple(sorted((k, typed(v)) for k, v in out.data.items()))
    return (str(out.status.value), items, out.error)


@dataclass(frozen=True)
class LifeFeatures:
    """What this release offers among the things the lifecycle model talks about."""

    results_api: bool  # run() returns PipelineResults (require, require_ok, ...); else a dict
    pipeline_entries: bool  # Pipeline.run and Pipeline.invoke
    root: str  # the run's context: "create" (PipelineContext.create), "pipeline" (built
    # field by field, 0.9.5-0.9.6) or "stage" (a root StageContext, before 0.9.5)

    @property
    def global_sink_default(self) -> bool:
        """Whether a context naming no sink sends events to the global one: PipelineContext's
        ``event_sink`` defaults to ``get_event_sink()``; a StageContext's to None."""
        return self.root != "stage"


def life_features() -> LifeFeatures:
    return _life_features(sf.Pipeline, sf.PipelineContext)


# Keyed on the classes: a planted bug that swaps either is a different SUT.
@functools.lru_cache(maxsize=16)
def _life_features(pipeline: type, context: type) -> LifeFeatures:
    root = "stage"
    if hasattr(context, "create"):
        root = "create"
    elif hasattr(context, "derive_root_stage_context"):
        root = "pipeline"
    return LifeFeatures(
        results_api=importlib.util.find_spec("stageflow.pipeline.results") is not None,
        pipeline_entries=hasattr(pipeline, "run") and hasattr(pipeline, "invoke"),
        root=root,
    )


def run_context(run_id: uuid.UUID, request_id: uuid.UUID, sink: Any | None) -> Any:
    """The context one run is given: the run's ids, ``input_text``, and ``sink`` if not None
    (else the context's own default)."""
    named = {"event_sink": sink} if sink is not None else {}
    root = life_features().root
    if root == "create":
        return sf.PipelineContext.create(
            pipeline_run_id=run_id, request_id=request_id, input_text="lifecycle", **named
        )
    if root == "pipeline":
        unset: dict[str, Any] = dict.fromkeys(("session_id", "user_id", "org_id", "interaction_id"))
        return sf.PipelineContext(
            pipeline_run_id=run_id, request_id=request_id, input_text="lifecycle", **unset, **named
        )
    from stageflow.context.identity import RunIdentity

    identity = RunIdentity(pipeline_run_id=run_id, request_id=request_id)
    snapshot = sf.context.ContextSnapshot(run_id=identity, input_text="lifecycle")
    name = "__pipeline_root__"  # as the release's own PipelineRunner.run names its root
    inputs = sf.create_stage_inputs(snapshot, prior_outputs={}, declared_deps=(), stage_name=name)
    return sf.StageContext(
        snapshot=snapshot, inputs=inputs, stage_name=name, timer=sf.PipelineTimer(), **named
    )


class _Sink:
    """Records every event with the loop's virtual time; which sink it was is the label."""

    def __init__(self, label: str, log: list[tuple[str, str, str | None, str | None, float]]):
        self.label, self.log = label, log

    def _record(self, type: str, data: dict[str, Any] | None) -> None:
        data = data or {}
        now = t7(asyncio.get_running_loop().time())
        self.log.append(
            (self.label, type, data.get("pipeline_run_id"), data.get("request_id"), now)
        )

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self._record(type, data)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self._record(type, data)


class LifecycleHarness:
    """Runs a LifeGraph once per :meth:`run` and keeps what that run did."""

    def __init__(self, graph: LifeGraph) -> None:
        self.graph = graph
        self.ids = ("", "")
        self.built: Any = None
        self._reset()

    def _reset(self) -> None:
        self.started: list[tuple[str, float]] = []
        self.reads: list[tuple[str, str, str, str, Any]] = []
        self.registered: list[str] = []
        self.cleanups: list[list[Any]] = []  # [stage, start, end or None]
        self.events: list[tuple[str, str, str | None, str | None, float]] = []
        self.outcome: tuple[str, str | None, Any, float] = ("never ran", None, None, 0.0)

    def _pipeline(self) -> Any:
        pipeline = new_pipeline("lifecycle")  # 0.5.x: Pipeline() takes no name
        for stage in self.graph.stages:
            pipeline = pipeline.with_stage(
                stage.name, self._runner(stage), sf.StageKind.TRANSFORM, stage.deps
            )
        return pipeline

    def _runner(self, stage: LifeStage) -> Any:
        async def runner(ctx: Any) -> Any:
            loop = asyncio.get_running_loop()
            self.started.append((stage.name, t7(loop.time())))
            for method, target, key in stage.reads:
                self.reads.append(
                    (stage.name, method, target, key, read(ctx.inputs, method, target, key))
                )
            entry: list[Any] = [stage.name, None, None]

            async def cleanup() -> None:
                entry[1] = t7(loop.time())
                self.cleanups.append(entry)
                await asyncio.sleep(CLEANUP_WORK)
                entry[2] = t7(loop.time())

            if self.built is not None:  # Pipeline.run/invoke keep their graph to themselves
                self.built.register_cleanup(cleanup, name=stage.name)
                self.registered.append(stage.name)
            await asyncio.sleep(stage.work)
            return behave(stage)

        return runner

    async def run(
        self, number: int, cancel_at: float | None = None, how: str = "cancel", entry: str = "build"
    ) -> None:
        """Run the graph once through ``entry``: ``build`` (``Pipeline.build().run(ctx)``, whose
        graph the stages register cleanups on), ``run`` (``Pipeline.run(ctx)``) or ``invoke``
        (``Pipeline.invoke(ctx)``), which keep their graph, so no cleanup is registered.
        ``cancel_at`` cancels the run from outside (``how``: ``cancel`` the task, or
        ``wait_for`` with that deadline)."""
        self._reset()
        pipeline = self._pipeline()
        self.built = pipeline.build() if entry == "build" else None
        loop = asyncio.get_running_loop()
        run_id, request_id = uuid.UUID(int=number), uuid.UUID(int=10_000 + number)
        self.ids = (str(run_id), str(request_id))
        sf.set_event_sink(_Sink("global", self.events))  # this task's context only
        named = _Sink("ctx", self.events) if self.graph.named_sink else None
        ctx = run_context(run_id, request_id, named)

        def go() -> Any:
            if entry == "build":
                return self.built.run(ctx)
            return pipeline.run(ctx) if entry == "run" else pipeline.invoke(ctx)

        outcome, who, results = "ok", None, None
        try:
            if cancel_at is None:
                res = await go()
            elif how == "wait_for":
                res = await asyncio.wait_for(go(), cancel_at - loop.time())
            else:
                task = asyncio.ensure_future(go())
                loop.call_at(cancel_at, task.cancel)
                res = await task
            results = self.answers(res)
        except sf.pipeline.dag.UnifiedStageExecutionError as exc:
            outcome, who = "failed", exc.stage
        except sf.pipeline.dag.UnifiedPipelineCancelled as exc:
            outcome, who, results = "cancelled", exc.stage, self.answers(exc.results)
        except asyncio.CancelledError:
            outcome = "cancelled_outside"
        except TimeoutError:
            outcome = "timeout"
        self.outcome = (outcome, who, results, t7(loop.time()))

    def answers(self, res: Any) -> tuple[Any, ...]:
        """What the PipelineResults answers, accessor by accessor, for every stage name (before
        1.0.0: what the returned dict holds for every name, and its keys)."""
        out: list[Any] = []
        if not life_features().results_api:
            names = (*(s.name for s in self.graph.stages), ABSENT)
            held = tuple((n, output_seen(res.get(n))) for n in names)
            return (*held, ("keys", tuple(sorted(res))))
        for name in (*(s.name for s in self.graph.stages), ABSENT):
            out.append(
                (
                    name,
                    _call(lambda n=name: output_seen(res.require(n))),
                    output_seen(res.output(name)),
                    _call(lambda n=name: _items(res.data(n))),
                    res.ok(name),
                    _require_ok(res, name),
                    (_items(res.data(name, {"d": 0})), _default(res.output(name, "default"))),
                )
            )
        return (*out, ("failed()", tuple(sorted(res.failed()))))

    def observe(self) -> LifeObservation:
        outcome, who, results, end = self.outcome
        # The run stops its stages, then runs its cleanups: the first cleanup's start is that
        # instant (every run registers at least one, its first stage's).
        stopped = min((e[1] for e in self.cleanups), default=end)
        return LifeObservation(
            outcome,
            who,
            stopped,
            end,
            tuple(sorted(self.started)),
            tuple(sorted(self.reads)),
            results,
            tuple((start, stop) for _, start, stop in self.cleanups),
            tuple(sorted((e for e in self.events if e[4] <= stopped), key=lambda e: (e[4], e[1]))),
        )

    def cleanup_order(self) -> tuple[list[str], list[str]]:
        """(registration order, order the cleanups ran in)."""
        return list(self.registered), [e[0] for e in self.cleanups]


def behave(stage: LifeStage) -> Any:
    data = {"v": stage.value}
    if stage.status == "skip":
        return sf.StageOutput.skip(reason=f"{stage.name} skips", data=data)
    if stage.status == "cancel":
        return sf.StageOutput.cancel(reason=f"{stage.name} cancels", data=data)
    if stage.status == "fail":
        return sf.StageOutput.fail(error=f"{stage.name} fails", data=data)
    if stage.status == "retry":
        return sf.StageOutput.retry(error=f"{stage.name} retrys", data=data)
    if stage.status == "raise":
        raise ValueError(f"{stage.name} raises")
    return sf.StageOutput.ok(data=data)


def read(inputs: Any, method: str, target: str, key: str) -> Any:
    """One read through StageInputs, as the model writes its answer."""
    try:
        if method == "prior_outputs":
            return tuple(sorted(inputs.prior_outputs))
        if method == "get":
            got = inputs.get(key, _MISSING)
        elif method == "get_from":
            got = inputs.get_from(target, key, _MISSING)
        elif method == "require_from":
            got = inputs.require_from(target, key)
        elif method == "get_output":
            return output_seen(inputs.get_output(target))
        else:
            return bool(inputs.has_output(target))
    except sf.stages.inputs.UndeclaredDependencyError:
        return "UndeclaredDependencyError"
    except (KeyError, ValueError) as exc:
        return type(exc).__name__
    return "default" if got is _MISSING else typed(got)


def _items(data: dict[str, Any]) -> tuple[tuple[str, tuple[str, str]], ...]:
    return tuple(sorted((k, typed(v)) for k, v in data.items()))


def _default(out: Any) -> Any:
    return out if isinstance(out, str) else output_seen(out)


def _call(fn: Any) -> Any:
    try:
        return fn()
    except KeyError:
        return "KeyError"


def _require_ok(res: Any, name: str) -> Any:
    try:
        res.require_ok(name)
    except KeyError:
        return "KeyError"
    except RuntimeError as exc:
        match = _REQUIRE_OK.match(str(exc))
        if match is None or match.group(1) != name:
            return ("RuntimeError with an unexpected message", str(exc))
        return ("RuntimeError", match.group(2), match.group(3))
    return "ok"
