"""A :class:`~models.graph_api.GraphScenario` played on a graph built straight from its specs
(``UnifiedStageGraph`` or the legacy ``StageGraph``), observed as :mod:`models.graph_api`
predicts: the outcome, which runners ran, the events the context's sink got, the specs the
graph lists and whether its registry and token were set during the run and cleared after it.

Features differ by release and are probed, never read from the version: a release without
``StageCancellationRequested`` or before-stage hooks draws no such request, one whose
``UnifiedStageGraph`` takes no wide-event flags draws no wide scenario
(:func:`graph_api_features`). Runs start from :func:`core.sut.lifecycle.run_context`, the
root each release's own runner builds.

For example::

    seen = run(lambda: play(scenario), HypothesisChooser(data)).value
    seen == predict(scenario)  # while the graph keeps its promises
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
import warnings
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.legacy_graph import legacy_quiet
from stageflow_verify.core.sut.lifecycle import life_features, run_context
from stageflow_verify.models.graph_api import CHAIN, VALUE, GraphScenario
from stageflow_verify.models.run_lifecycle import typed

sf = stageflow_module()


def graph_api_features() -> frozenset[str]:
    """The scenario kinds (and request ways) this release can be asked for."""
    dag = sf.pipeline.dag
    kinds = {"returns", "conditional", "deadlock", "empty"}
    if hasattr(dag, "StageGraph"):
        kinds.add("legacy")
    if "emit_stage_wide_events" in inspect.signature(dag.UnifiedStageGraph).parameters:
        kinds.add("wide")
    if hasattr(sf, "StageCancellationRequested") and life_features().root == "create":
        kinds |= {"cancel_request", "raise", "mark"}
        if hasattr(sf.PipelineContext, "add_before_stage_start_hook"):
            kinds.add("hook")
    if life_features().root == "create":
        kinds.add("stage_entry")
    return frozenset(kinds)


class _Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.try_emit(type=type, data=data)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.events.append((type, dict(data or {})))


def _answer(kind: str) -> Any:
    data = {"v": VALUE}
    if kind == "none":
        return None
    if kind == "dict":
        return data
    if kind == "result":
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        return sf.pipeline.dag.StageResult(
            name="r", status="completed", started_at=now, ended_at=now, data=data
        )
    if kind == "bad":
        return 42  # no stage return type
    if kind == "raise":
        raise ValueError("stage raises")
    return sf.StageOutput.ok(data=data)


class GraphApiHarness:
    def __init__(self, s: GraphScenario) -> None:
        self.s = s
        self.ran: list[str] = []
        self.during: list[tuple[bool, bool]] = []
        self.graph: Any = None
        self.ctx: Any = None

    def _runner(self, i: int, name: str) -> Any:
        s, harness = self.s, self

        async def runner(ctx: Any) -> Any:
            harness.ran.append(name)
            g = harness.graph
            if s.kind != "legacy":
                harness.during.append((g.cleanup_registry is not None, g.cancel_token is not None))
            await asyncio.sleep(0.25)
            if s.kind == "cancel_request" and i == s.at:
                if s.how == "raise":
                    raise sf.StageCancellationRequested("stop")
                harness.ctx.mark_canceled("stop")
            out = _answer(s.returns[i])
            if s.kind == "conditional" and name == "a" and s.skip_reason:
                return sf.StageOutput.ok(data={"skip_reason": s.skip_reason, **(out.data)})
            return out

        if s.kind != "legacy":
            return runner

        class Stage:  # 0.5.1's StageGraph instantiates every runner
            async def execute(self, ctx: Any) -> Any:
                return await runner(ctx)

        return Stage

    def _specs(self) -> list[Any]:
        s, dag = self.s, sf.pipeline.dag
        names = CHAIN[: len(s.returns)]
        deps: dict[str, tuple[str, ...]] = {"a": (), "b": ("a",), "c": ("b",)}
        if s.kind == "deadlock":
            names = ("a", "b", "c") if s.cycle else ("a", "b")
            deps = {"a": (), "b": ("c",) if s.cycle else ("zz",), "c": ("b",)}
        if s.kind == "empty":
            return []
        if s.kind == "legacy":
            return [
                dag.StageSpec(name=n, runner=self._runner(i, n), dependencies=deps[n])
                for i, n in enumerate(names)
            ]
        return [
            dag.UnifiedStageSpec(
                name=n,
                runner=self._runner(i, n),
                kind=sf.StageKind.TRANSFORM,
                dependencies=deps[n],
                conditional=s.kind == "conditional" and n == "b" and s.conditional,
            )
            for i, n in enumerate(names)
        ]

    def _build(self, specs: list[Any]) -> Any:
        s, dag = self.s, sf.pipeline.dag
        if s.kind == "legacy":
            return dag.StageGraph(specs)
        if s.kind != "wide":
            return dag.UnifiedStageGraph(specs)
        stage_flag, pipeline_flag, emitter = s.flags
        extra: dict[str, Any] = {}
        if emitter:
            from stageflow.observability.wide_events import WideEventEmitter

            extra["wide_event_emitter"] = WideEventEmitter()
        return dag.UnifiedStageGraph(
            specs,
            emit_stage_wide_events=stage_flag,
            emit_pipeline_wide_event=pipeline_flag,
            **extra,
        )

    async def play(self) -> tuple[Any, ...]:
        with warnings.catch_warnings():  # StageGraph warns that it is deprecated, each time
            warnings.simplefilter("ignore", DeprecationWarning)
            return await self._play()

    async def _play(self) -> tuple[Any, ...]:
        s, dag = self.s, sf.pipeline.dag
        if s.kind == "empty":
            refusals = []
            for make in (dag.UnifiedStageGraph, getattr(dag, "StageGraph", dag.UnifiedStageGraph)):
                try:
                    make([])
                    refusals.append("accepted")
                except ValueError:
                    refusals.append("ValueError")
            return (tuple(refusals), (), (), (), None)
        self.graph = self._build(self._specs())
        names = tuple(spec.name for spec in self.graph.stage_specs)
        sink = _Sink()
        if s.kind == "legacy":
            ids = dict.fromkeys(("session_id", "user_id", "org_id", "interaction_id"))
            self.ctx = sf.PipelineContext(
                pipeline_run_id=uuid.UUID(int=1),
                request_id=uuid.UUID(int=2),
                **ids,
                event_sink=sink,
            )
        else:
            self.ctx = run_context(uuid.UUID(int=1), uuid.UUID(int=2), sink)
        if s.how == "hook" and s.kind == "cancel_request":
            target = CHAIN[s.at]

            def hook(stage_name: str, kind: Any, stage_ctx: Any, pipeline_ctx: Any) -> None:
                if stage_name == target:
                    pipeline_ctx.mark_canceled("stop")

            self.ctx.add_before_stage_start_hook(hook)
        root = self.ctx.derive_root_stage_context() if s.entry == "stage" else self.ctx
        outcome = await self._outcome(root)
        after = None
        if s.kind != "legacy":
            after = (self.graph.cleanup_registry, self.graph.cancel_token)
        set_throughout = all(d == (True, True) for d in self.during)  # vacuous if none ran
        during = None if s.kind == "legacy" else (set_throughout, after == (None, None))
        return (outcome, tuple(self.ran), self._events(sink), names, during)

    async def _outcome(self, root: Any) -> tuple[Any, ...]:
        dag = self.s.kind
        try:
            with legacy_quiet():
                results = await self.graph.run(root)
        except sf.pipeline.dag.UnifiedPipelineCancelled as exc:
            return ("cancelled", exc.reason, _outputs(exc.results))
        except sf.pipeline.dag.UnifiedStageExecutionError as exc:
            return ("failed", exc.stage, "", _error(exc.original))
        except RuntimeError as exc:
            if dag == "deadlock":
                return ("RuntimeError", tuple(n for n in ("a", "b", "c") if f"'{n}'" in str(exc)))
            raise
        except Exception as exc:
            if type(exc).__name__ == "StageExecutionError":
                stage, original = getattr(exc, "stage", None), getattr(exc, "original", exc)
                return ("failed", stage, "StageExecutionError", _error(original))
            raise
        return ("ok", _outputs(results))

    def _events(self, sink: _Sink) -> tuple[Any, ...]:
        seen: list[tuple[Any, ...]] = []
        ids = (str(uuid.UUID(int=1)), str(uuid.UUID(int=2)))
        for type_, data in sink.events:
            if type_.endswith(".skipped"):
                carried = (data.get("pipeline_run_id"), data.get("request_id"))
                seen.append(
                    (type_, data.get("stage"), data.get("reason") if carried == ids else carried)
                )
            elif type_ == "stage.wide":
                seen.append((type_, data.get("stage")))
            elif type_ == "pipeline.wide":
                seen.append((type_, data.get("status")))
        return tuple(seen)


def _outputs(results: Any) -> tuple[Any, ...]:
    out = []
    for name, r in results.items():
        status = str(getattr(r.status, "value", r.status))  # StageStatus is a str enum
        out.append((name, status, tuple(sorted((k, typed(v)) for k, v in (r.data or {}).items()))))
    return tuple(out)


def _error(exc: BaseException) -> str:
    # The harness's own raise is a ValueError; 42 is the value no stage may return.
    if isinstance(exc, ValueError) and str(exc) == "stage raises":
        return "ValueError"
    return "names int" if "int" in str(exc) else f"{type(exc).__name__}: {exc}"
