"""The loop a subpipeline harness's operations run on, owned by one example.

Every harness operation is a coroutine (``core/sut/subpipelines.py``): :class:`Driver` runs them
one at a time, each as a task in the harness's own ``contextvars.Context`` (so it sees the
ambient sink), on a fresh stock loop or on the suite's deterministic loop, and at the end
cancels and awaits whatever is still parked, so that nothing outlives the example.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from stageflow_verify.core.sut.subpipelines import SubpipelineHarness

T = TypeVar("T")


class Driver:
    """Runs harness operations, one ``run`` at a time, on one loop owned by one example.

    ``loop`` defaults to a fresh stock asyncio loop; the machine passes the suite's
    deterministic loop so that the scheduler chooses every interleaving. ``close`` cancels
    whatever is still parked, so nothing outlives the example.
    """

    def __init__(
        self, harness: SubpipelineHarness, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.harness = harness
        self.loop = loop or asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> T:
        task = self.loop.create_task(coro, name=name, context=self.harness.context)
        return self.loop.run_until_complete(task)

    def close(self) -> None:
        try:
            self._close_loop()
        finally:
            self.harness.close()

    def _close_loop(self) -> None:
        finish = getattr(self.loop, "finish", None)
        if finish is not None:  # the deterministic loop cancels and awaits leftovers itself
            finish()
            return
        pending = [r.task for r in self.harness.runs.values() if r.task and not r.task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()
