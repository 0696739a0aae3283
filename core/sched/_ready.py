"""The controlled loop's ready queue: FIFO per lane, chooser's pick across lanes.

asyncio promises that callbacks run in the order they were scheduled, and code relies on it
(``call_soon(a); call_soon(b)``). Tasks, on the other hand, may be resumed in any order real
I/O timing could produce. So each handle belongs to a lane: the task it steps or wakes, or
else the task whose step scheduled it. Handles of one lane keep their FIFO order; the chooser
picks among lanes. Lanes are kept sorted by the age of their oldest handle, so option 0 is
always the global FIFO head: exactly what a stock loop would run next.
"""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import itertools
import sys
from asyncio import events, format_helpers
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextvars import Context
from typing import Any, overload

# Ages of ready handles, shared by every loop: only the order within one loop matters.
_AGES = itertools.count()
# Callback names of a task's own step and wakeup: C Task (TaskStepMethWrapper has no name),
# then the pure-Python Task.
_ENTRIES = frozenset({"", "task_wakeup", "__step", "__wakeup"})
# The C Task's step callback type (TaskStepMethWrapper) is not importable; it is learned the
# first time one is scheduled, so that later steps are recognised by one set lookup.
STEP_TYPES: set[type] = set()
BUILTIN_METHOD = type(len)  # the type of the C Task's `task_wakeup`


class LaneHandle(events.Handle):
    """A ``call_soon`` handle that knows its lane and its age in the ready queue."""

    __slots__ = ("_lane", "_seq", "_task")
    # asyncio's private slots that the loop reads; typeshed does not declare them.
    _callback: Callable[..., object]
    _context: Context
    _source_traceback: Any

    def __init__(
        self,
        callback: Callable[..., object],
        args: Any,
        loop: Any,
        context: Context | None,
        lane: int,
        task: bool,
    ) -> None:
        # Handle.__init__'s fields, set in one call: this runs for every step of a run.
        self._context = contextvars.copy_context() if context is None else context
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._repr = None
        self._source_traceback = (
            format_helpers.extract_stack(sys._getframe(1)) if loop._debug else None
        )
        self._lane = lane
        self._task = task  # a task's own step or wakeup, rather than a plain callback
        self._seq = next(_AGES)


class LaneTimer(events.TimerHandle):
    """A ``call_at`` handle; its lane is the step that set it, its age starts when due.

    Timers due at the same instant fire in the order they were set. Virtual time stands still
    between steps, so two ``call_later(0)`` or two ``sleep(0.1)`` at one instant share a
    deadline exactly; on a stock loop the clock moved on between the two calls, so the first
    one set is due first. A heap alone would break the tie arbitrarily.
    """

    __slots__ = ("_lane", "_seq", "_task")
    _lane: int
    _task: bool
    _seq: int
    _callback: Callable[..., object]
    _context: Context
    _source_traceback: Any
    _scheduled: bool
    _when: float

    def set_at(self, lane: int) -> None:
        """Stamp the lane that set this timer, and its place among timers due with it."""
        self._lane, self._task, self._seq = lane, False, next(_AGES)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, LaneTimer):
            return NotImplemented
        return self._when < other._when or (self._when == other._when and self._seq < other._seq)

    def make_due(self) -> None:
        """Stamp the age at which a stock loop would have moved this timer to its ready queue."""
        self._scheduled = False
        self._seq = next(_AGES)


Lanes = LaneHandle | LaneTimer


class ReadyQueue(Sequence[int]):
    """Runnable lanes, oldest head handle first, each lane with its FIFO of handles.

    As a sequence it is the lanes the chooser picks from: index 0 is the oldest head, the
    stock order. The loop pops index 0 far more often than any other, and at the issue's
    scale (a thousand runnable tasks) a list pays a memmove per pop(0) and a deque a walk
    per pop(i). So the lanes live in two lists, ``front`` (oldest last, popped at its end)
    and ``back`` (newest last): pop(0) is O(1), pop(i) moves ``i`` pointers, and the
    loop takes ``len(front) + len(back)`` as the number of options without a method call.
    Most lanes hold one handle, so the head lives in ``heads`` and only a second handle
    allocates a deque.
    """

    __slots__ = ("_behind", "back", "front", "heads")

    def __init__(self) -> None:
        self.front: list[int] = []
        self.back: list[int] = []
        self.heads: dict[int, Lanes] = {}
        self._behind: dict[int, deque[Lanes]] = {}

    def push(self, handle: Lanes) -> None:
        lane = handle._lane
        if lane in self.heads:
            behind = self._behind.get(lane)
            if behind is None:
                self._behind[lane] = deque((handle,))
            else:
                behind.append(handle)
        else:
            # The newest handle is the youngest head, so appending keeps the order sorted.
            self.heads[lane] = handle
            self.back.append(lane)

    def pop(self, index: int) -> Lanes:
        front = self.front
        if not front:
            front.extend(reversed(self.back))  # in place: the loop holds these lists
            self.back.clear()
        waiting = len(front)
        lane = front.pop(-1 - index) if index < waiting else self.back.pop(index - waiting)
        handle = self.heads.pop(lane)
        if self._behind:
            self._refill(lane)
        return handle

    def _refill(self, lane: int) -> None:
        behind = self._behind.get(lane)
        if behind:
            self.heads[lane] = behind.popleft()
            if not behind:
                del self._behind[lane]
            lanes = list(self)
            bisect.insort(lanes, lane, key=lambda other: self.heads[other]._seq)
            self.front[:] = reversed(lanes)
            self.back.clear()

    def __len__(self) -> int:
        return len(self.front) + len(self.back)

    def handles(self) -> int:
        """How many handles wait, in all lanes: a stock loop's batch (``len(_ready)``)."""
        return len(self.heads) + sum(map(len, self._behind.values()))

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        return list(self)[index]

    def __iter__(self) -> Iterator[int]:
        return itertools.chain(reversed(self.front), self.back)

    def clear(self) -> None:
        self.front.clear()
        self.back.clear()
        self.heads.clear()
        self._behind.clear()


def task_entry_owner(callback: Callable[..., object]) -> asyncio.Task[Any] | None:
    """The task whose own step or wakeup ``callback`` is, or None for any other callback."""
    owner = getattr(callback, "__self__", None)
    if not isinstance(owner, asyncio.Task):
        return None
    name = getattr(callback, "__name__", "")
    if name not in _ENTRIES:
        return None  # a bound method of a task, such as `task.cancel`
    if not name:
        STEP_TYPES.add(callback.__class__)
    return owner
