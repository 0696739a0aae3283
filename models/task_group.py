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

from stageflow_verify.models.graph_run import t7
from stageflow_verify.models.run_lifecycle import CANCEL_IN_CLEANUP_SWALLOWED

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
    cleanups: tuple[tuple[float, float | None], ...]  # (start, end; None: interrupted)
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


def predict_group_in_run(
    plan: GroupPlan, sibling_raises_at: float | None, deviations: frozenset[str]
) -> tuple[GroupObservation, str | None]:
    """The group as the work of stage ``g`` in a run whose other stage ``s`` raises at
    ``sibling_raises_at``: the run then cancels ``g`` ("Cancel remaining tasks", dag.py), and
    the group must pass that on, "automatic cleanup on cancellation": its tasks are cancelled
    at that instant and its cleanups run then, each once. A cancel landing on a cleanup cuts
    that one; the group then ends cancelled, unless SF-LIFE-03 (CleanupRegistry.run_all
    swallows the cancel) is adopted. Returns the group's observation and the stage that failed
    the run. The token is left out (False on both sides): nothing says what it shows when the
    group's own task is cancelled."""
    alone = predict_group(plan, deviations)
    n = plan.cleanups
    stop = alone.exit - n * CLEANUP_WORK  # when its tasks were done and its cleanups began
    at = sibling_raises_at
    quiet = GroupObservation(alone.finished, alone.cancelled, alone.raised, False,
                             alone.cleanups, alone.exit)  # fmt: skip
    if at is None or at > alone.exit:
        return quiet, ("g" if alone.raised else None) or ("s" if at is not None else None)
    works = plan.works
    if at < stop:  # the cancel reaches the group while its tasks work
        fresh = tuple((t7(at + k * CLEANUP_WORK), t7(at + (k + 1) * CLEANUP_WORK))
                         for k in range(n))  # fmt: skip
        seen = GroupObservation(
            tuple(i for i in range(len(works)) if works[i] <= at),
            tuple(i for i in range(len(works)) if works[i] > at),
            "cancelled", False, fresh, t7(at + n * CLEANUP_WORK),
        )  # fmt: skip
        return seen, "s"
    cut = int((at - stop) // CLEANUP_WORK)  # the cleanup running when the cancel lands
    rest = n - cut - 1
    cleanups: tuple[tuple[float, float | None], ...] = (
        *alone.cleanups[:cut],
        (alone.cleanups[cut][0], None),
        *((t7(at + k * CLEANUP_WORK), t7(at + (k + 1) * CLEANUP_WORK)) for k in range(rest)),
    )
    raised = alone.raised if CANCEL_IN_CLEANUP_SWALLOWED in deviations else "cancelled"
    seen = GroupObservation(alone.finished, alone.cancelled, raised, False, cleanups,
                            t7(at + rest * CLEANUP_WORK))  # fmt: skip
    return seen, "s"
