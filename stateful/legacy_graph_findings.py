"""Known findings about the legacy ``StageGraph`` itself (check ``lifecycle.legacy_graph``).

SF-LIFE-08 was noticed while building the legacy-graph harness, which has to patch ``open`` in
``stageflow.pipeline.dag`` to keep its runs from writing files. Argued against before
registering: the writes are not behind a flag, a logger or an environment variable (they are
bare ``open(..., "a")`` calls in ``StageGraph.run``, ``schedule_stage`` and ``_debug_log``,
stageflow/pipeline/dag.py:42, 148-153, 156-175), ``_debug_log``'s own comment calls it a "debug
utility", and every release from 0.5.0 to 1.2.0 ships them. ``StageGraph`` is deprecated in
1.2.0 (a DeprecationWarning) but still exported, and it was the graph of the 0.5.x releases.
The machine does not adopt this finding: its harness blocks the writes, so no model rule has
to bend.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, expected, releases

DEBUG_FILES = ("/tmp/debug_voice_handler.log", "/tmp/debug_pipeline_dag.log")
PROBE_STAGE = "sf_life_08_probe_stage"


def _applies(sf: ModuleType) -> str | None:
    if not hasattr(sf.pipeline.dag, "StageGraph"):
        return "this stageflow ships no legacy StageGraph"
    return None


def _contents() -> str:
    text = ""
    for path in DEBUG_FILES:
        if os.path.exists(path):
            with open(path) as f:
                text += f.read()
    return text


def stage_graph_writes_debug_files(sf: ModuleType) -> bool:
    class Probe:  # a class with execute(): 0.5.1's StageGraph instantiates every runner
        async def execute(self, ctx: Any) -> Any:
            return sf.StageOutput.ok()

    before = _contents().count(PROBE_STAGE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        spec = sf.pipeline.dag.StageSpec(name=PROBE_STAGE, runner=Probe)
        graph = sf.pipeline.dag.StageGraph([spec])
    ids = dict.fromkeys(("request_id", "session_id", "user_id", "org_id", "interaction_id"))
    asyncio.run(graph.run(sf.PipelineContext(pipeline_run_id=None, **ids)))
    return _contents().count(PROBE_STAGE) > before


FINDINGS = [
    Finding(
        "SF-LIFE-08",
        "Every StageGraph run appends its stage names, statuses and errors to fixed files in /tmp",
        # The writes are in the source of each of these (read, not only run).
        releases(),
        "lifecycle.legacy_graph",
        "Reasonable expectation (no Stageflow sentence covers it): a library writes no files its "
        "user did not configure; Stageflow's own logging goes through `logging` "
        "(logger = logging.getLogger('pipeline_dag'), stageflow/pipeline/dag.py:41).",
        "StageGraph.run opens /tmp/debug_voice_handler.log for append on every run and every "
        "scheduled stage, writing a timestamp and the stage names; _debug_log appends each "
        "stage's completion status, and on a failure the exception's repr, to "
        "/tmp/debug_pipeline_dag.log. Nothing turns this off; the files grow without bound, "
        "are shared by every process and user of the host, and the writes block the event loop.",
        stage_graph_writes_debug_files,
        applies=_applies,
        basis=expected(
            "An exception's repr can carry request data, and /tmp is shared: on a multi-tenant "
            "host one tenant's stage names and errors land in a file every local user can read, "
            "and a file another user created there (or a symlink) receives them. A long-running "
            "service also fills the disk, one line per stage per run, with synchronous writes "
            "on the event loop.",
            ('logger = logging.getLogger("pipeline_dag")', "stageflow/pipeline/dag.py:41"),
        ),
        severity=Severity(
            "medium",
            "silent data exposure and unbounded disk use on every run of the graph 0.5.x "
            "pipelines use; deprecated in 1.2.0 but still shipped",
        ),
        fix="StageGraph.run, schedule_stage and _debug_log (stageflow/pipeline/dag.py:148-175): "
        "remove the file writes, or send them to logger.debug.",
    ),
]
