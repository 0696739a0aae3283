"""The parts of a failing check that reports show apart from its whole text.

verify and nightly keep a failure's whole text (``failure_text``: verdict, Hypothesis's report,
traceback, notes, replay command) and, beside it, the parts a reader goes to first:

- :func:`hypothesis_program`: Hypothesis's report of the shrunk example (for a state machine,
  the runnable program of rules), which the HTML report shows on its own;
- :func:`failure_timelines`: the schedule behind the failure as data
  (:mod:`core.sched.timeline`), which the HTML report draws;
- :func:`show_one_schedule`: the failing run's swimlane once among the notes, for terminals.
"""

from __future__ import annotations

from typing import Any

from stageflow_verify.core.sched import timeline
from stageflow_verify.core.sched.loop_reports import one_schedule

_PROGRAM_STARTS = ("Failing test case", "Falsifying example", "Failing explicit example")


def hypothesis_program(exc: BaseException, output: str) -> str:
    """Hypothesis's report of the shrunk example: what it printed, and the notes it attached
    from its "Failing test case:" (the runnable program) on."""
    notes = list(getattr(exc, "__notes__", []))
    start = next((i for i, n in enumerate(notes) if n.startswith(_PROGRAM_STARTS)), len(notes))
    return "\n".join(p for p in (output, *notes[start:]) if p)


def show_one_schedule(exc: BaseException) -> None:
    """Leave the failing run's swimlane once among ``exc``'s notes (display only: the program,
    its blob and the timelines are untouched; see :func:`core.sched.loop_reports.one_schedule`)."""
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = one_schedule(notes)


def failure_timelines(exc: BaseException) -> tuple[dict[str, Any], ...]:
    """The schedule behind ``exc``: the run it came from, else the last run before it."""
    trace = timeline.attached(exc)
    if trace is not None:
        return (timeline.timeline_data(trace, "the run that raised the failure"),)
    trace = timeline.last_run()
    if trace is None:
        return ()
    return (timeline.timeline_data(trace, "the last controlled run before the failure"),)
