"""What a controlled run did, step by step, and the swimlane picture of it.

:class:`~core.scheduler.DeterministicLoop` appends one :class:`Step` per callback it runs: the
lane (the task that resumed, or the task that scheduled a plain callback), the virtual time, the
choice the chooser made when more than one lane could run, where the task resumed from and where
it suspended next. Injected faults are steps too, so the picture shows them where they happened.

Two runs under the same choices produce equal traces (``==`` compares every field); the
determinism tests rely on that, so nothing here may depend on ids, addresses or wall time.

:func:`render_swimlane` draws one column per lane and one row per step, in the spirit of
porcupine's visualisation but in plain text, so that it can ride along with an exception as a
note below Hypothesis's falsifying example.

For example::

    step  pick  time  T0 main                      T1 increment
    0     -     0     start -> main:12 await sleep
    1     1/2   0     main:12 -> main:14 await gather
"""

from __future__ import annotations

import asyncio
import os
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Frames inside asyncio itself say "sleep" or "acquire", which names the primitive a task waits
# on; the innermost frame outside asyncio says which line of the user's code is suspended.
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
_MAX_REPR = 24


class Step(NamedTuple):
    """One callback run by the controlled loop, or one injected fault.

    ``choice`` is the index the chooser picked among ``options`` runnable lanes, or None when
    only one lane could run (no choice was made, none was recorded). ``kind`` is ``"task"`` for a
    task step, ``"callback"`` for a plain callback and ``"fault"`` for an injected fault.
    """

    number: int
    lane: int
    time: float
    choice: int | None
    options: int
    kind: str
    resumed: str
    outcome: str


@dataclass
class Trace:
    """Every step of one run, with the lane names (``T0 main``, ``T1 worker``, ...)."""

    lanes: dict[int, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def choices(self) -> list[int]:
        """The choices made, in order: the input of :class:`~core.choosers.ReplayChooser`."""
        return [s.choice for s in self.steps if s.choice is not None]


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


def render_swimlane(trace: Trace, *, last: int = 120, width: int = 40) -> str:
    """Draw the trace: one column per lane, one row per step, most recent ``last`` steps.

    A ``pick`` of ``1/3`` means the chooser ran the second of three runnable lanes; ``-`` means
    only one lane could run. Cells wider than ``width`` are cut with an ellipsis.

    For example::

        >>> t = Trace({0: "T0 main"}, [Step(0, 0, 0.0, None, 1, "task", "start", "returned 1")])
        >>> print(render_swimlane(t))
        step  pick  time  T0 main
        0     -     0     start -> returned 1
    """
    steps = trace.steps[-last:] if last > 0 else trace.steps
    used = sorted({s.lane for s in steps}, key=lambda lane: (lane < 0, lane))
    cells = [(s, _cell(s, width)) for s in steps]
    widths = {
        lane: max([len(_lane_name(trace, lane))] + [len(c) for s, c in cells if s.lane == lane])
        for lane in used
    }
    head = ["step", "pick", "time"]
    rows = [[str(s.number), _pick(s), f"{s.time:g}"] for s, _ in cells]
    fixed = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    lines = []
    if len(trace.steps) > len(steps):
        lines.append(f"... {len(trace.steps) - len(steps)} earlier steps not shown")
    header = [h.ljust(w) for h, w in zip(head, fixed, strict=True)]
    header += [_lane_name(trace, lane).ljust(widths[lane]) for lane in used]
    lines.append("  ".join(header).rstrip())
    for (step, cell), row in zip(cells, rows, strict=True):
        parts = [v.ljust(w) for v, w in zip(row, fixed, strict=True)]
        for lane in used:
            parts.append((cell if lane == step.lane else "").ljust(widths[lane]))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _lane_name(trace: Trace, lane: int) -> str:
    return trace.lanes.get(lane, "loop" if lane < 0 else f"T{lane}")


def _pick(step: Step) -> str:
    return "-" if step.choice is None else f"{step.choice}/{step.options}"


def _cell(step: Step, width: int) -> str:
    if step.kind == "fault":
        text = f"!! {step.outcome}"
    elif step.kind == "callback":
        text = f"cb {step.resumed}"
    elif step.resumed == "start":
        text = f"start -> {step.outcome}"
    else:
        # `resumed` repeats the lane's previous outcome, one row up; show what is new.
        text = step.outcome
    return text if len(text) <= width else text[: width - 1] + "…"
