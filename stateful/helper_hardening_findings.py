"""SF-HELP-05, a finding of the check ``helpers.run_utils`` beside
``stateful/helper_findings.py`` (which keeps SF-HELP-01..04 under 300 lines): the runner's
hardening stays on a built graph the user keeps.

Argued against before registering: from 0.9.6, run() assigns ``graph._interceptors = hardening
+ current_interceptors`` on the graph it was given (run_utils.py:550-551) and never restores
it; a ``Pipeline`` or specs are built anew each run, so only a kept built graph accumulates.
The runs still succeed (run_with_interceptors logs an interceptor's after() error and goes on,
interceptors.py:551), so the effect is what the check itself outputs: one logged record per
interceptor the graph carries, and two JSON dumps of the snapshot per stage for each.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, expected, releases
from stageflow_verify.models import run_helpers as model
from stageflow_verify.stateful.helper_findings import (
    CHECK,
    hardening_without_a_stack,
    has_memory_tracker,
)


def hardening_on_a_stack(sf: ModuleType) -> str | None:
    # The runner can harden a graph, and does so by extending the graph's own stack (0.9.6 on).
    if has_memory_tracker(sf):
        return has_memory_tracker(sf)
    if hardening_without_a_stack(sf) is None:
        return "this stageflow's built graph has no interceptor stack (SF-HELP-04 there)"
    return None


def hardening_stays_on_the_graph(sf: ModuleType) -> bool:
    import logging

    from stageflow.helpers.run_utils import PipelineRunner

    # The check's only output: the error run_with_interceptors logs (interceptors.py:551),
    # kept here and not printed.
    logger, logged = logging.getLogger("interceptors"), []
    keep = logging.Handler()
    keep.emit = lambda record: logged.append(record.getMessage())  # type: ignore[method-assign]

    async def mutate(ctx: Any) -> Any:
        if ctx.snapshot.input_text == "mutate":
            ctx.snapshot.extensions["notes"].append("seen")  # frozen snapshot, mutable list
        return sf.StageOutput.ok()

    async def main() -> list[str]:
        graph = sf.Pipeline().with_stage("a", mutate, sf.StageKind.TRANSFORM).build()
        hardened = PipelineRunner(verbose=False, enable_immutability_check=True)
        for _ in range(3):  # three checked runs whose stage mutates nothing
            await hardened.run(graph, snapshot=hardened.create_snapshot(input_text="keep"))
        plain = PipelineRunner(verbose=False)  # a run that asks for no check
        snapshot = plain.create_snapshot(input_text="mutate", extensions={"notes": []})
        await plain.run(graph, snapshot=snapshot)
        return [m for m in logged if "Immutability violation" in m]

    saved = logger.disabled, logger.propagate
    logger.addHandler(keep)
    logger.disabled, logger.propagate = False, False
    try:
        found = asyncio.run(main())
    finally:
        logger.removeHandler(keep)
        logger.disabled, logger.propagate = saved
    if found:
        print(f"VIOLATION: SF-HELP-05: a plain run logged {len(found)} checks: {found[0]}")
    return bool(found)


HARDENING_FINDINGS = [
    Finding(
        model.HARDENING_STAYS,
        "PipelineRunner.run(graph) with a hardening option adds its interceptors to the built "
        "graph for good: later runs of that graph, hardened or not, run one more check per "
        "earlier hardened run",
        releases("0.9.6"),
        CHECK,
        "PipelineRunner: 'enable_immutability_check: Enable deep context immutability "
        "validation (slow).' run(): '# Create a new list to avoid mutating the graph's "
        "defaults', '# We must monkey-patch the graph instance for this run.'",
        "run() sets graph._interceptors = hardening + current_interceptors on the graph it was "
        "given and never restores it. A graph built once and run per request gains an "
        "ImmutabilityInterceptor (two JSON dumps of the snapshot per stage) and a "
        "ContextSizeInterceptor with every hardened run: a later plain run (runner or "
        "graph.run) logs N 'Immutability violation' errors after N hardened runs, a hardened "
        "run N+1, and each stage's cost grows with the number of runs, without bound.",
        hardening_stays_on_the_graph,
        basis=expected(
            "Hardening is an option of the runner, and run() itself says it patches the graph "
            "'for this run' and avoids 'mutating the graph's defaults'; a user who builds a "
            "graph once and reuses it expects a run by another runner (or graph.run) to check "
            "nothing, and a hardened run to check once.",
            (
                "We must monkey-patch the graph instance for this run.",
                "stageflow/helpers/run_utils.py:547",
            ),
            (
                "Create a new list to avoid mutating the graph's defaults",
                "stageflow/helpers/run_utils.py:535",
            ),
        ),
        severity=Severity(
            "medium",
            "silent and unbounded on a plausible path (a graph built once, run per request): "
            "each stage's cost and the interceptor list grow with every hardened run",
        ),
        fix="PipelineRunner.run (stageflow/helpers/run_utils.py:550): run a copy of the "
        "graph with the merged interceptors (UnifiedStageGraph(specs, interceptors=...)), or "
        "restore graph._interceptors in a finally block after graph.run.",
        applies=hardening_on_a_stack,
    )
]

FINDINGS = HARDENING_FINDINGS
