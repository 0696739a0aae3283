"""Findings about the ``Pipeline`` builder (check ``pipelines.builder``), each with its
reproducer: plain Stageflow code that prints ``VIOLATION: ...`` and returns True while the
violation is there.

SF-PIPE-01 was argued against before registering: 0.5.0-0.9.6's ``Pipeline.build`` only
refuses an empty pipeline (pipeline.py, ``if not self.stages: raise ValueError``), and
``UnifiedStageGraph.__init__`` checks nothing else, while the docstring promises dependency
validation; 1.0.0 added pipeline/validation.py.
"""

from __future__ import annotations

import asyncio
import importlib.util
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, releases
from stageflow_verify.models import pipeline_builder as builder_model

BUILDER_CHECK = "pipelines.builder"


def builder_without_validation(sf: ModuleType) -> str | None:
    # 1.0.0 moved build()'s checks into pipeline/validation.py; where that module exists the
    # code path this finding is about is gone (its row is N/A there, the law judges build()).
    if importlib.util.find_spec("stageflow.pipeline.validation") is not None:
        return "this stageflow's Pipeline.build validates dependencies (pipeline/validation.py)"
    return None


def builds_what_it_cannot_run(sf: ModuleType) -> bool:
    async def ok(ctx: Any) -> Any:
        return sf.StageOutput.ok()

    async def main() -> bool:
        kind = sf.StageKind.TRANSFORM
        shapes = {
            # "a" depends on a stage nobody added
            "a dependency on a missing stage": sf.Pipeline().with_stage("a", ok, kind, ("ghost",)),
            # "a" and "b" depend on each other
            "a cycle": sf.Pipeline()
            .with_stage("a", ok, kind, ("b",))
            .with_stage("b", ok, kind, ("a",)),
        }
        accepted = []
        for shape, pipeline in shapes.items():
            try:
                pipeline.build()  # should refuse: the docstring promises the dependencies
            except Exception:
                continue
            accepted.append(shape)
        if accepted:
            print(f"VIOLATION: SF-PIPE-01: build() accepted {' and '.join(accepted)}")
        return bool(accepted)

    return asyncio.run(main())


BUILDER_FINDINGS = [
    Finding(
        builder_model.UNBUILDABLE,
        "Pipeline.build() accepts a dependency on a missing stage, or a cycle: the run "
        "deadlocks instead",
        releases("0.5.0", "0.9.6"),
        BUILDER_CHECK,
        "Pipeline.build(): 'Validates that at least one stage exists and dependencies are "
        "resolvable' and raises 'If pipeline is empty or dependencies are invalid'.",
        "build() checks only that the pipeline is not empty; a dependency on a missing stage, "
        "or a cycle, builds, and every run of the graph raises RuntimeError('Deadlocked stage "
        "graph; remaining stages: [...]') after running whatever it could. 1.0.0 validates.",
        builds_what_it_cannot_run,
        symptoms=("a dependency on a missing stage builds", "a cycle builds"),
        basis=documented(
            (
                "Validates that at least one stage exists and dependencies",
                "stageflow/pipeline/pipeline.py:255",
            ),
        ),
        severity=Severity(
            "medium",
            "a loud failure, one run later than promised, after the stages that could run ran",
        ),
        fix="Pipeline.build (stageflow/pipeline/pipeline.py): validate the dependencies and "
        "cycles before building, as 1.0.0's pipeline/validation.py does.",
        applies=builder_without_validation,
    ),
]

FINDINGS = BUILDER_FINDINGS
