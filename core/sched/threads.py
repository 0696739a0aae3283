"""Controlled threads: several OS threads, one running at a time, every switch a chooser's choice.

The asyncio scheduler decides which task resumes at each ``await``; this one decides which OS
thread runs at each *switch point*: each ``line`` event (a new line, or a loop's next
iteration; with ``opcodes=True``, each bytecode, where a ``+=`` can lose an update) that a
per-thread ``sys.settrace`` hook sees in a frame of *focus* code (the code under test:
``focus_on(stageflow_dir, __file__)``), and each acquire of a
:class:`~core.sched.thread_locks.ControlledLock`. Everything else (the standard library, the
suite's adapter, C code) runs atomically between two switch points.

Only one controlled thread runs at a time: the one holding the *baton*. At a switch point it
records the step and asks the :class:`~core.sched.choosers.Chooser` who runs next (under one
condition variable, so choices are serialised, and replayed in the same order); if another
thread is chosen it hands over and waits. Option 0 is always "the thread that just ran goes
on" (or, when it cannot, the next one round-robin), so a schedule shrinking toward zeros has
fewer preemptions, and the Hypothesis, seeded, PCT and replay choosers all apply unchanged
(PCT gets thread indices as keys). The calling thread only starts the threads and watches.

*Preemptions are rare by default*: preempting a thread that could go on is a ``kind=FAULT``
choice (0 = go on, fired with the chooser's ``fault_rate``), so runs come in bursts that cross
critical sections; ``preempt_as=SCHEDULE`` asks every switch point as a schedule choice (uniform
when seeded, textbook PCT with ``PCTChooser``). core/sched/SCHEDULER.md measures the difference.

Never hangs. A thread waiting for a controlled lock another holds is not runnable; none
runnable while some are unfinished is :class:`DeadlockError`; more than ``max_steps`` switch
points is :class:`LivelockError`; no switch point for ``wait_seconds`` of wall time (a thread
blocked in a real lock, a ``select``, a ``sleep``) is :class:`UncontrolledBlockError`, naming
where. The other threads are then aborted at their next switch point (daemons if never).

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
from types import FrameType
from typing import Any

from stageflow_verify.core.sched import timeline
from stageflow_verify.core.sched.choosers import FAULT, SCHEDULE, Chooser, ReplayChooser
from stageflow_verify.core.sched.loop_reports import (
    NOTE_HEADER,
    DeadlockError,
    LivelockError,
    ScheduleFailure,
)
from stageflow_verify.core.sched.thread_locks import ControlledLock, Focus, Worker
from stageflow_verify.core.sched.thread_reports import (
    ControlledThread,
    RunAborted,
    ThreadRunResult,
    UncontrolledBlockError,
    stack_of,
)
from stageflow_verify.core.sched.trace import TASK_STEP, StepLog, Trace, render_swimlane

WAIT_SECONDS = 5.0  # a switch point is microseconds away; five seconds means blocked


class ThreadScheduler:
    """One controlled run of several threads; use :func:`run_threads` unless you need the parts.

    The baton passes between the threads themselves: at a switch point the running thread
    makes the next decision, and keeps running when it is chosen again (the common case), with
    no context switch at all. The calling thread only starts the threads, then watches that
    steps keep coming (``wait_seconds``) and collects a failure any thread recorded.
    """

    def __init__(
        self,
        chooser: Chooser | None = None,
        *,
        focus: Focus,
        max_steps: int = 10_000,
        wait_seconds: float = WAIT_SECONDS,
        preempt_as: str = FAULT,
        opcodes: bool = False,
    ) -> None:
        self.chooser: Chooser = chooser if chooser is not None else ReplayChooser()
        self.focus, self.max_steps, self.wait_seconds = focus, max_steps, wait_seconds
        self.preempt_as, self.opcodes = preempt_as, opcodes
        self._cv = threading.Condition()
        self._turn: int | None = None  # the thread holding the baton
        self._aborted = False
        self._failure: BaseException | None = None
        self._threads: list[ControlledThread] = []
        self._current: int | None = None
        self.steps = StepLog()
        self.lanes: dict[int, str] = {}

    # ----------------------------------------------------------------- the calling thread
    def run(self, bodies: Sequence[tuple[str, Callable[[], object]]]) -> ThreadRunResult:
        for index, (name, body) in enumerate(bodies):
            self._threads.append(ControlledThread(index, name, body, Worker(self, index)))
            self.lanes[index] = f"T{index} {name}"
        try:
            for t in self._threads:  # each starts and waits at "start", one at a time
                t.thread = threading.Thread(target=self._main, args=(t,), name=t.name, daemon=True)
                t.thread.start()
                self._watch(lambda t=t: t.started, t)  # type: ignore[misc]
            with self._cv:
                self._pass_baton()
            self._watch(lambda: all(t.done for t in self._threads), None)
        except BaseException as exc:
            for lane in self._abort():
                exc.add_note(f"{lane} did not end after the run was aborted (a daemon now)")
            raise
        lingering = self._join()
        if lingering:  # a finished run whose thread lingers would leak it into later examples
            message = f"{lingering} did not end after its body"
            raise self._failure_of(UncontrolledBlockError, message)
        return ThreadRunResult(
            {t.name: t.value for t in self._threads if t.error is None},
            {t.name: t.error for t in self._threads if t.error is not None},
            Trace(dict(self.lanes), self.steps),
            list(self.chooser.choices),
            f"run_threads(bodies, {self.chooser.replay_hint()})",
        )

    def _watch(self, finished: Callable[[], bool], starting: ControlledThread | None) -> None:
        """Wait until ``finished``, raising a thread's recorded failure, or the baton holder's
        silence: no step for ``wait_seconds`` means it blocked outside our control."""
        with self._cv:
            while not finished():
                if self._failure is not None:
                    raise self._failure
                seen = len(self.steps)
                if not self._cv.wait(self.wait_seconds) and len(self.steps) == seen:
                    if finished() or self._failure is not None:
                        continue
                    holder = starting or self._threads[self._turn or 0]
                    raise self._failure_of(
                        UncontrolledBlockError,
                        f"{self.lanes[holder.index]} holds the baton and reached no switch point "
                        f"within {self.wait_seconds:g} s: it blocks outside the scheduler's "
                        "control (a real lock, I/O, a sleep, a loop's select). It is at:\n"
                        + stack_of(holder.thread),
                    )
            if self._failure is not None:
                raise self._failure

    def _abort(self) -> list[str]:
        with self._cv:
            self._aborted = True
            self._cv.notify_all()
        return self._join()

    def _join(self) -> list[str]:
        """Join every thread (each within ``wait_seconds``): the lanes of those still alive."""
        for t in self._threads:
            if t.thread is not None:
                t.thread.join(self.wait_seconds)
        return [self.lanes[t.index] for t in self._threads if t.thread and t.thread.is_alive()]

    # ----------------------------------------------------------------- decisions (baton held)
    def _pass_baton(self) -> None:
        """Choose who runs next and hand it the baton (the caller holds ``_cv``)."""
        live = [t for t in self._threads if not t.done]
        if not live:
            self._turn = None
            self._cv.notify_all()
            return
        runnable = self._in_preference_order([t for t in live if t.runnable()])
        if not runnable:
            blocked = "\n".join(f"  {self.lanes[t.index]} at {t.where}" for t in live)
            raise self._failure_of(
                DeadlockError, f"deadlock: no thread can run. Blocked:\n{blocked}"
            )
        if len(self.steps) >= self.max_steps:
            raise self._failure_of(
                LivelockError,
                f"step budget exhausted: {self.max_steps} switch points passed and threads "
                "are still running (a spin loop, or raise max_steps)",
            )
        choice = 0
        if len(runnable) > 1:
            keys = [t.index for t in runnable]
            # Preempting a thread that could go on is a rarer, fault-like choice (see module).
            kind = self.preempt_as if runnable[0].index == self._current else SCHEDULE
            choice = self.chooser.choose(len(runnable), kind, keys)
        chosen = runnable[choice]
        chosen.resumed_by = (None if len(runnable) == 1 else choice, len(runnable))
        self._current = self._turn = chosen.index
        self._cv.notify_all()

    def _in_preference_order(self, runnable: list[ControlledThread]) -> list[ControlledThread]:
        # Option 0 continues the thread that just ran; then round-robin from it, so the
        # options keep one order between runs and a zero never preempts.
        start = self._current if self._current is not None else 0
        n = len(self._threads)
        return sorted(runnable, key=lambda t: (t.index - start) % n)

    def _failure_of(self, kind: type[ScheduleFailure], message: str) -> ScheduleFailure:
        exc = kind(message, Trace(dict(self.lanes), self.steps))
        exc.add_note(
            f"{NOTE_HEADER}\n{render_swimlane(exc.trace)}\n"
            f"Replay: run_threads(bodies, {self.chooser.replay_hint()})"
        )
        timeline.attach(exc, exc.trace)
        return exc

    # ----------------------------------------------------------------- the controlled threads
    def _main(self, t: ControlledThread) -> None:
        try:
            t.worker.enter()
            with self._cv:
                t.started = True
                self._cv.notify_all()
                self._await_turn(t)
            sys.settrace(self._tracer(t.index))
            t.value = t.body()
        except RunAborted:
            pass
        except BaseException as exc:  # the body's own failure: reported, not re-raised here
            t.error = exc
        finally:
            sys.settrace(None)
            with self._cv:
                t.done = True
                if not self._aborted:
                    self._step_over(t, "finished" if t.error is None else f"raised {t.error!r}")

    def park(self, index: int, where: str) -> None:
        """A switch point: record the step, decide who runs next, wait if it is not us."""
        t = self._threads[index]
        with self._cv:
            if self._aborted:
                raise RunAborted
            self._step_over(t, where)
            self._await_turn(t)

    def _step_over(self, t: ControlledThread, where: str) -> None:
        # One step: the thread ran from where it resumed to here (the swimlane's cell).
        choice, options = t.resumed_by
        self.steps.add(t.index, 0.0, choice, options, TASK_STEP, t.where, where)
        t.where = where
        try:
            self._pass_baton()
        except BaseException as exc:  # a failed run, or the chooser gave up: stop everyone
            self._failure = self._failure or exc
            self._aborted = True
            self._cv.notify_all()

    def _await_turn(self, t: ControlledThread) -> None:
        while self._turn != t.index and not self._aborted:
            seen = len(self.steps)
            # The caller watches the run; this bound only matters if the caller itself died.
            if not self._cv.wait(self.wait_seconds * 4) and len(self.steps) == seen:
                self._aborted = True
        if self._aborted:
            raise RunAborted

    def block_on(self, index: int, lock: ControlledLock, where: str) -> None:
        """Park until ``lock`` is free for this thread: not runnable before that."""
        self._threads[index].waiting_for = lock
        try:
            self.park(index, where)
        finally:
            self._threads[index].waiting_for = None

    def _tracer(self, index: int) -> Callable[[FrameType, str, Any], Any]:
        focus, park, opcodes = self.focus, self.park, self.opcodes
        switch_event = "opcode" if opcodes else "line"

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == switch_event:
                where = f"{frame.f_code.co_name}:{frame.f_lineno}"
                park(index, f"{where}@{frame.f_lasti}" if opcodes else where)
            return local

        def on_call(frame: FrameType, event: str, arg: Any) -> Any:
            if not focus(frame.f_code):
                return None
            frame.f_trace_opcodes = opcodes
            return local

        return on_call


def run_threads(
    bodies: Sequence[tuple[str, Callable[[], object]]],
    chooser: Chooser | None = None,
    *,
    focus: Focus,
    max_steps: int = 10_000,
    wait_seconds: float = WAIT_SECONDS,
    preempt_as: str = FAULT,
    opcodes: bool = False,
) -> ThreadRunResult:
    """Run each ``(name, body)`` in its own controlled thread until all finish; see the module."""
    return ThreadScheduler(
        chooser,
        focus=focus,
        max_steps=max_steps,
        wait_seconds=wait_seconds,
        preempt_as=preempt_as,
        opcodes=opcodes,
    ).run(bodies)
