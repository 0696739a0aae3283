"""DeterministicLoop: the event loop that runs one callback per step, in the chooser's order.

The overview (lanes, choice 0, virtual time, faults, never hanging) is in
:mod:`core.sched.scheduler` and core/sched/SCHEDULER.md; this module is the machinery.
``_run_once`` and ``call_soon`` run for every step, and ``make bench`` holds them to twice the
cost of a stock loop's step, which is why they bind to locals, inline asyncio's ``Handle._run``,
and recognise task callbacks by type before anything slower.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import weakref
from asyncio import format_helpers
from collections.abc import Callable
from concurrent.futures import Executor
from contextvars import Context
from typing import Any, TypeVar, TypeVarTuple

from hypothesis.control import currently_in_test_context, note, should_note

from stageflow_verify.core.sched import timeline
from stageflow_verify.core.sched._ready import (
    BUILTIN_METHOD,
    STEP_TYPES,
    LaneHandle,
    Lanes,
    LaneTimer,
    ReadyQueue,
    task_entry_owner,
)
from stageflow_verify.core.sched._tasks import TaskRegister
from stageflow_verify.core.sched.choosers import FAULT, SCHEDULE, Chooser, ReplayChooser
from stageflow_verify.core.sched.faults import Fault, FaultPlan, fault_options, inject
from stageflow_verify.core.sched.loop_reports import (
    NEXT_RULE_HEADER,
    NOTE_HEADER,
    DeadlockError,
    LivelockError,
    callback_name,
    deadlock_message,
    livelock_message,
    picture_shown,
)
from stageflow_verify.core.sched.task_order import TaskNumbering
from stageflow_verify.core.sched.trace import (
    CALLBACK_STEP,
    FAULT_STEP,
    NO_CHOICE,
    TASK_STEP,
    StepLog,
    Trace,
    render_swimlane,
)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
_LOOP_LANE = -1


class DeterministicLoop(asyncio.BaseEventLoop):
    """An event loop that runs one callback per step, in the order its chooser picks.

    ``chooser`` defaults to ``ReplayChooser([])``: stock asyncio order. ``max_steps`` bounds
    the steps of the loop's whole life. ``detail`` says whether each step records where its
    task suspended (the swimlane's text; a walk of coroutine frames that makes a step about
    twice as expensive) or only lanes and choices (a terse swimlane). The default, None,
    describes exactly when the picture can be shown: always outside Hypothesis, and inside a
    Hypothesis test only in the final replay of the minimal example, the run whose notes
    Hypothesis prints. Exploration runs terse; the reported failure is drawn in full.

    For example::

        loop = DeterministicLoop(HypothesisChooser(data), max_steps=2_000)
        try:
            loop.run_until_complete(main())
        finally:
            loop.finish()
    """

    # asyncio.BaseEventLoop's private state that this loop drives; typeshed does not declare it.
    _ready: collections.deque[Any]  # stays empty: _call_soon files handles by lane
    _scheduled: list[LaneTimer]
    _stopping: bool
    _asyncgens: weakref.WeakSet[Any]
    _check_closed: Callable[[], None]
    _closed: bool
    _debug: bool

    def __init__(
        self,
        chooser: Chooser | None = None,
        *,
        max_steps: int = 10_000,
        faults: FaultPlan | None = None,
        detail: bool | None = None,
    ) -> None:
        super().__init__()
        self.chooser: Chooser = chooser if chooser is not None else ReplayChooser()
        self.max_steps = max_steps
        self.faults = faults
        self.detail = picture_shown() if detail is None else detail
        self._log = StepLog()
        self.trace = Trace(steps=self._log)
        self.unhandled: list[str] = []
        self._tasks = TaskRegister(self.trace.lanes)
        self.tasks = self._tasks.tasks  # by lane: faults and callers pick tasks from it
        self._lane_of, self._register = self._tasks.lane_of, self._tasks.register
        self._now = 0.0
        self._queue = ReadyQueue()
        self._running = _LOOP_LANE
        self._main_lane = -1
        self._batch_left = 0
        self._faults_used = 0
        self._noted_upto = 0
        self._finishing = False
        self.set_exception_handler(_record_unhandled)
        # Tasks hash by creation number, not address: code that iterates a set of tasks (as
        # Stageflow's DAG does) then walks it in an order that depends on the choices alone.
        self.set_task_factory(TaskNumbering())

    # -- time and scheduling -------------------------------------------------------------

    def time(self) -> float:
        return self._now

    def call_soon(
        self, callback: Callable[[*Ts], object], *args: *Ts, context: Context | None = None
    ) -> LaneHandle:
        # Stock call_soon adds Python calls per step (`_check_closed`, and `get_debug` in
        # Handle.__init__); a closed loop and debug mode take it, for its checks and errors.
        if self._closed or self._debug:
            return super().call_soon(callback, *args, context=context)  # type: ignore[return-value]
        return self._call_soon(callback, args, context)

    def _call_soon(self, callback: Callable[..., object], args: Any, context: Any) -> LaneHandle:
        # A task's own step or wakeup goes to its lane; any other callback (including a bound
        # method of a task, such as `task.cancel`) to the lane of the step that scheduled it.
        # This runs for every step, so the common shapes are recognised by type first.
        cls = type(callback)
        if cls in STEP_TYPES or (cls is BUILTIN_METHOD and callback.__name__ == "task_wakeup"):
            owner: Any = callback.__self__  # type: ignore[attr-defined]
        else:
            owner = task_entry_owner(callback)
        if owner is None:
            handle = LaneHandle(callback, args, self, context, self._running, False)
        else:
            lane = self._lane_of.get(owner)
            lane = self._register(owner) if lane is None else lane
            handle = LaneHandle(callback, args, self, context, lane, True)
        self._queue.push(handle)
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: Context | None = None,
    ) -> LaneTimer:
        self._check_closed()
        timer = LaneTimer(when, callback, args, self, context)
        timer.set_at(self._running)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def _run_once(self) -> None:
        # One call runs steps until stop() is requested: the same contract as run_forever's
        # loop around the stock _run_once. This is the hot path (the 2x budget of
        # `make bench`), so what stays fixed during a call is bound to locals once.
        queue, (codes, times) = self._queue, self._log.columns()
        front, back, pop = queue.front, queue.back, queue.pop
        put_codes, put_time = codes.extend, times.append
        choose, faults, detail, budget = (
            self.chooser.choose,
            self.faults,
            self.detail,
            self.max_steps,
        )
        batch_left = self._batch_left
        try:
            # `while True` + `break`, not `while not self._stopping`: CPython 3.11 specializes
            # a function's bytecode after 8 calls or 8 plain backward jumps, and a `while cond`
            # loop jumps back conditionally, so this one call would run unspecialized for its
            # whole life (1.2x the instructions per step, measured with valgrind).
            while True:
                if self._stopping:
                    break
                if batch_left <= 0:
                    # Stock asyncio moves due timers to the ready queue once per batch, a
                    # batch being the handles that were ready when it began; so do we, so that
                    # choice 0 stays exactly the stock order.
                    if self._ready:  # handles put there behind our back, not by asyncio
                        self._adopt_raw_handles()
                    self._promote_due_timers()
                    batch_left = queue.handles()
                # Faults come before the clock moves, so a task can fail while time stands.
                if faults is not None and self._maybe_inject(faults):
                    continue
                options = len(front) + len(back)
                if not options:
                    self._advance_clock()
                    options, batch_left = len(front) + len(back), queue.handles()
                if len(times) >= budget:
                    raise LivelockError(livelock_message(budget), self.trace)
                if options > 1:
                    # Positional: CPython 3.11 does not specialize calls with keywords.
                    choice = choose(options, SCHEDULE, queue)
                    handle = pop(choice)
                else:
                    choice, handle = NO_CHOICE, pop(0)
                batch_left -= 1
                if handle._cancelled:
                    continue
                lane = self._running = handle._lane
                # Handle._run, without its Python frame: a callback's exception goes to the
                # loop's exception handler, and the run goes on.
                try:
                    handle._context.run(handle._callback, *handle._args)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    self._callback_raised(handle, exc)
                self._running = _LOOP_LANE
                if detail:
                    self._record_detail(handle, lane, choice, options)
                else:
                    put_codes((lane, choice, options, handle._task))
                    put_time(self._now)
        finally:
            self._batch_left = batch_left

    def steps_taken(self) -> int:
        """How many steps the loop has run (a watchdog's measure of progress)."""
        return len(self._log)

    def _callback_raised(self, handle: Lanes, exc: BaseException) -> None:
        source = format_helpers._format_callback_source(handle._callback, handle._args)
        context = {"message": f"Exception in callback {source}", "exception": exc, "handle": handle}
        if handle._source_traceback:
            context["source_traceback"] = handle._source_traceback
        self.call_exception_handler(context)

    def _record_detail(self, handle: Lanes, lane: int, choice: int, options: int) -> None:
        # Where the task suspended (or how it ended): a walk of its coroutine frames, a few
        # microseconds a step, so only runs whose picture may be shown pay for it.
        if handle._task:
            was, now = self._tasks.moved(lane)
            self._log.add(lane, self._now, choice, options, TASK_STEP, was, now)
        else:
            self._log.add(lane, self._now, choice, options, CALLBACK_STEP, callback_name(handle))

    def _add_callback(self, handle: asyncio.Handle) -> None:
        # Stock asyncio appends here for I/O and signal callbacks; file them in the loop lane.
        if not handle._cancelled:
            self._ready.append(handle)
            self._adopt_raw_handles()

    def _adopt_raw_handles(self) -> None:
        while self._ready:
            raw = self._ready.popleft()
            handle = LaneHandle(raw._callback, raw._args, self, raw._context, _LOOP_LANE, False)
            self._queue.push(handle)

    def _promote_due_timers(self) -> None:
        scheduled = self._scheduled
        while scheduled and (scheduled[0]._cancelled or scheduled[0]._when <= self._now):
            timer = heapq.heappop(scheduled)
            timer.make_due()
            if not timer._cancelled:
                self._queue.push(timer)

    def _advance_clock(self) -> None:
        while self._scheduled and self._scheduled[0]._cancelled:
            heapq.heappop(self._scheduled)._scheduled = False
        if not self._scheduled:
            raise DeadlockError(self._deadlock_message(), self.trace)
        self._now = max(self._now, self._scheduled[0]._when)
        self._promote_due_timers()

    def _maybe_inject(self, plan: FaultPlan) -> bool:
        if self._faults_used >= plan.max_faults:
            return False
        whens = [t._when for t in self._scheduled if not t._cancelled]
        options = fault_options(
            plan, self.tasks, main_lane=self._main_lane, timer_whens=whens, now=self._now
        )
        if not options:
            return False
        pick = self.chooser.choose(len(options) + 1, kind=FAULT, keys=())
        if pick == 0:
            return False
        fault: Fault = options[pick - 1]
        self._faults_used += 1
        if fault.kind == "expire":
            self._now = fault.when
            self._promote_due_timers()
        else:
            inject(fault, plan, self.tasks)
        text = fault.describe(plan, self._tasks.lane_name)
        self._log.add(fault.lane, self._now, pick, len(options) + 1, FAULT_STEP, "", text)
        return True

    # -- running and finishing -----------------------------------------------------------

    def run_until_complete(self, future: Any) -> Any:
        """Run until ``future`` is done; failures carry the swimlane and the replay expression."""
        try:
            if asyncio.iscoroutine(future) and self._main_lane < 0:
                future = self.create_task(future)
                self._main_lane = self._lane_of.get(future, -1)
            result = super().run_until_complete(future)
        except Exception as exc:
            if not any(note.startswith(NOTE_HEADER) for note in getattr(exc, "__notes__", ())):
                exc.add_note(self._schedule_note())
            if timeline.attached(exc) is None:
                timeline.attach(exc, Trace(self.trace.lanes, self.trace.steps[self._noted_upto :]))
            raise
        # Kept by reference, for a report of a failure raised after this run ended.
        timeline.remember(self.trace, self._noted_upto)
        # A run that passed may still be the one a later invariant or assertion fails on; under
        # Hypothesis, report its schedule with the minimal failing example (rendered only then).
        # It prints inside the stateful program, just above the rule line it belongs to, so
        # comment it out: the program stays runnable.
        if not self._finishing and currently_in_test_context() and should_note():
            lines = self._schedule_note().replace(NOTE_HEADER, NEXT_RULE_HEADER).splitlines()
            note("\n".join(f"# {line}" for line in lines))
        self._noted_upto = len(self.trace.steps)
        return result

    def _schedule_note(self) -> str:
        shown = Trace(self.trace.lanes, self.trace.steps[self._noted_upto :])
        replay = f"Replay: run(main, {self.chooser.replay_hint()})"
        return f"{NOTE_HEADER}\n{render_swimlane(shown)}\n{replay}"

    def finish(self) -> None:
        """Cancel and await every leftover task (stock order, no faults), then close the loop."""
        if self.is_closed():
            return
        self.chooser, self.faults, self._finishing = ReplayChooser(), None, True
        self.max_steps = len(self.trace.steps) + max(self.max_steps, 1_000)
        try:
            leftover = [task for task in self.tasks if not task.done()]
            for task in leftover:
                task.cancel()
            if leftover:
                self.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            self.unhandled += self._tasks.unretrieved_failures()
            if self._asyncgens:
                self.run_until_complete(self.shutdown_asyncgens())
        finally:
            self._queue.clear()
            self.close()

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[*Ts], T], *args: *Ts
    ) -> asyncio.Future[T]:
        # Threads would bring back real nondeterminism; run the function inline, at the call.
        future: asyncio.Future[T] = self.create_future()
        try:
            future.set_result(func(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def _write_to_self(self) -> None:
        pass  # single-threaded: nothing to wake

    def _process_events(self, event_list: Any) -> None:
        pass  # no I/O: there are no events

    def _deadlock_message(self) -> str:
        # Positions described now rather than read from the last step: a terse run kept none.
        return deadlock_message(len(self.trace.steps), self._now, self._tasks.blocked())


def _record_unhandled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if isinstance(loop, DeterministicLoop):
        exc = context.get("exception")
        loop.unhandled.append(context.get("message", "") + (f": {exc!r}" if exc else ""))
