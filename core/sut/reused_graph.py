"""One built graph (or one ``Pipeline``) the user keeps, run several times through
``PipelineRunner`` with and without hardening, or through ``graph.run`` itself, driven with
:class:`~models.run_helpers.ReuseRun` and read back as what a user sees: each run's success and
the "Immutability violation" records it logged.

Those records are the immutability check's only output: ``run_with_interceptors`` logs an
interceptor's ``after()`` error on the ``interceptors`` logger and lets the stage succeed
(stageflow/pipeline/interceptors.py:551). ``quiet()`` disables that logger, so it is enabled
here for the run, with a handler of its own that counts those records and nothing else.

For example::

    logged = asyncio.run(play_reused_graph("graph", (ReuseRun("both", False, True),)))
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.models.run_helpers import ReuseRun

sf = stageflow_module()
VIOLATION = "Immutability violation"


class _ViolationCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += VIOLATION in record.getMessage()


@contextlib.contextmanager
def _counting_violations() -> Iterator[_ViolationCount]:
    logger = logging.getLogger("interceptors")
    saved = (logger.disabled, logger.propagate)
    counter = _ViolationCount()
    logger.addHandler(counter)
    logger.disabled, logger.propagate = False, False  # counted, not printed
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.disabled, logger.propagate = saved


async def _stage(ctx: Any) -> Any:
    # The snapshot is frozen, its containers are not: the runner shares the list it was given.
    if ctx.snapshot.input_text == "mutate":
        ctx.snapshot.extensions["notes"].append("seen")
    return sf.StageOutput.ok(seen=len(ctx.snapshot.extensions["notes"]))


def _runner(hardening: str) -> Any:
    from stageflow.helpers.run_utils import PipelineRunner

    return PipelineRunner(
        verbose=False,
        enable_immutability_check=hardening in ("immutability", "both"),
        enable_context_size_monitor=hardening in ("size", "both"),
    )


async def play_reused_graph(reused: str, runs: tuple[ReuseRun, ...]) -> list[tuple[bool, int]]:
    """Each run's (success, violations logged), in order; ``reused`` is "graph" (one built
    graph given to every run) or "pipeline" (the ``Pipeline``, which the runner builds)."""
    pipeline = sf.Pipeline().with_stage("a", _stage, sf.StageKind.TRANSFORM)
    kept = pipeline.build() if reused == "graph" else pipeline
    seen = []
    for run in runs:
        runner = _runner(run.hardening)
        snapshot = runner.create_snapshot(
            input_text="mutate" if run.mutates else "keep", extensions={"notes": []}
        )
        with _counting_violations() as counter:
            if run.direct:
                graph = kept if reused == "graph" else kept.build()
                await graph.run(sf.PipelineContext.from_snapshot(snapshot))
                success = True  # graph.run returns its results or raises
            else:
                success = (await runner.run(kept, snapshot=snapshot)).success
        seen.append((success, counter.count))
    return seen
