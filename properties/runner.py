"""``lifecycle.runner``: one ``PipelineRunner`` and one built graph, run again and again,
against :mod:`models.runner_result`; and SF-LIFE-05.

Graphs are the lifecycle machine's, with ``fail`` drawn as ``raise``: a FAIL output leaves its
siblings working after the run (SF-RUN-10, the graph machine's), and their later events would
land in the RunResult for that reason alone. Each example runs a sequence of 1 to 4 runs,
``runner`` or ``plain``, on the deterministic loop, and compares every RunResult (as it reads
after the whole sequence) and whether the caller's global sink is still its own.

For example::

    run_runner_law()  # raises with the shrunk graph, the sequence and the swimlane
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import replace
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import (
    Check,
    Finding,
    Severity,
    adopting_known,
    count_example,
    expected,
    releases,
)
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.core.sut.lifecycle import life_features
from stageflow_verify.core.sut.runner import run_sequence
from stageflow_verify.models.run_lifecycle import LifeGraph
from stageflow_verify.models.runner_result import RUNNER_KEEPS_GLOBAL_SINK, predict_sequence
from stageflow_verify.stateful.lifecycle_findings import FINDINGS as LIFECYCLE_FINDINGS
from stageflow_verify.stateful.lifecycle_findings import KNOWN_ELSEWHERE
from stageflow_verify.stateful.lifecycle_machine import life_graphs

CHECK = "lifecycle.runner"


def has_runner(sf: ModuleType) -> str | None:
    if importlib.util.find_spec("stageflow.helpers.run_utils") is None:
        return "this stageflow has no stageflow.helpers.run_utils (no PipelineRunner)"
    return None


def applies(sf: ModuleType) -> str | None:
    # The harness bridges the releases' contexts and run() signatures (core.sut.runner).
    return has_runner(sf)


def without_fail(graph: LifeGraph) -> LifeGraph:
    stages = tuple(replace(s, status="raise") if s.status == "fail" else s for s in graph.stages)
    return replace(graph, stages=stages)


KINDS = ["runner", "plain", "runner_pipeline"]
kinds = st.lists(st.sampled_from(KINDS), min_size=1, max_size=4).map(tuple)


@given(graph=life_graphs().map(without_fail), sequence=kinds, data=st.data())
def runner_law(
    graph: LifeGraph, sequence: tuple[str, ...], data: st.DataObject, active: frozenset[str]
) -> None:
    count_example()
    with quiet():
        results, kept = run(lambda: run_sequence(graph, sequence), HypothesisChooser(data)).value
    defaults_global = life_features().global_sink_default
    expected, keeps = predict_sequence(graph, sequence, active, defaults_global)
    assert kept == keeps, f"caller's global sink kept: model {keeps}, stageflow {kept}"
    for i, (mine, theirs) in enumerate(zip(expected, results, strict=True)):
        assert mine == theirs, (
            f"RunResult {i} of {sequence} differs for {graph}\n"
            f"  model:     {mine}\n  stageflow: {theirs}\n  adopted: {sorted(active) or 'none'}"
        )


def runner_leaves_its_sink_global(sf: ModuleType) -> bool:
    from stageflow.helpers.run_utils import PipelineRunner

    class Mine:
        async def emit(self, *, type: str, data: Any) -> None: ...

        def try_emit(self, *, type: str, data: Any) -> None: ...

    async def ok(ctx: Any) -> Any:
        return sf.StageOutput.ok()

    async def main() -> bool:
        mine = Mine()
        sf.set_event_sink(mine)
        graph = sf.Pipeline().with_stage("a", ok, sf.StageKind.TRANSFORM).build()
        result = await PipelineRunner(verbose=False).run(graph, input_text="x")
        captured = len(result.events)
        # Any later event sent "through the current sink" (docs/api/events.md, emit_event).
        await sf.events.emit_event(type="custom.later", data={})
        return sf.get_event_sink() is not mine and len(result.events) > captured

    return asyncio.run(main())


FINDINGS = [
    Finding(
        RUNNER_KEEPS_GLOBAL_SINK,
        "PipelineRunner.run replaces the caller's global event sink for good: later runs' "
        "events land in an old RunResult",
        releases(),
        CHECK,
        "Reasonable expectation: PipelineRunner promises 'Automatic event sink setup' and "
        "docs/api/helpers.md:6 'helper-managed event capture'; RunResult.events is 'Captured "
        "events from the run'; set_event_sink (docs/api/events.md:93-99) is the caller's.",
        "run() calls set_event_sink(ObservableEventSink(...)) and never restores the previous "
        "sink: after it returns, get_event_sink() is the runner's, and every later event sent "
        "through the current sink (emit_event, or a run whose context names no sink) is "
        "appended to that finished RunResult.events.",
        runner_leaves_its_sink_global,
        basis=expected(
            "A helper that sets up a sink to capture one run's events should leave the caller's "
            "global sink as it found it; instead every later event of the process is appended "
            "to a finished RunResult.",
            ("- Automatic event sink setup", "stageflow/helpers/run_utils.py:338"),
            ("events: Captured events from the run.", "stageflow/helpers/run_utils.py:297"),
        ),
        severity=Severity(
            "medium",
            "silent: later runs' events go to an old result and the caller's sink is "
            "gone for the rest of the process",
        ),
        fix="PipelineRunner.run (stageflow/helpers/run_utils.py:486): restore the previous sink "
        "in a finally (or set it only in a copied contextvars context for the run).",
        applies=has_runner,
    ),
]
# The runner's results rest on the lifecycle model, so its adopted findings hold here too.
run_runner_law = adopting_known(
    runner_law, lambda: [*FINDINGS, *LIFECYCLE_FINDINGS, *KNOWN_ELSEWHERE]
)

CHECKS = [
    Check(
        name=CHECK,
        run=run_runner_law,
        summary="PipelineRunner: repeated runs of one runner and one graph, its event sink",
        applies=applies,
    ),
]
