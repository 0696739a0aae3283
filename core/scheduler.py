"""DeterministicLoop: an asyncio event loop whose every scheduling decision is a choice.

asyncio code can only race at suspension points, and a stock loop resumes ready callbacks in
FIFO order, so ``gather`` shows the same interleaving on every run. This loop runs ordinary
asyncio code unchanged (tasks, ``gather``, ``wait_for``, locks, queues, ``TaskGroup``,
``call_later``, cancellation) but runs one callback per step, and whenever more than one lane is
runnable it asks a :class:`~core.choosers.Chooser` which. Choice 0 is the stock order, so a
schedule that shrinks toward zeros is one with fewer deviations from ordinary asyncio.

Time is virtual: ``loop.time()`` starts at 0 and, when nothing is runnable, jumps to the next
timer. Sleeps, timeouts and back-off take no wall time and land at exact instants. Faults
(:mod:`core.faults`) are further choices made before steps.

The loop never hangs. Nothing runnable, no timer pending and the awaited future not done is a
:class:`DeadlockError`; more than ``max_steps`` steps is a :class:`LivelockError`. Any exception
leaving ``run_until_complete`` carries a note: the swimlane of the trace (:mod:`core.trace`) and
the chooser expression that replays the run. :func:`run` wraps a fresh loop around one
coroutine, then cancels and awaits leftover tasks and closes the loop, so nothing leaks into
the next example.

For example::

    result = run(main, SeededChooser(seed=3), max_steps=5_000)
    result.value, result.trace, result.choices
"""

from __future__ import annotations

import asyncio
import collections
import functools
import heapq
import re
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import Context
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, TypeVarTuple

from hypothesis.control import currently_in_test_context, note, should_note

from core._ready import LaneHandle, Lanes, LaneTimer, ReadyQueue
from core.choosers import FAULT, SCHEDULE, Chooser, ReplayChooser
from core.faults import Fault, FaultPlan, fault_options, inject
from core.trace import Step, Trace, describe_outcome, describe_suspension, render_swimlane

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
NOTE_HEADER = "Schedule (one lane per task, one row per step):"
_NEXT_RULE_HEADER = "Schedule of the next step (one lane per task, one row per step):"
_DEFAULT_TASK_NAME = re.compile(r"Task-\d+")
_LOOP_LANE = -1
# Callback names of a task's own step and wakeup: C Task (TaskStepMethWrapper has no name),
# then the pure-Python Task.
_ENTRIES = frozenset({"", "task_wakeup", "__step", "__wakeup"})
# Build steps with the C tuple constructor: NamedTuple's generated __new__ costs a Python call
# per step, a visible share of the controlled loop's overhead.
_step = tuple.__new__
_FUTURE_NAMES = {"_GatheringFuture": "gather", "Task": "task"}


class ScheduleFailure(Exception):
    """The run itself failed (not the code under test): it deadlocked or ran out of steps."""

    def __init__(self, message: str, trace: Trace) -> None:
        super().__init__(message)
        # A snapshot: the loop's own trace grows on while leftover tasks are cleaned up.
        self.trace = Trace(dict(trace.lanes), list(trace.steps))


class DeadlockError(ScheduleFailure):
    """Nothing runnable, no timer pending, and the awaited future is not done."""


class LivelockError(ScheduleFailure):
    """The step budget ran out before the awaited future was done."""


class DeterministicLoop(asyncio.BaseEventLoop):
    """An event loop that runs one callback per step, in the order its chooser picks.

    ``chooser`` defaults to ``ReplayChooser([])``: stock asyncio order. ``max_steps`` bounds
    the steps of the loop's whole life. ``detail=False`` records lanes and choices but skips
    describing where tasks suspend (cheaper; the swimlane is then terse).

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

    def __init__(
        self,
        chooser: Chooser | None = None,
        *,
        max_steps: int = 10_000,
        faults: FaultPlan | None = None,
        detail: bool = True,
    ) -> None:
        super().__init__()
        self.chooser: Chooser = chooser if chooser is not None else ReplayChooser()
        self.max_steps = max_steps
        self.faults = faults
        self.detail = detail
        self.trace = Trace()
        self.unhandled: list[str] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self._now = 0.0
        self._queue = ReadyQueue()
        self._lane_of: dict[asyncio.Task[Any], int] = {}
        self._where: list[str] = []
        self._running = _LOOP_LANE
        self._main_lane = -1
        self._batch_left = 0
        self._faults_used = 0
        self._noted_upto = 0
        self._finishing = False
        self.set_exception_handler(_record_unhandled)

    # -- time and scheduling -------------------------------------------------------------

    def time(self) -> float:
        return self._now

    def _call_soon(self, callback: Callable[..., object], args: Any, context: Any) -> LaneHandle:
        handle = LaneHandle(callback, args, self, context)
        owner = getattr(callback, "__self__", None)
        # A task's own step or wakeup goes to its lane; any other callback (including a bound
        # method of a task, such as `task.cancel`) to the lane of the step that scheduled it.
        if isinstance(owner, asyncio.Task) and getattr(callback, "__name__", "") in _ENTRIES:
            lane = self._lane_of.get(owner)
            handle._lane = self._register(owner) if lane is None else lane
            handle._kind = "task"
        else:
            handle._lane, handle._kind = self._running, "callback"
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
        timer._lane, timer._kind = self._running, "callback"
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def _register(self, task: asyncio.Task[Any]) -> int:
        lane = len(self.tasks)
        self.tasks.append(task)
        self._lane_of[task] = lane
        self._where.append("start")
        name = task.get_name()
        if _DEFAULT_TASK_NAME.fullmatch(name):
            name = getattr(task.get_coro(), "__qualname__", "task").rsplit(".", 1)[-1]
        self.trace.lanes[lane] = f"T{lane} {name}"
        return lane

    def _run_once(self) -> None:
        # One call runs steps until stop() is requested: the same contract as run_forever's
        # loop around the stock _run_once, one Python call per step cheaper.
        # Bound once per call (the chooser only changes between runs): this loop is the hot path.
        order, pop, step, choose = (
            self._queue.order,
            self._queue.pop,
            self._step,
            self.chooser.choose,
        )
        while not self._stopping:
            if self._ready:  # handles added behind _call_soon's back (`_add_callback`)
                self._adopt_raw_handles()
            if self._batch_left <= 0:
                # Stock asyncio moves due timers to the ready queue once per batch; so do
                # we, so that choice 0 stays exactly the stock order.
                self._promote_due_timers()
                self._batch_left = len(order)
            # Faults come before the clock moves, so that a task can fail while time stands.
            if self.faults is not None and self._maybe_inject(self.faults):
                continue
            if not order:
                self._advance_clock()
            options = len(order)
            if options > 1:
                choice: int | None = choose(options, kind=SCHEDULE, keys=order)
                handle = pop(choice)  # type: ignore[arg-type]
            else:
                choice = None
                handle = pop(0)
            self._batch_left -= 1
            if not handle._cancelled:
                step(handle, choice, options)

    def _step(self, handle: Lanes, choice: int | None, options: int) -> None:
        steps = self.trace.steps
        if len(steps) >= self.max_steps:
            self._queue.push(handle)
            raise LivelockError(_livelock_message(self.max_steps), self.trace)
        lane = self._running = handle._lane
        if handle._kind != "task":
            handle._run()
            self._running = _LOOP_LANE
            name = _callback_name(handle) if self.detail else ""
            steps.append(
                _step(Step, (len(steps), lane, self._now, choice, options, "callback", name, ""))
            )
            return
        handle._run()
        self._running = _LOOP_LANE
        if not self.detail:
            steps.append(
                _step(Step, (len(steps), lane, self._now, choice, options, "task", "", ""))
            )
            return
        task = self.tasks[lane]
        outcome = (
            describe_outcome(task)
            if task.done()
            else describe_suspension(task.get_coro(), _waiter(task), self._name_of)
        )
        was, self._where[lane] = self._where[lane], outcome
        steps.append(
            _step(Step, (len(steps), lane, self._now, choice, options, "task", was, outcome))
        )

    def _record(self, lane: int, choice: int | None, n: int, kind: str, was: str, now: str) -> None:
        steps = self.trace.steps
        steps.append(Step(len(steps), lane, self._now, choice, n, kind, was, now))

    def _adopt_raw_handles(self) -> None:
        while self._ready:
            raw = self._ready.popleft()
            handle = LaneHandle(raw._callback, raw._args, self, raw._context)
            handle._lane, handle._kind = _LOOP_LANE, "callback"
            self._queue.push(handle)

    def _promote_due_timers(self) -> None:
        scheduled = self._scheduled
        while scheduled and (scheduled[0]._cancelled or scheduled[0]._when <= self._now):
            timer = heapq.heappop(scheduled)
            timer._scheduled = False
            if not timer._cancelled:
                self._queue.push(timer)

    def _advance_clock(self) -> None:
        while self._scheduled and self._scheduled[0]._cancelled:
            heapq.heappop(self._scheduled)._scheduled = False
        if not self._scheduled:
            raise DeadlockError(self._deadlock_message(), self.trace)
        self._now = max(self._now, self._scheduled[0]._when)
        self._promote_due_timers()
        self._batch_left = len(self._queue.order)

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
        text = fault.describe(plan, self._lane_name)
        self._record(fault.lane, pick, len(options) + 1, "fault", "", text)
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
            raise
        # A run that passed may still be the one a later invariant or assertion fails on; under
        # Hypothesis, report its schedule with the minimal failing example (rendered only then).
        # It prints inside the stateful program, just above the rule line it belongs to, so
        # comment it out: the program stays runnable.
        if not self._finishing and currently_in_test_context() and should_note():
            lines = self._schedule_note().replace(NOTE_HEADER, _NEXT_RULE_HEADER).splitlines()
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
            for lane, task in enumerate(self.tasks):
                if task.done() and not task.cancelled() and _unretrieved(task):
                    self.unhandled.append(f"{self._lane_name(lane)}: {task.exception()!r}")
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

    # -- names and messages --------------------------------------------------------------

    def _lane_name(self, lane: int) -> str:
        return self.trace.lanes.get(lane, "loop")

    def _name_of(self, awaited: object) -> str:
        if isinstance(awaited, asyncio.Task) and awaited in self._lane_of:
            return self._lane_name(self._lane_of[awaited]).split(" ", 1)[0]
        return _FUTURE_NAMES.get(type(awaited).__name__, "future")

    def _deadlock_message(self) -> str:
        blocked = [
            f"  {self._lane_name(lane)} at {self._where[lane]}"
            for lane, task in enumerate(self.tasks)
            if not task.done()
        ]
        return (
            f"deadlock at step {len(self.trace.steps)}, t={self._now:g}: no task can run, no "
            "timer is pending, and the awaited future is not done. Blocked:\n"
            + "\n".join(blocked or ["  (no tasks)"])
            + "\nSome lock, event, queue or future is awaited that nothing is left to release; "
            "the swimlane shows how each task got there."
        )


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
    detail: bool = True,
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


def _record_unhandled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if isinstance(loop, DeterministicLoop):
        exc = context.get("exception")
        loop.unhandled.append(context.get("message", "") + (f": {exc!r}" if exc else ""))


def _waiter(task: asyncio.Task[Any]) -> object:
    return getattr(task, "_fut_waiter", None)


def _unretrieved(task: asyncio.Task[Any]) -> bool:
    return bool(getattr(task, "_log_traceback", False))


def _callback_name(handle: Lanes) -> str:
    callback = handle._callback
    if isinstance(callback, functools.partial):
        callback = callback.func
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    return str(name).replace("<locals>.", "").lstrip("_")


def _livelock_message(budget: int) -> str:
    return (
        f"step budget exhausted: {budget} steps ran and the awaited future is not done. Either "
        "tasks keep waking each other without progress (livelock, or a retry loop with no "
        "exit), or the scenario is longer than the budget: then raise max_steps."
    )
