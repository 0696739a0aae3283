"""What ``StructuredTaskGroup`` (pipeline/cancellation.py) must do with a group of tasks.

A :class:`GroupPlan` is plain data: tasks that work a number of virtual seconds and then return
or raise, an optional error raised in the ``async with`` body after some seconds, and how many
cleanups are registered on the group's registry. :func:`predict_group` says what the group
does; each rule quotes the class's docstring:

- "If any task fails, all others are cancelled and cleanup callbacks are run": at the instant
  the first task fails, every task still working is cancelled, the group exits and raises that
  failure ("Re-raise the first exception from tasks").
- "Provides structured concurrency with automatic cleanup on cancellation or error": an error
  in the body cancels the tasks at that instant and propagates; cleanups run exactly once,
  LIFO (``CleanupRegistry``), when the group exits, whatever the way out.
- Without failures the group waits for every task.

SF-LIFE-04 (adopted while it reproduces): a failing task cancels nobody. ``__aexit__`` gathers
every task with ``return_exceptions=True`` first, so all of them finish their work; only then
does it look at the results and raise the first failure in *creation* order.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.graph_run import t7

SIBLINGS_NOT_CANCELLED = "SF-LIFE-04"
CLEANUP_WORK = 0.25


@dataclass(frozen=True)
class GroupPlan:
    works: tuple[float, ...]  # one task per entry: virtual seconds until it returns or raises
    fails: tuple[bool, ...]  # whether that task raises at the end of its work
    body_error_at: float | None  # the body raises this many seconds after creating the tasks
    cleanups: int  # callbacks registered on the group's cleanup registry


@dataclass(frozen=True)
class GroupObservation:
    finished: tuple[int, ...]  # tasks that reached the end of their work
    cancelled: tuple[int, ...]  # tasks cancelled while they worked
    raised: str | None  # what leaves the ``async with``: "task <i>", "body" or None
    token_cancelled: bool  # the group's CancellationToken
    cleanups: tuple[tuple[float, float], ...]  # (start, end) of each cleanup callback
    exit: float  # when the ``async with`` was left


def predict_group(plan: GroupPlan, deviations: frozenset[str]) -> GroupObservation:
    n = len(plan.works)
    failing = [i for i in range(n) if plan.fails[i]]
    if plan.body_error_at is not None:
        # The body's error ends the group before it waits for anything.
        stop, raised = plan.body_error_at, "body"
    elif failing and SIBLINGS_NOT_CANCELLED in deviations:
        stop, raised = max(plan.works), f"task {failing[0]}"  # first by creation, not by time
    elif failing:
        first = min(failing, key=lambda i: plan.works[i])
        stop, raised = plan.works[first], f"task {first}"
    else:
        stop, raised = max(plan.works, default=0.0), None
    finished = tuple(i for i in range(n) if plan.works[i] <= stop)
    cancelled = tuple(i for i in range(n) if plan.works[i] > stop)
    cleanups = tuple(
        (t7(stop + k * CLEANUP_WORK), t7(stop + (k + 1) * CLEANUP_WORK))
        for k in range(plan.cleanups)
    )
    return GroupObservation(
        finished,
        cancelled,
        raised,
        raised is not None,
        cleanups,
        t7(stop + plan.cleanups * CLEANUP_WORK),
    )
