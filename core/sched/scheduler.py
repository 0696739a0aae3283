"""DeterministicLoop: an asyncio event loop whose every scheduling decision is a choice.

asyncio code can only race at suspension points, and a stock loop resumes ready callbacks in
FIFO order, so ``gather`` shows the same interleaving on every run. This loop runs ordinary
asyncio code unchanged (tasks, ``gather``, ``wait_for``, locks, queues, ``TaskGroup``,
``call_later``, cancellation) but runs one callback per step, and whenever more than one lane is
runnable it asks a :class:`~core.sched.choosers.Chooser` which. Choice 0 is the stock order, so a
schedule that shrinks toward zeros is one with fewer deviations from ordinary asyncio.

Time is virtual: ``loop.time()`` starts at 0 and, when nothing is runnable, jumps to the next
timer. Sleeps, timeouts and back-off take no wall time and land at exact instants. Faults
(:mod:`core.sched.faults`) are further choices made before steps.

The loop never hangs. Nothing runnable, no timer pending and the awaited future not done is a
:class:`DeadlockError`; more than ``max_steps`` steps is a :class:`LivelockError`. Any exception
leaving ``run_until_complete`` carries a note: the swimlane of the trace
(:mod:`core.sched.trace`) and the chooser expression that replays the run. :func:`run` wraps a
fresh loop around one coroutine, then cancels and awaits leftover tasks and closes the loop, so
nothing leaks into the next example.

For example::

    result = run(main, SeededChooser(seed=3), max_steps=5_000)
    result.value, result.trace, result.choices
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from stageflow_verify.core.sched.choosers import Chooser
from stageflow_verify.core.sched.faults import FaultPlan
from stageflow_verify.core.sched.loop import DeterministicLoop
from stageflow_verify.core.sched.loop_reports import (
    NOTE_HEADER,
    DeadlockError,
    LivelockError,
    ScheduleFailure,
)
from stageflow_verify.core.sched.trace import Trace

__all__ = [
    "NOTE_HEADER",
    "DeadlockError",
    "DeterministicLoop",
    "LivelockError",
    "RunResult",
    "ScheduleFailure",
    "run",
]

T = TypeVar("T")


@dataclass
class RunResult(Generic[T]):
    """What :func:`run` returns: the value, the trace, the choices, and unhandled errors."""

    value: T
    trace: Trace
    choices: list[int]
    unhandled: list[str] = field(default_factory=list)


def run(
    main: Callable[[], Coroutine[Any, Any, T]] | Coroutine[Any, Any, T],
    chooser: Chooser | None = None,
    *,
    max_steps: int = 10_000,
    faults: FaultPlan | None = None,
    detail: bool | None = None,
) -> RunResult[T]:
    """Run one coroutine on a fresh :class:`DeterministicLoop`, then clean up and close it.

    ``main`` is a coroutine or a function making one. Exceptions of ``main`` propagate with the
    schedule note attached; so do :class:`DeadlockError` and :class:`LivelockError`.

    For example::

        @rule(data=st.data())
        def increment_twice(self, data):
            run(lambda: both(self.counter), HypothesisChooser(data), max_steps=500)
    """
    loop = DeterministicLoop(chooser, max_steps=max_steps, faults=faults, detail=detail)
    used = loop.chooser  # finish() swaps in a stock-order chooser for the clean-up
    coro = main() if callable(main) else main
    try:
        value: T = loop.run_until_complete(coro)
    except BaseException as exc:
        _finish_quietly(loop, exc)
        raise
    loop.finish()
    return RunResult(value, loop.trace, list(used.choices), loop.unhandled)


def _finish_quietly(loop: DeterministicLoop, exc: BaseException) -> None:
    # The run already failed; a second failure while cleaning up is worth a note, not a mask.
    try:
        loop.finish()
    except Exception as cleanup:
        exc.add_note(f"Cleaning up after the failure also failed: {cleanup!r}")
