"""The tasks of one controlled run: their lanes, their names, and where each one waits.

A task gets a lane the first time one of its callbacks is scheduled, numbered in that order,
so lane numbers are stable across runs of the same schedule (the trace and PCT's priorities
rely on it). Its name in pictures is ``T<lane> <name>``, where a default ``Task-N`` name
(which counts tasks process-wide, so differs between runs) is replaced by the coroutine's.
"""

from __future__ import annotations

import asyncio
import os
import re
import types
from collections.abc import Callable
from typing import Any

# Frames inside asyncio itself say "sleep" or "acquire", which names the primitive a task waits
# on; the innermost frame outside asyncio says which line of the user's code is suspended.
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
_MAX_REPR = 24
_DEFAULT_TASK_NAME = re.compile(r"Task-\d+")
_FUTURE_NAMES = {"_GatheringFuture": "gather", "Task": "task"}


class TaskRegister:
    """Lane numbers and names of a run's tasks; ``names`` is the trace's lane table to fill.

    The loop reads ``lane_of`` directly on every step; everything else here runs once per task
    or only when a step is described.
    """

    def __init__(self, names: dict[int, str]) -> None:
        self.tasks: list[asyncio.Task[Any]] = []
        self.lane_of: dict[asyncio.Task[Any], int] = {}
        self.names = names
        self._where: list[str] = []  # each task's last described position

    def register(self, task: asyncio.Task[Any]) -> int:
        lane = len(self.tasks)
        self.tasks.append(task)
        self.lane_of[task] = lane
        self._where.append("start")
        name = task.get_name()
        if _DEFAULT_TASK_NAME.fullmatch(name):
            name = getattr(task.get_coro(), "__qualname__", "task").rsplit(".", 1)[-1]
        self.names[lane] = f"T{lane} {name}"
        return lane

    def lane_name(self, lane: int) -> str:
        return self.names.get(lane, "loop")

    def name_of(self, awaited: object) -> str:
        """Name what a task awaits: another task by its lane (``T2``), else the future's kind."""
        if isinstance(awaited, asyncio.Task) and awaited in self.lane_of:
            return self.lane_name(self.lane_of[awaited]).split(" ", 1)[0]
        return _FUTURE_NAMES.get(type(awaited).__name__, "future")

    def position(self, lane: int) -> str:
        """Where the lane's task is suspended now (``func:line await primitive``)."""
        task = self.tasks[lane]
        return describe_suspension(task.get_coro(), _waiter(task), self.name_of)

    def moved(self, lane: int) -> tuple[str, str]:
        """After a step of the lane's task: where it resumed from, and where it is now."""
        task = self.tasks[lane]
        now = describe_outcome(task) if task.done() else self.position(lane)
        was, self._where[lane] = self._where[lane], now
        return was, now

    def blocked(self) -> list[tuple[str, str]]:
        """Every unfinished task's name and position, for a deadlock message."""
        return [
            (self.lane_name(lane), self.position(lane))
            for lane, task in enumerate(self.tasks)
            if not task.done()
        ]

    def unretrieved_failures(self) -> list[str]:
        """Tasks that raised where nobody awaited them (asyncio would log these at exit)."""
        return [
            f"{self.lane_name(lane)}: {task.exception()!r}"
            for lane, task in enumerate(self.tasks)
            if task.done() and not task.cancelled() and getattr(task, "_log_traceback", False)
        ]


def _waiter(task: asyncio.Task[Any]) -> object:
    return getattr(task, "_fut_waiter", None)


def describe_suspension(coro: object, waiter: object, name_of: Callable[[object], str]) -> str:
    """Say where a suspended coroutine stopped: ``func:line await primitive``.

    ``waiter`` is the future the task is blocked on, if any; ``name_of`` names it (the loop
    passes lane names for tasks).
    """
    obj: Any = coro
    user: types.FrameType | None = None
    innermost: types.FrameType | None = None
    primitive = ""
    while True:
        kind = type(obj)
        if kind is types.CoroutineType:
            frame, inner = obj.cr_frame, obj.cr_await
        elif kind is types.GeneratorType:
            frame, inner = obj.gi_frame, obj.gi_yieldfrom
        else:
            break
        if frame is None:
            break
        innermost = frame
        role = _role(frame.f_code)
        if role is None:
            user, primitive = frame, ""
        elif role and user is not None:
            primitive = role
        obj = inner
    where = user or innermost
    if where is None:
        return "?"
    text = _line(where)
    if primitive:
        return f"{text} await {primitive}"
    if waiter is not None and where is innermost:
        return f"{text} await {name_of(waiter)}"
    return text


# These caches serve every step, so they avoid the slow parts: a suspended frame's f_lineno
# decodes the line table on each read (~1 us), and hashing a code object hashes its bytecode.
# Keys are ids; each entry holds its code object, which keeps the id from being reused.
_LINES: dict[tuple[int, int], tuple[types.CodeType, str]] = {}
# Per code object: None for the user's code, the primitive's name for asyncio's public
# functions ("sleep", "acquire"), "" for asyncio's private helpers.
_ROLES: dict[int, tuple[types.CodeType, str | None]] = {}


def _line(frame: types.FrameType) -> str:
    code = frame.f_code
    entry = _LINES.get((id(code), frame.f_lasti))
    if entry is None:
        entry = _LINES[id(code), frame.f_lasti] = (code, f"{code.co_name}:{frame.f_lineno}")
    return entry[1]


def _role(code: types.CodeType) -> str | None:
    entry = _ROLES.get(id(code))
    if entry is None:
        role = None
        if code.co_filename.startswith(_ASYNCIO_DIR):
            role = "" if code.co_name.startswith("_") else code.co_name
        entry = _ROLES[id(code)] = (code, role)
    return entry[1]


def describe_outcome(task: asyncio.Task[Any]) -> str:
    """Say how a finished task ended, without marking its exception as retrieved."""
    if task.cancelled():
        return "cancelled"
    # `_exception` rather than exception(): reading through the API would mark it retrieved
    # and hide a task whose failure nobody awaited (the loop reports those as unhandled).
    exc = getattr(task, "_exception", None)
    if exc is not None:
        return f"raised {type(exc).__name__}"
    text = repr(task.result())
    return "returned " + (text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 1] + "…")
