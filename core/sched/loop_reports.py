"""What the deterministic loop says: its own failures, their messages, and its notes.

A run can fail without the code under test failing: nothing is runnable and nothing will
be (:class:`DeadlockError`), or the step budget runs out (:class:`LivelockError`). Either way,
and whenever the code under test raises, the exception leaving the loop carries a note headed
:data:`NOTE_HEADER`: the swimlane and the expression that replays the run. Drawing the swimlane
is costly, so :func:`picture_shown` tells the loop when anybody can see it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from hypothesis.control import currently_in_test_context, should_note

from stageflow_verify.core.sched._ready import Lanes
from stageflow_verify.core.sched.trace import Trace

NOTE_HEADER = "Schedule (one lane per task, one row per step):"
NEXT_RULE_HEADER = "Schedule of the next step (one lane per task, one row per step):"


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


def picture_shown() -> bool:
    """Whether a swimlane drawn now can reach a reader (``detail=None`` describes steps then).

    Outside a Hypothesis test, a failure's note is the report. Inside one, Hypothesis shows
    notes only for the final replay of the minimal example (or when verbose).
    """
    return not currently_in_test_context() or should_note()


def deadlock_message(step: int, now: float, blocked: Sequence[tuple[str, str]]) -> str:
    """Say that nothing can run, and where each blocked task (lane name, position) waits."""
    lines = [f"  {lane} at {where}" for lane, where in blocked] or ["  (no tasks)"]
    return (
        f"deadlock at step {step}, t={now:g}: no task can run, no timer is pending, and the "
        "awaited future is not done. Blocked:\n"
        + "\n".join(lines)
        + "\nSome lock, event, queue or future is awaited that nothing is left to release; "
        "the swimlane shows how each task got there."
    )


def livelock_message(budget: int) -> str:
    return (
        f"step budget exhausted: {budget} steps ran and the awaited future is not done. Either "
        "tasks keep waking each other without progress (livelock, or a retry loop with no "
        "exit), or the scenario is longer than the budget: then raise max_steps."
    )


def callback_name(handle: Lanes) -> str:
    callback = handle._callback
    if isinstance(callback, functools.partial):
        callback = callback.func
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    return str(name).replace("<locals>.", "").lstrip("_")


def one_schedule(notes: Sequence[str]) -> list[str]:
    """``notes`` with the swimlane shown once: the one that matters, where it belongs.

    Under Hypothesis every rule of the shrunk program that ran the loop is preceded by a
    commented swimlane of its run (:data:`NEXT_RULE_HEADER`), and a failure raised in or about a
    run carries that run's swimlane too (:data:`NOTE_HEADER`): read in a terminal, one schedule
    printed twice, beside every other run's. The failing run is the one that matters, so with a
    :data:`NOTE_HEADER` note every commented swimlane goes; without one, all but the last (the
    run just before the failure) go. The program's own lines, the rules before and after, stay,
    and so does the runnable program: only comment lines are dropped.

    For example::

        >>> program = ["state.a()", "# " + NEXT_RULE_HEADER + "\\n# 0 ...", "state.b()"]
        >>> one_schedule(program) == program
        True
        >>> one_schedule([*program, NOTE_HEADER + "\\n0 ..."])[1:]
        ['state.b()', 'Schedule (one lane per task, one row per step):\\n0 ...']
    """
    commented = [n for n, note in enumerate(notes) if note.startswith("# " + NEXT_RULE_HEADER)]
    if any(note.startswith(NOTE_HEADER) for note in notes):
        dropped = set(commented)
    else:
        dropped = set(commented[:-1])
    return [note for n, note in enumerate(notes) if n not in dropped]
