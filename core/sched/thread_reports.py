"""What the thread scheduler reports, and the state it keeps per thread.

:class:`ThreadRunResult` is what a run returns (values, errors, the trace, the choices, and
:meth:`ThreadRunResult.note`, the swimlane plus the replay expression);
:class:`UncontrolledBlockError` is the failure of a thread that blocked where the scheduler
cannot see (the other failures are the asyncio scheduler's ``DeadlockError`` and
``LivelockError``); ``ControlledThread`` is one controlled thread's bookkeeping.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from stageflow_verify.core.sched.loop_reports import NOTE_HEADER, ScheduleFailure
from stageflow_verify.core.sched.thread_locks import ControlledLock, Worker
from stageflow_verify.core.sched.trace import Trace, render_swimlane


class UncontrolledBlockError(ScheduleFailure):
    """A chosen thread never reached its next switch point: it blocked where nobody controls."""


class RunAborted(BaseException):
    """Raised inside a controlled thread to unwind it once the run has failed."""


@dataclass
class ThreadRunResult:
    """What :func:`run_threads` returns: each body's value or error, the trace, the choices."""

    values: dict[str, object]
    errors: dict[str, BaseException]
    trace: Trace
    choices: list[int]
    replay_hint: str = ""

    def note(self) -> str:
        """The swimlane and the replay expression, as the asyncio scheduler prints them."""
        return f"{NOTE_HEADER}\n{render_swimlane(self.trace)}\nReplay: {self.replay_hint}"


@dataclass
class ControlledThread:
    index: int
    name: str
    body: Callable[[], object]
    worker: Worker
    thread: threading.Thread | None = None
    where: str = "start"
    started: bool = False
    done: bool = False
    value: object = None
    error: BaseException | None = None
    waiting_for: ControlledLock | None = field(default=None, repr=False)
    resumed_by: tuple[int | None, int] = (None, 1)  # the decision that let it run: choice, options

    def runnable(self) -> bool:
        lock = self.waiting_for
        return not self.done and (lock is None or lock.free_for(self.worker))


def stack_of(thread: threading.Thread | None) -> str:
    frame = sys._current_frames().get(thread.ident or -1) if thread is not None else None
    lines: list[str] = []
    while frame is not None and len(lines) < 8:
        lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        frame = frame.f_back
    return "\n".join(lines) or "  (no frame: the thread has ended)"
