"""Fault injection at suspension points, as choices the chooser makes.

Between two steps every task that is not running is suspended at an ``await``. Before each step
the loop lists the faults possible right now and asks the chooser, with ``kind=FAULT``, to pick
one: option 0 is "no fault", option ``i`` is ``options[i - 1]``. Because a fault is a choice, it
is recorded, replayed, and (under Hypothesis) shrunk away when the failure does not need it.

A :class:`FaultPlan` says which faults may happen:

- ``exceptions``: fail the operation a task is awaiting. The loop sets the exception on the
  plain :class:`asyncio.Future` the task is blocked on (a lock waiter, a sleep, a queue getter,
  ``loop.create_future()``), so the task sees it raised at its ``await``, exactly as if the
  operation failed. A task blocked directly on another task or on ``gather`` is not eligible:
  failing those would fail every waiter, not one.
- ``cancel``: ``task.cancel()`` on a chosen task (never the main task unless ``include_main``).
- ``expire_timers``: move virtual time forward to a pending timer's deadline while tasks are
  still runnable, as if they had been slow. Timeouts (``wait_for``, ``asyncio.timeout``) then
  expire before the work they guard; time never goes backwards.

``max_faults`` bounds faults per loop, so fault choices stop once it is spent.

For example::

    plan = FaultPlan(exceptions=(ConnectionError,), cancel=True, max_faults=2)
    run(main, HypothesisChooser(data), faults=plan)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# Enough distinct deadlines to expire "the next timeout" or "the one after"; more only
# multiplies choices for the exhaustive explorer without new behaviour.
_MAX_TIMER_OPTIONS = 3


@dataclass(frozen=True)
class FaultPlan:
    """Which faults the chooser may inject, and how many per loop."""

    exceptions: tuple[Callable[[], BaseException], ...] = ()
    cancel: bool = False
    expire_timers: bool = False
    max_faults: int = 1
    include_main: bool = False


@dataclass(frozen=True)
class Fault:
    """One injectable fault: ``raise`` in a lane, ``cancel`` a lane, or ``expire`` at a time."""

    kind: Literal["raise", "cancel", "expire"]
    lane: int = -1
    exception: int = 0
    when: float = 0.0

    def describe(self, plan: FaultPlan, lane_name: Callable[[int], str]) -> str:
        if self.kind == "raise":
            factory = plan.exceptions[self.exception]
            name = getattr(factory, "__name__", repr(factory))
            return f"raise {name} in {lane_name(self.lane)}"
        if self.kind == "cancel":
            return f"cancel {lane_name(self.lane)}"
        return f"expire timers up to t={self.when:g}"


def fault_options(
    plan: FaultPlan,
    tasks: Sequence[asyncio.Task[Any]],
    *,
    main_lane: int,
    timer_whens: Sequence[float],
    now: float,
) -> list[Fault]:
    """List the faults possible now, in a deterministic order (lane order, then kind).

    ``tasks[lane]`` is the task of each lane; ``timer_whens`` the pending timer deadlines.
    """
    options: list[Fault] = []
    for lane, task in enumerate(tasks):
        if task.done() or (lane == main_lane and not plan.include_main):
            continue
        if plan.exceptions and _blocked_on_plain_future(task):
            options.extend(Fault("raise", lane, i) for i in range(len(plan.exceptions)))
        if plan.cancel:
            options.append(Fault("cancel", lane))
    if plan.expire_timers:
        later = sorted({when for when in timer_whens if when > now})
        options.extend(Fault("expire", when=when) for when in later[:_MAX_TIMER_OPTIONS])
    return options


def inject(fault: Fault, plan: FaultPlan, tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Apply a ``raise`` or ``cancel`` fault; ``expire`` moves the clock, which the loop owns."""
    if fault.kind == "cancel":
        tasks[fault.lane].cancel()
    elif fault.kind == "raise":
        waiter = _waiter(tasks[fault.lane])
        if waiter is not None:
            waiter.set_exception(plan.exceptions[fault.exception]())


def _waiter(task: asyncio.Task[Any]) -> asyncio.Future[Any] | None:
    # `_fut_waiter` is the future a task is blocked on; both the C and the Python Task keep it.
    waiter: asyncio.Future[Any] | None = getattr(task, "_fut_waiter", None)
    return waiter


def _blocked_on_plain_future(task: asyncio.Task[Any]) -> bool:
    waiter = _waiter(task)
    return waiter is not None and type(waiter) is asyncio.Future and not waiter.done()
