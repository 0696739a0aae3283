"""The schedule behind a failure, kept as data so that a report can draw it.

A failing check leaves its swimlane as text in the exception's notes, which suits a terminal but
not a picture: the HTML report (``core.run.html_report``) draws each step as a box on its task's
lane, and needs the steps themselves. Two ways lead from a failure back to its schedule:

- a failure raised while a controlled run is on the stack (or built from one, as the bag
  machines' batch failures are) carries that run's trace: :func:`attach` sets it on the
  exception, :func:`attached` reads it back;
- a failure raised after the run ended (an invariant, a model comparison) carries nothing, so
  every controlled run also :func:`remember`\\ s where it ended, and the report takes the last run
  before the failure (:func:`last_run`). Under Hypothesis the failure is raised by the final
  replay of the shrunk example, so that run is the shrunk batch.

Remembering costs two references per run (the step log and two indices), never a copy: the
steps are sliced only when a report asks. :func:`forget` drops the reference between checks, so
one check's schedule is never shown as another's.

:func:`timeline_data` is the JSON form the reports store (``reports/verify.json``, per failing
row) and the HTML draws: lanes by number, then one list per step, for the steps of the shrunk
counterexample only (:func:`core.sched.trace.steps_that_matter`, as the swimlane of a failure's
text: its picks other than stock order, its faults, the end, a few steps around each).

For example::

    >>> from core.sched.trace import Step, Trace
    >>> t = Trace({0: "T0 main"}, [Step(0, 0, 0.0, None, 1, "task", "start", "returned 1")])
    >>> timeline_data(t, "run")["steps"]
    [[0, 0, 0.0, None, 1, 'task', 'start', 'returned 1']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stageflow_verify.core.sched.trace import Step, Trace, steps_that_matter

MAX_STEPS = 200  # the most steps kept per timeline: a picture of thousands helps nobody
_ATTRIBUTE = "schedule_trace"

_last: tuple[dict[int, str], Sequence[Step], int, int] | None = None


def remember(trace: Trace, start: int = 0) -> None:
    """Note ``trace`` (from step ``start`` to its current end) as the latest controlled run."""
    global _last
    _last = (trace.lanes, trace.steps, start, len(trace.steps))


def forget() -> None:
    global _last
    _last = None


def last_run() -> Trace | None:
    """The latest remembered run, as it was when it was remembered; None if none since forget."""
    if _last is None:
        return None
    lanes, steps, start, end = _last
    # The whole run: its first picks may be the counterexample (timeline_data chooses the steps).
    return Trace(dict(lanes), steps[start:end])


def attach(exc: BaseException, trace: Trace) -> None:
    """Say that ``exc`` was raised by (or about) the run ``trace`` records."""
    setattr(exc, _ATTRIBUTE, trace)


def attached(exc: BaseException) -> Trace | None:
    trace = getattr(exc, _ATTRIBUTE, None)
    return trace if isinstance(trace, Trace) else None


def timeline_data(trace: Trace, title: str) -> dict[str, Any]:
    """The JSON form of ``trace``'s steps that matter (:func:`steps_that_matter`).

    ``steps`` holds ``[number, lane, time, choice, options, kind, resumed, outcome]`` per step
    (``choice`` None where only one lane could run), in order, with gaps where steps were left
    out (their numbers jump); ``omitted`` counts the steps left out.
    """
    steps = list(trace.steps)
    shown = [steps[n] for n in steps_that_matter(steps, MAX_STEPS)]
    lanes = sorted({s.lane for s in shown})
    return {
        "title": title,
        "lanes": {
            str(lane): trace.lanes.get(lane, "loop" if lane < 0 else f"T{lane}") for lane in lanes
        },
        "omitted": len(steps) - len(shown),
        "steps": [list(step) for step in shown],
    }
