"""Known findings about a run's lifecycle: inputs, events and cleanup (check ``lifecycle.run``).

Every reproducer is plain Stageflow code given the imported ``stageflow`` package as ``sf``; it
runs its own ``asyncio.run`` without wall-clock sleeps (an ``asyncio.Event`` orders what must
happen in order) and returns True while the violation is there. The lifecycle machine adopts
those that still reproduce, and also :data:`KNOWN_ELSEWHERE`, the graph finding its model names
(SF-RUN-02: a RETRY output is not a failure), without registering it twice.

Each was argued against before registering: SF-LIFE-01 reads ``_validate_dependency``
(``self.strict and self.declared_deps and ...``: an empty declaration switches the check off),
SF-LIFE-02 greps the package (no ``stage.*.started``, ``.completed``, ``.failed`` nor
``pipeline.started``/``completed``/``failed``/``cancelled`` is emitted by a run: only
``record_stage_event``, which ``UnifiedStageGraph`` never calls, and the opt-in wide events,
whose types are ``stage.wide``/``pipeline.wide``), SF-LIFE-03 reads ``CleanupRegistry.run_all``
(``except asyncio.CancelledError`` per callback, never re-raised).
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import stageflow_verify.core.sut.graphs  # noqa: F401  (silences Stageflow's per-stage error logs)
from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases
from stageflow_verify.models import run_lifecycle as model
from stageflow_verify.stateful.graph_findings import FINDINGS as GRAPH_FINDINGS
from stageflow_verify.stateful.graph_runs import _context

CHECK = "lifecycle.run"
KNOWN_ELSEWHERE = [f for f in GRAPH_FINDINGS if f.id == "SF-RUN-02"]


def applies(sf: ModuleType) -> str | None:
    # Every release from 0.5.0 builds a UnifiedStageGraph that takes cleanups; the harness
    # bridges the rest (core.sut.lifecycle.LifeFeatures).
    if not hasattr(sf.pipeline.dag.UnifiedStageGraph, "register_cleanup"):
        return "this stageflow's built graph takes no cleanups (no register_cleanup)"
    return None


def _ok(sf: ModuleType, **data: Any) -> Any:
    async def stage(ctx: Any) -> Any:
        return sf.StageOutput.ok(data=data)

    return stage


def undeclared_read_without_dependencies(sf: ModuleType) -> bool:
    answers: list[Any] = []

    async def reader(ctx: Any) -> Any:
        try:
            answers.append(ctx.inputs.get_output("a"))
        except sf.stages.inputs.UndeclaredDependencyError:
            answers.append("refused")
        return sf.StageOutput.ok()

    pipeline = (
        sf.Pipeline()
        .with_stage("a", _ok(sf, v=1), sf.StageKind.TRANSFORM)
        .with_stage("b", reader, sf.StageKind.TRANSFORM)  # declares no dependencies
    )
    asyncio.run(pipeline.build().run(_context(sf, input_text="x")))
    return answers == [None]


class _Recorder:
    def __init__(self) -> None:
        self.types: list[str] = []

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.types.append(type)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.types.append(type)


def lifecycle_events_missing(sf: ModuleType) -> bool:
    sink = _Recorder()
    pipeline = sf.Pipeline().with_stage("a", _ok(sf), sf.StageKind.TRANSFORM)

    async def main() -> None:
        sf.set_event_sink(sink)  # the context made next takes it (this task's context only)
        await pipeline.build().run(_context(sf, input_text="x"))

    asyncio.run(main())
    documented = {"stage.a.started", "stage.a.completed", "pipeline.started", "pipeline.completed"}
    return not documented & set(sink.types)


def cancel_during_cleanup_swallowed(sf: ModuleType) -> bool:
    async def main() -> bool:
        cleaning = asyncio.Event()
        holder: dict[str, Any] = {}

        async def cleanup() -> None:
            cleaning.set()
            await asyncio.Event().wait()  # a cleanup still busy when the cancel arrives

        async def stage(ctx: Any) -> Any:
            holder["graph"].register_cleanup(cleanup, name="slow cleanup")
            return sf.StageOutput.ok()

        holder["graph"] = sf.Pipeline().with_stage("a", stage, sf.StageKind.TRANSFORM).build()
        task = asyncio.ensure_future(holder["graph"].run(_context(sf)))
        await cleaning.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return False
        return not task.cancelled()

    return asyncio.run(main())


FINDINGS = [
    Finding(
        model.UNCHECKED_WITHOUT_DEPS,
        "A stage that declares no dependencies may read any stage: no UndeclaredDependencyError",
        releases(),
        CHECK,
        "docs/guides/dependencies.md:7: 'When a stage tries to access output from another stage "
        "that isn't declared as a dependency, you'll get an UndeclaredDependencyError'; "
        "docs/api/inputs.md (get_from, has_output, get_output): 'UndeclaredDependencyError: If "
        "strict=True and stage is not in declared_deps'.",
        "StageInputs._validate_dependency checks only when declared_deps is non-empty: a stage "
        "with no dependencies gets get_output('a') -> None, has_output -> False and get_from -> "
        "the default for any stage name, strict=True notwithstanding; one that declares a single "
        "dependency is refused the same read. The error's own message prints '(none)' for an empty "
        "declaration, so the case was meant to raise.",
        undeclared_read_without_dependencies,
        basis=documented(
            (
                "When a stage tries to access output from another stage that isn't declared as "
                "a dependency, you'll get an `UndeclaredDependencyError`.",
                "docs/guides/dependencies.md:7",
            ),
        ),
        severity=Severity(
            "medium",
            "silent: the documented guard is off exactly for stages that declare "
            "nothing, whose undeclared reads quietly return None or the default",
        ),
        fix="StageInputs._validate_dependency (stageflow/stages/inputs.py:130): drop the "
        "`self.declared_deps and` term, so strict mode refuses every undeclared stage.",
    ),
    Finding(
        model.LIFECYCLE_EVENTS_MISSING,
        "A run emits none of the documented stage.{name}.started/completed/failed or pipeline.* "
        "events",
        releases(),
        CHECK,
        "docs/api/events.md:141-143: 'stage.{name}.started | Stage began execution', "
        "'stage.{name}.completed', 'stage.{name}.failed'; docs/api/events.md:175-178: "
        "'pipeline.started', 'pipeline.completed', 'pipeline.failed', 'pipeline.cancelled' "
        "(also docs/guides/observability.md:124-126, 182-184).",
        "A Pipeline.build().run(...) emits only stage.{name}.skipped (for SKIP outputs) and "
        "guard_retry.* events, to the context's sink and so to the global one; neither sink "
        "ever receives a started, completed or failed stage event or any pipeline.* event.",
        lifecycle_events_missing,
        basis=documented(
            ("| `stage.{name}.started` | Stage began execution |", "docs/api/events.md:141"),
            ("| `pipeline.started` | Pipeline run began |", "docs/api/events.md:175"),
        ),
        severity=Severity(
            "medium",
            "silent: dashboards and alerts built on the documented events receive "
            "nothing, and nothing says so",
        ),
        fix="UnifiedStageGraph.run and _run_stage (stageflow/pipeline/dag.py): emit "
        "pipeline.started/completed/failed/cancelled and stage.{name}.started/completed/failed "
        "through the context's sink (try_emit_event), or correct docs/api/events.md.",
    ),
    Finding(
        model.CANCEL_IN_CLEANUP_SWALLOWED,
        "A cancel or timeout arriving while a run's cleanups run is swallowed: the run returns",
        releases(),
        CHECK,
        "Reasonable expectation (no Stageflow sentence covers it): UnifiedStageGraph.run 'Uses "
        "structured cancellation'; a cancelled asyncio task ends cancelled (the asyncio docs: "
        "CancelledError 'should generally be propagated'), and wait_for raises TimeoutError.",
        "CleanupRegistry.run_all catches CancelledError around each callback and goes on: the "
        "cancel interrupts that cleanup, the rest run, and run() returns its PipelineResults "
        "(or raises the stage's error) as if never cancelled; task.cancelled() is False and "
        "asyncio.wait_for(run, t) returns results after its deadline.",
        cancel_during_cleanup_swallowed,
        tags=("interleaving",),
        basis=expected(
            "asyncio's contract is that a cancelled task ends cancelled; a run that swallows "
            "the CancelledError delivered during its cleanups defeats wait_for, timeouts and "
            "TaskGroups around it, and UnifiedStageGraph promises structured cancellation.",
            (
                "Uses structured cancellation to ensure proper resource cleanup",
                "stageflow/pipeline/dag.py:458",
            ),
        ),
        severity=Severity(
            "medium", "a cancel or timeout is lost, but only if it arrives while cleanups run"
        ),
        fix="CleanupRegistry.run_all (stageflow/pipeline/cancellation.py:105): finish the "
        "remaining cleanups (shielded), then re-raise the CancelledError.",
    ),
]
