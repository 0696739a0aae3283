"""How the graph reproducers run a built graph, on every release they run on.

The reproducers of ``graph_interceptor_reproducers`` and ``graph_interleaving_reproducers`` (the
findings of ``stateful/graph_findings.py``), and those of the interceptor and lifecycle findings,
start each run from :func:`_context`, the root context a built graph of the Stageflow under test
runs on: ``PipelineContext.create`` from 1.0.0, a ``PipelineContext`` spelled out on 0.9.5 and
0.9.6 (no ``create()`` there), a root ``StageContext`` on 0.5.1, made as its own PipelineRunner
makes one. :func:`_outcome` runs a graph to its results or the exception it raised, for the
reproducers that only look at how a run ended.

Both are printed into each reproducer script that names them (``core/run/findings_report.py``),
so they use nothing but the standard library and the ``sf`` they are given.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import stageflow_verify.core.sut.graphs  # noqa: F401  (silences Stageflow's per-stage error logs)


def _context(sf: ModuleType, **fields: Any) -> Any:
    """The root context of one run: ``PipelineContext.create`` where it exists; 0.5.1 runs a
    built graph on a root StageContext, made as its own PipelineRunner makes one."""
    if hasattr(sf.PipelineContext, "create"):
        return sf.PipelineContext.create(**fields)
    if hasattr(sf.PipelineContext, "derive_root_stage_context"):
        # 0.9.5 and 0.9.6 run a graph on a PipelineContext but have no create(): build what
        # create() builds, data included (SF-RUN-09's _timeout_ms must reach the interceptor).
        ids = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id")
        unset: dict[str, Any] = dict.fromkeys((*ids, "interaction_id"))
        return sf.PipelineContext(**{**unset, **fields})
    snapshot = sf.context.ContextSnapshot(input_text=fields.get("input_text"))
    root = "__pipeline_root__"
    inputs = sf.create_stage_inputs(snapshot, prior_outputs={}, declared_deps=(), stage_name=root)
    return sf.StageContext(
        snapshot=snapshot, inputs=inputs, stage_name=root, timer=sf.PipelineTimer()
    )


def _outcome(sf: ModuleType, graph: Any, **data: Any) -> Any:
    async def main() -> Any:
        try:
            return await graph.run(_context(sf, data=data))
        except Exception as exc:
            return exc

    return asyncio.run(main())
