"""Findings about the run helpers (check ``helpers.run_utils``), each with its reproducer:
plain Stageflow code that prints ``VIOLATION: ...`` and returns True while the violation is
there.

Each was argued against before registering. SF-HELP-01: ``create_snapshot`` passes
``metadata={"channel": channel}`` and ``**kwargs`` to ``ContextSnapshot`` (run_utils.py:444-
451), so the documented ``metadata`` can only collide. SF-HELP-02: ``MemoryTracker.observe``
raises on a tracker not started (helpers/memory_tracker.py:56-57), the runner keeps its tracker
in ``_memory_tracker`` and calls ``observe`` before running (run_utils.py:517-518); the docs
only show ``memory_tracker_auto_start=True`` (docs/advanced/hardening.md:45). SF-HELP-03: the
name is a plain substring test on the type (run_utils.py:281); nothing documents that.
SF-HELP-04: 0.7.0-0.9.5's ``UnifiedStageGraph.__init__`` sets no ``_interceptors`` (it runs
no stack), and the runner reads it unconditionally (run_utils.py:523 there).
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases
from stageflow_verify.models import run_helpers as model

CHECK = "helpers.run_utils"


def has_helpers(sf: ModuleType) -> str | None:
    if importlib.util.find_spec("stageflow.helpers.run_utils") is None:
        return "this stageflow has no stageflow.helpers.run_utils"
    return None


def metadata_refused(sf: ModuleType) -> bool:
    from stageflow.helpers.run_utils import run_simple_pipeline

    async def ok(ctx: Any) -> Any:
        return sf.StageOutput.ok()

    async def main() -> bool:
        pipeline = sf.Pipeline().with_stage("a", ok, sf.StageKind.TRANSFORM)
        try:
            await run_simple_pipeline(pipeline, "hello", metadata={"origin": "docs"})
        except TypeError as exc:
            print(f"VIOLATION: SF-HELP-01: run_simple_pipeline(metadata=...) raised {exc}")
            return True
        return False

    return asyncio.run(main())


HELPER_FINDINGS = [
    Finding(
        model.METADATA_REFUSED,
        "run_simple_pipeline(metadata=...) and PipelineRunner.run(metadata=...) raise TypeError",
        releases(),
        CHECK,
        "run_simple_pipeline: 'metadata: Optional metadata dict to include in snapshot'; "
        "PipelineRunner.run: '**snapshot_kwargs: Additional snapshot creation args'.",
        "create_snapshot passes metadata={'channel': channel} and **kwargs to ContextSnapshot, "
        "so any metadata given raises TypeError: got multiple values for keyword argument "
        "'metadata' (from run_simple_pipeline, run or create_snapshot itself), before "
        "anything runs.",
        metadata_refused,
        basis=documented(
            (
                "metadata: Optional metadata dict to include in snapshot.",
                "stageflow/helpers/run_utils.py:675",
            ),
        ),
        severity=Severity(
            "medium", "a loud failure of a documented argument on the helper's main path"
        ),
        fix="PipelineRunner.create_snapshot (stageflow/helpers/run_utils.py:444): merge "
        "kwargs.pop('metadata', {}) with {'channel': channel} instead of passing both.",
        applies=has_helpers,
    ),
]


def idle_tracker_raises(sf: ModuleType) -> bool:
    from stageflow.helpers.run_utils import PipelineRunner

    async def ok(ctx: Any) -> Any:
        return sf.StageOutput.ok()

    async def main() -> bool:
        pipeline = sf.Pipeline().with_stage("a", ok, sf.StageKind.TRANSFORM)
        runner = PipelineRunner(
            verbose=False, enable_memory_tracker=True, memory_tracker_auto_start=False
        )
        try:
            await runner.run(pipeline, input_text="hello")
        except RuntimeError as exc:
            print(f"VIOLATION: SF-HELP-02: PipelineRunner.run raised {exc}")
            return True
        return False

    return asyncio.run(main())


def has_memory_tracker(sf: ModuleType) -> str | None:
    if has_helpers(sf):
        return has_helpers(sf)
    from stageflow.helpers.run_utils import PipelineRunner

    if "memory_tracker_auto_start" not in inspect.signature(PipelineRunner).parameters:
        return "this stageflow's PipelineRunner has no memory tracker"
    return None


HELPER_FINDINGS.append(
    Finding(
        model.IDLE_TRACKER_RAISES,
        "PipelineRunner(enable_memory_tracker=True, memory_tracker_auto_start=False) cannot "
        "run: every run raises RuntimeError",
        releases("0.7.0"),
        CHECK,
        "PipelineRunner: 'memory_tracker_auto_start: Whether to auto-start the memory "
        "tracker.' A tracker not started automatically is one the caller starts; the runner "
        "keeps it private, so nothing can.",
        "run() calls self._memory_tracker.observe(label='pipeline:start') before running, and "
        "MemoryTracker.observe raises RuntimeError('MemoryTracker is not active; call start() "
        "first') on a tracker nobody started: the pipeline never runs.",
        idle_tracker_raises,
        basis=expected(
            "An option the constructor offers should give a runner that runs; with "
            "auto-start off, the runner's tracker is private and never started, so every run "
            "fails before any stage runs.",
            (
                "memory_tracker_auto_start: Whether to auto-start the memory tracker.",
                "stageflow/helpers/run_utils.py:382",
            ),
        ),
        severity=Severity("low", "loud, and avoided by leaving auto-start on"),
        fix="PipelineRunner.run (stageflow/helpers/run_utils.py:517): start the tracker "
        "there when it is not active (or accept a MemoryTracker the caller starts).",
        applies=has_memory_tracker,
    )
)


def other_stages_events(sf: ModuleType) -> bool:
    from stageflow.helpers.run_utils import ObservableEventSink

    sink = ObservableEventSink(verbose=False)
    sink.try_emit(type="stage.b.completed", data={"stage": "b"})
    found = [e["type"] for e in sink.get_stage_events("a")]
    if found:
        print(f"VIOLATION: SF-HELP-03: get_stage_events('a') returned stage b's events {found}")
    return bool(found)


HELPER_FINDINGS.append(
    Finding(
        model.STAGE_EVENTS_BY_SUBSTRING,
        "ObservableEventSink.get_stage_events(name) returns other stages' events whose type "
        "contains the name",
        releases(),
        CHECK,
        "ObservableEventSink.get_stage_events: 'Get events for a specific stage.'",
        "It keeps every event whose type contains the name anywhere (`stage_name in "
        "e['type']`): get_stage_events('a') returns stage.b.completed ('stage' contains 'a'), "
        "and 'llm' returns the events of 'llm_router'.",
        other_stages_events,
        basis=documented(
            ("Get events for a specific stage.", "stageflow/helpers/run_utils.py:277"),
        ),
        severity=Severity("low", "a helper for post-run analysis, wrong for short or shared names"),
        fix="ObservableEventSink.get_stage_events (stageflow/helpers/run_utils.py:278): match "
        "the name as a dotted part of the type (stage.{name}.*), not as a substring.",
        applies=has_helpers,
    )
)


def hardening_without_a_stack(sf: ModuleType) -> str | None:
    # The runner prepends its hardening interceptors to the graph's own stack; a release whose
    # build() takes no interceptors (before 0.9.6) gives a graph without one.
    if has_memory_tracker(sf):
        return has_memory_tracker(sf)
    if "interceptors" in inspect.signature(sf.Pipeline.build).parameters:
        return "this stageflow's built graph has an interceptor stack the runner can extend"
    return None


def hardening_crashes(sf: ModuleType) -> bool:
    from stageflow.helpers.run_utils import PipelineRunner

    async def ok(ctx: Any) -> Any:
        return sf.StageOutput.ok()

    async def main() -> bool:
        pipeline = sf.Pipeline().with_stage("a", ok, sf.StageKind.TRANSFORM)
        runner = PipelineRunner(verbose=False, enable_immutability_check=True)
        try:
            await runner.run(pipeline, input_text="hello")
        except AttributeError as exc:
            print(f"VIOLATION: SF-HELP-04: PipelineRunner.run raised AttributeError: {exc}")
            return True
        return False

    return asyncio.run(main())


HELPER_FINDINGS.append(
    Finding(
        model.HARDENING_CRASHES,
        "PipelineRunner(enable_immutability_check=True) (or enable_context_size_monitor) "
        "raises AttributeError on every run where a graph has no interceptor stack",
        releases("0.7.0", "0.9.5"),
        CHECK,
        "PipelineRunner: 'enable_immutability_check: Enable deep context immutability "
        "validation (slow).', 'enable_context_size_monitor: Enable context payload size "
        "warnings.'",
        "run() prepends the hardening interceptors to graph._interceptors, which a "
        "UnifiedStageGraph before 0.9.6 does not have (its build() takes no interceptors): "
        "AttributeError before any stage runs.",
        hardening_crashes,
        basis=documented(
            (
                "enable_immutability_check: Enable deep context immutability validation (slow).",
                "stageflow/helpers/run_utils.py:383",
            ),
        ),
        severity=Severity("medium", "a loud failure of two documented options, on every run"),
        fix="PipelineRunner.run (stageflow/helpers/run_utils.py:550): build the graph with the "
        "hardening interceptors (or refuse the options) where the graph has no stack.",
        applies=hardening_without_a_stack,
    )
)

FINDINGS = HELPER_FINDINGS
