"""The controlled loop's ready queue: FIFO per lane, chooser's pick across lanes.

asyncio promises that callbacks run in the order they were scheduled, and code relies on it
(``call_soon(a); call_soon(b)``). Tasks, on the other hand, may be resumed in any order real
I/O timing could produce. So each handle belongs to a lane: the task it steps or wakes, or
else the task whose step scheduled it. Handles of one lane keep their FIFO order; the chooser
picks among lanes. Lanes are kept sorted by the age of their oldest handle, so option 0 is
always the global FIFO head: exactly what a stock loop would run next.
"""

from __future__ import annotations

import bisect
from asyncio import events
from collections import deque
from collections.abc import Callable
from contextvars import Context


class LaneHandle(events.Handle):
    __slots__ = ("_kind", "_lane", "_seq")
    _lane: int
    _kind: str
    _seq: int
    # asyncio's private slots that the loop reads; typeshed does not declare them.
    _callback: Callable[..., object]
    _context: Context


class LaneTimer(events.TimerHandle):
    __slots__ = ("_kind", "_lane", "_seq")
    _lane: int
    _kind: str
    _seq: int
    _callback: Callable[..., object]
    _context: Context
    _scheduled: bool
    _when: float


Lanes = LaneHandle | LaneTimer


class ReadyQueue:
    """Runnable lanes in ``order`` (oldest head handle first), each with its FIFO of handles.

    The hot path of the loop reads ``order`` directly and calls :meth:`pop`; most lanes hold
    one handle, so the head lives in ``heads`` and only a second handle allocates a deque.
    """

    __slots__ = ("_extra", "_seq", "heads", "order")

    def __init__(self) -> None:
        self.order: list[int] = []
        self.heads: dict[int, Lanes] = {}
        self._extra: dict[int, deque[Lanes]] = {}
        self._seq = 0

    def push(self, handle: Lanes) -> None:
        handle._seq = self._seq
        self._seq += 1
        lane = handle._lane
        if lane in self.heads:
            extra = self._extra.get(lane)
            if extra is None:
                self._extra[lane] = deque((handle,))
            else:
                extra.append(handle)
        else:
            # The newest handle is the youngest head, so appending keeps `order` sorted.
            self.heads[lane] = handle
            self.order.append(lane)

    def pop(self, index: int) -> Lanes:
        lane = self.order.pop(index)
        handle = self.heads.pop(lane)
        extra = self._extra.get(lane)
        if extra:
            self.heads[lane] = extra.popleft()
            if not extra:
                del self._extra[lane]
            bisect.insort(self.order, lane, key=lambda other: self.heads[other]._seq)
        return handle

    def clear(self) -> None:
        self.order.clear()
        self.heads.clear()
        self._extra.clear()
