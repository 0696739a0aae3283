"""Controlled threads: several OS threads, one running at a time, every switch a chooser's choice.

The asyncio scheduler decides which task resumes at each ``await``; this one decides which OS
thread runs at each *switch point*. Every controlled thread installs a ``sys.settrace`` hook on
itself. A switch point is the start of a line (or of a loop iteration, or a call or return) in a
frame of *focus* code, the code under test (``focus_on(stageflow_dir, __file__)``), and every
acquire of a :class:`~core.sched.thread_locks.ControlledLock`. Everything else (the standard
library, the suite's adapter, C code) runs atomically between two switch points, so a switch
happens only where the code under test can see it.

Only one controlled thread runs at a time. It holds the *baton*: at a switch point it parks
(records where, hands the turn back) and waits on a condition until it is chosen again. The
calling thread is the coordinator: it asks the :class:`~core.sched.choosers.Chooser` which
runnable thread goes next. Option 0 is always "the thread that just ran keeps running" (or, when
it cannot, the next one round-robin), so a schedule shrinking toward zeros is one with fewer
preemptions, and Hypothesis, seeded, PCT and replay choosers all apply unchanged (PCT gets each
thread's index as its key). The chooser is only ever called from the coordinator, so
``HypothesisChooser`` draws from the test's own thread.

Never hangs. A thread waiting for a controlled lock another thread holds is not runnable; no
runnable thread while some are unfinished is :class:`DeadlockError`; more than ``max_steps``
switches is :class:`LivelockError`; a chosen thread that does not reach its next switch point
within ``wait_seconds`` of wall time (blocked in a real lock, a ``select``, a ``sleep``) is
:class:`UncontrolledBlockError`, naming where it is stuck. Every wait on the baton has that
timeout too. After any of these the other threads are aborted at their next switch point
(and left as daemons if even that never comes).

A thread may run its own event loop: ``run(coro, detail=False)`` from :mod:`core.sched.scheduler`
gives it a :class:`~core.sched.loop.DeterministicLoop` whose step machinery is outside the focus
(atomic), while the coroutines it steps are traced like any other frame. Such a loop finds
"nothing runnable" at once and raises its own ``DeadlockError``: what a real loop does, which
sleeps in ``select`` until a ``call_soon_threadsafe`` that a non-thread-safe ``set_result`` from
another thread never makes.

For example::

    result = run_threads([("writer", write), ("reader", read)], SeededChooser(seed=1),
                         focus=focus_on(__file__))
    result.errors, result.trace, result.choices   # replay: ReplayChooser(result.choices)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from core.sched.choosers import SCHEDULE, Chooser, ReplayChooser
from core.sched.loop_reports import NOTE_HEADER, DeadlockError, LivelockError, ScheduleFailure
from core.sched.thread_locks import ControlledLock, Focus, Worker, focus_on
from core.sched.trace import TASK_STEP, StepLog, Trace, render_swimlane

__all__ = [
    "ControlledLock",
    "DeadlockError",
    "LivelockError",
    "ThreadRunResult",
    "ThreadScheduler",
    "UncontrolledBlockError",
    "focus_on",
    "run_threads",
]

WAIT_SECONDS = 5.0  # a switch point is microseconds away; five seconds means blocked


class UncontrolledBlockError(ScheduleFailure):
    """A chosen thread never reached its next switch point: it blocked where nobody controls."""


class _Aborted(BaseException):
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
class _Thread:
    index: int
    name: str
    body: Callable[[], object]
    worker: Worker
    thread: threading.Thread | None = None
    where: str = "start"
    done: bool = False
    value: object = None
    error: BaseException | None = None
    waiting_for: ControlledLock | None = field(default=None, repr=False)

    def runnable(self) -> bool:
        return not self.done and (
            self.waiting_for is None or self.waiting_for.free_for(self.worker)
        )


class ThreadScheduler:
    """One controlled run of several threads; use :func:`run_threads` unless you need the parts."""

    def __init__(
        self,
        chooser: Chooser | None = None,
        *,
        focus: Focus,
        max_steps: int = 10_000,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.chooser: Chooser = chooser if chooser is not None else ReplayChooser()
        self.focus, self.max_steps, self.wait_seconds = focus, max_steps, wait_seconds
        self._cv = threading.Condition()
        self._turn: int | None = None  # the thread allowed to run; None: the coordinator's turn
        self._aborted = False
        self._threads: list[_Thread] = []
        self._current: int | None = None
        self.steps = StepLog()
        self.lanes: dict[int, str] = {}

    # ----------------------------------------------------------------- the coordinator side
    def run(self, bodies: Sequence[tuple[str, Callable[[], object]]]) -> ThreadRunResult:
        for index, (name, body) in enumerate(bodies):
            self._threads.append(_Thread(index, name, body, Worker(self, index)))
            self.lanes[index] = f"T{index} {name}"
        try:
            for t in self._threads:  # each starts and parks at "start", one at a time
                t.thread = threading.Thread(target=self._main, args=(t,), name=t.name, daemon=True)
                self._hand_to(t.index)
                t.thread.start()
                self._await_park(t)
            while (decision := self._choose()) is not None:
                chosen, choice, options = decision
                resumed = chosen.where
                self._hand_to(chosen.index)
                self._await_park(chosen)
                # The cell shows where the thread stopped next: the line it is about to run.
                self.steps.add(chosen.index, 0.0, choice, options, TASK_STEP, resumed, chosen.where)
        except BaseException:
            self._abort()
            raise
        self._join()
        return ThreadRunResult(
            {t.name: t.value for t in self._threads if t.error is None},
            {t.name: t.error for t in self._threads if t.error is not None},
            Trace(dict(self.lanes), self.steps),
            list(self.chooser.choices),
            f"run_threads(bodies, {self.chooser.replay_hint()})",
        )

    def _choose(self) -> tuple[_Thread, int | None, int] | None:
        live = [t for t in self._threads if not t.done]
        if not live:
            return None
        runnable = self._in_preference_order([t for t in live if t.runnable()])
        if not runnable:
            blocked = "\n".join(f"  {self.lanes[t.index]} at {t.where}" for t in live)
            raise self._failure(DeadlockError, f"deadlock: no thread can run. Blocked:\n{blocked}")
        if len(self.steps) >= self.max_steps:
            raise self._failure(
                LivelockError,
                f"step budget exhausted: {self.max_steps} switch points passed and threads "
                "are still running (a spin loop, or raise max_steps)",
            )
        choice = 0
        if len(runnable) > 1:
            keys = [t.index for t in runnable]
            choice = self.chooser.choose(len(runnable), SCHEDULE, keys)
        chosen = runnable[choice]
        self._current = chosen.index
        return chosen, (None if len(runnable) == 1 else choice), len(runnable)

    def _in_preference_order(self, runnable: list[_Thread]) -> list[_Thread]:
        # Option 0 continues the thread that just ran; then round-robin from it, so the
        # options keep one order between runs and a zero never preempts.
        start = self._current if self._current is not None else 0
        n = len(self._threads)
        return sorted(runnable, key=lambda t: (t.index - start) % n)

    def _hand_to(self, index: int) -> None:
        with self._cv:
            self._turn = index
            self._cv.notify_all()

    def _await_park(self, t: _Thread) -> None:
        with self._cv:
            if not self._cv.wait_for(lambda: self._turn is None, timeout=self.wait_seconds):
                raise self._failure(
                    UncontrolledBlockError,
                    f"{self.lanes[t.index]} was chosen and did not reach a switch point within "
                    f"{self.wait_seconds:g} s: it blocks outside the scheduler's control (a real "
                    f"lock, I/O, a sleep, a loop's select). It is at:\n{_stack_of(t.thread)}",
                )

    def _failure(self, kind: type[ScheduleFailure], message: str) -> ScheduleFailure:
        exc = kind(message, Trace(dict(self.lanes), self.steps))
        exc.add_note(
            f"{NOTE_HEADER}\n{render_swimlane(exc.trace)}\n"
            f"Replay: run_threads(bodies, {self.chooser.replay_hint()})"
        )
        return exc

    def _abort(self) -> None:
        with self._cv:
            self._aborted = True
            self._cv.notify_all()
        self._join()

    def _join(self) -> None:
        for t in self._threads:
            if t.thread is not None:
                t.thread.join(self.wait_seconds)

    # ----------------------------------------------------------------- the thread side
    def _main(self, t: _Thread) -> None:
        try:
            t.worker.enter()
            self.park(t.index, "start")
            sys.settrace(self._tracer(t.index))
            t.value = t.body()
        except _Aborted:
            pass
        except BaseException as exc:  # the body's own failure: reported, not re-raised here
            t.error = exc
        finally:
            sys.settrace(None)
            with self._cv:
                t.done, t.where = True, "finished" if t.error is None else f"raised {t.error!r}"
                self._turn = None
                self._cv.notify_all()

    def park(self, index: int, where: str) -> None:
        """Give the turn back at a switch point and wait until this thread is chosen again."""
        t = self._threads[index]
        with self._cv:
            t.where = where
            if self._turn == index:
                self._turn = None
                self._cv.notify_all()
            while self._turn != index and not self._aborted:
                # The coordinator always answers within its own timeout or aborts; this
                # bound only matters if the coordinator itself died.
                if not self._cv.wait(self.wait_seconds * 4) and self._turn != index:
                    self._aborted = True
            if self._aborted:
                raise _Aborted

    def block_on(self, index: int, lock: ControlledLock, where: str) -> None:
        """Park until ``lock`` is free for this thread: not runnable before that."""
        self._threads[index].waiting_for = lock
        try:
            self.park(index, where)
        finally:
            self._threads[index].waiting_for = None

    def _tracer(self, index: int) -> Callable[[FrameType, str, Any], Any]:
        focus, park = self.focus, self.park

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "line":
                park(index, f"{frame.f_code.co_name}:{frame.f_lineno}")
            return local

        def on_call(frame: FrameType, event: str, arg: Any) -> Any:
            return local if focus(frame.f_code) else None

        return on_call


def run_threads(
    bodies: Sequence[tuple[str, Callable[[], object]]],
    chooser: Chooser | None = None,
    *,
    focus: Focus,
    max_steps: int = 10_000,
    wait_seconds: float = WAIT_SECONDS,
) -> ThreadRunResult:
    """Run each ``(name, body)`` in its own controlled thread until all finish; see the module."""
    scheduler = ThreadScheduler(
        chooser, focus=focus, max_steps=max_steps, wait_seconds=wait_seconds
    )
    return scheduler.run(bodies)


def _stack_of(thread: threading.Thread | None) -> str:
    frame = sys._current_frames().get(thread.ident or -1) if thread is not None else None
    lines: list[str] = []
    while frame is not None and len(lines) < 8:
        lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        frame = frame.f_back
    return "\n".join(lines) or "  (no frame: the thread has ended)"
