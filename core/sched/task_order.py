"""Tasks that hash by the order they were created, so sets of tasks iterate the same every run.

Stageflow keeps a run's stage tasks in a set (``active_tasks: set[asyncio.Task]`` in
``UnifiedStageGraph.run``, stageflow/pipeline/dag.py:506) and walks it: ``for task in done``
after ``asyncio.wait`` (dag.py:594) decides which finished stage is handled, and which
dependents are scheduled, first; ``for t in active_tasks: t.cancel()`` (dag.py:601, 736) decides
the order the cancelled tasks wake in. A stock ``Task`` hashes by its address, so that order
changes from one run to the next with whatever else the process allocated, and the lanes the
scheduler offers differ between two runs of the same choices: Hypothesis then stops with
``FlakyStrategyDefinition: Inconsistent data generation`` from ``HypothesisChooser.choose``
(nightly, issue 19). :class:`~core.sched.loop.DeterministicLoop` installs
:class:`TaskNumbering` on itself, so on it every task hashes by its creation number on that loop,
a function of the choices alone (equality stays identity), whatever harness runs there; a stock
loop gets the same from :func:`number_tasks`.

For example::

    async def main():
        number_tasks()  # on a stock loop, before the code under test creates its tasks
        ...
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine, Generator
from contextvars import Context
from typing import Any


class NumberedTask(asyncio.Task[Any]):
    """An ``asyncio.Task`` whose hash is its creation number on its loop."""

    def __init__(
        self,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        *,
        loop: asyncio.AbstractEventLoop,
        number: int,
        context: Context | None = None,
    ) -> None:
        # Set before Task.__init__: it schedules the first step, which already hashes the task.
        self._number = number
        super().__init__(coro, loop=loop, context=context)

    def __hash__(self) -> int:
        return self._number


class TaskNumbering:
    """A task factory numbering the tasks of one loop from 0 (DeterministicLoop installs one)."""

    def __init__(self) -> None:
        self._numbers = itertools.count()

    def __call__(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        **kwargs: Any,
    ) -> NumberedTask:
        return NumberedTask(coro, loop=loop, number=next(self._numbers), **kwargs)


def number_tasks() -> None:
    """Number every task the running loop creates from now on (once per loop; idempotent).

    Each loop counts from 0, so a fresh loop per run (``core.scheduler.run``) numbers a run's
    tasks by the schedule alone.
    """
    loop = asyncio.get_running_loop()
    if not isinstance(loop.get_task_factory(), TaskNumbering):
        loop.set_task_factory(TaskNumbering())
