"""The legacy ``StageGraph`` run on a :class:`~models.run_lifecycle.LifeGraph`, observed as
:mod:`models.legacy_graph` predicts it.

``StageGraph.run`` appends to ``/tmp/debug_voice_handler.log`` and ``_debug_log`` to
``/tmp/debug_pipeline_dag.log`` on every run; both writes sit in ``try/except Exception``. The
harness shadows ``open`` in ``stageflow.pipeline.dag``'s namespace for the run (a module global,
not an edit of the file) with one that raises ``OSError``, so no example writes outside the
suite. Stage and result timestamps are wall clock and are left out; times come from the loop.

For example::


"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.core.sut.lifecycle import behave
from stageflow_verify.core.sut.subpipeline_roots import ID_FIELDS
from stageflow_verify.models.graph_run import t7
from stageflow_verify.models.legacy_graph import Event, LegacyObservation
from stageflow_verify.models.run_lifecycle import LifeGraph, LifeStage, typed

sf = stageflow_module()


def _no_files(*args: Any, **kwargs: Any) -> Any:
    raise OSError("the legacy StageGraph's debug logs are not written under the suite")


@contextlib.contextmanager
def legacy_quiet() -> Iterator[None]:
    """``quiet()`` plus no debug-log files and no deprecation warning per run."""
    dag = sf.pipeline.dag
    with quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        dag.open = _no_files
        try:
            yield
        finally:
            del dag.open


class _Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.try_emit(type=type, data=data)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        data = data or {}
        now = t7(asyncio.get_running_loop().time())
        self.events.append((type, data.get("pipeline_run_id"), data.get("request_id"), now))


class LegacyHarness:
    """One StageGraph, built once (as an application keeps one), run again and again;
    ``flag`` names the stage that sets ``ctx.canceled`` as it ends."""

    def __init__(self, graph: LifeGraph, flag: str | None) -> None:
        self.graph, self.flag = graph, flag
        self.started: list[tuple[str, float]] = []
        specs = [
            sf.pipeline.dag.StageSpec(name=s.name, runner=self._runner(s), dependencies=s.deps)
            for s in graph.stages
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.built = sf.pipeline.dag.StageGraph(specs)

    def _runner(self, stage: LifeStage) -> type:
        # A class with execute(): 0.5.1's StageGraph instantiates every runner; 1.2.0 takes a
        # class or a coroutine function.
        harness = self

        class Stage:
            async def execute(self, ctx: Any) -> Any:
                loop = asyncio.get_running_loop()
                harness.started.append((stage.name, t7(loop.time())))
                await asyncio.sleep(stage.work)
                if stage.name == harness.flag:
                    ctx.canceled = True
                return behave(stage)

        return Stage

    async def run(self, number: int) -> LegacyObservation:
        self.started = []
        sink = _Sink()
        # Every id field passed (0.5.1 requires them), as core.sut.subpipeline_roots.root_context.
        ids: dict[str, Any] = dict.fromkeys(ID_FIELDS)
        ids.update(pipeline_run_id=uuid.UUID(int=number), request_id=uuid.UUID(int=10_000 + number))
        ctx = sf.PipelineContext(**ids, event_sink=sink)
        results = await self.built.run(ctx)
        seen = tuple(
            sorted(
                (
                    name,
                    str(r.status),
                    tuple(sorted((k, typed(v)) for k, v in (r.data or {}).items())),
                    r.error,
                )
                for name, r in results.items()
            )
        )
        events = tuple(sorted(sink.events, key=lambda e: (e[3], e[0])))
        return LegacyObservation(seen, tuple(sorted(self.started)), events)

    def breaker(self) -> dict[str, int]:
        """The failures the graph's circuit breaker counts, per stage."""
        for interceptor in self.built._interceptors:
            if type(interceptor).__name__ == "CircuitBreakerInterceptor":
                return {k: v for k, v in interceptor._failure_counts.items() if v}
        return {}
