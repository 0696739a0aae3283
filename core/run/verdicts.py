"""Whether a failing check is a Stageflow violation (NEW) or the suite failing to drive it (ERROR).

A bisect, a release table or a maintainer reading verify's output must never take the suite's
own breakage for a Stageflow bug, so every exception a check or a reproducer raises is sorted,
in this order:

1. a :class:`~core.sut.HarnessError` anywhere in it (raised by an adapter or a feature probe,
   also when Stageflow re-raised it as the cause of its own error): ERROR;
2. one of Hypothesis's own errors (a flaky or inconsistent search, a failed health check, an
   invalid strategy): ERROR, since a run that is not a function of its choices, or a search
   that cannot run, says nothing about Stageflow;
3. an ``AssertionError`` (a model or invariant disagreement), a
   :class:`~core.sched.loop_reports.ScheduleFailure` (the run deadlocked or never ended) or a
   :class:`~core.run.watchdog.StageflowStuckError` (a reproducer's stock-loop run never
   ended): NEW;
4. anything else that passed through Stageflow's code (raised inside it, or raised by one of
   our stages or sinks and let out by Stageflow where the model says it should not be): NEW;
5. anything else, raised by the suite's own code with no Stageflow frame on the way: ERROR.
   A TypeError for a call the callee's signature refuses is raised in the caller's frame, so
   a Stageflow callable that changed its signature lands here too; its reason says so.

Before all of these: if the failing example made a HarnessError that is nowhere in the
exception (Stageflow caught it: a stage, runner or sink of ours raised it and Stageflow turned
it into a failed result), the failure that followed is the harness's doing: ERROR, naming the
line that raised it (:func:`core.sut.harness_errors`).

Code under ``tests/`` that raises counts as Stageflow's: it runs under verify only as a planted
bug (tests/quality) or a fake check standing in for one. An exception group (Hypothesis reports
several distinct failures at once) is NEW if any member is NEW, else ERROR.

An ERROR names the suite's file and line at fault: the innermost frame of the suite's own
code in the traceback, e.g. ``core/sut/graphs.py:187 in _build``.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from hypothesis.errors import HypothesisException

from stageflow_verify.core.run.code_owner import ROOT, code_owner
from stageflow_verify.core.run.watchdog import StageflowStuckError
from stageflow_verify.core.sched.loop_reports import ScheduleFailure
from stageflow_verify.core.sut import HarnessError, harness_errors


@dataclass(frozen=True)
class Verdict:
    """``status`` is NEW or ERROR; ``fault`` is ``path:line in function`` of the suite's code
    at fault for an ERROR (empty for NEW); ``reason`` is one line saying why."""

    status: str
    fault: str
    reason: str


def _frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(tb))


def _in_stageflow(frame: traceback.FrameSummary) -> bool:
    return code_owner(frame.filename) == "stageflow"


def _planted(frame: traceback.FrameSummary) -> bool:
    return code_owner(frame.filename) == "planted"


def _in_suite(frame: traceback.FrameSummary) -> bool:
    return code_owner(frame.filename) == "suite"


def _raised_by_stageflow(frames: list[traceback.FrameSummary]) -> bool:
    """Whether Stageflow (or a planted bug) raised it, or let it out of a callback of ours.

    The raiser is the innermost frame that is Stageflow's, planted or the suite's (library
    frames such as asyncio's are skipped). A suite raiser counts as Stageflow's only when a
    Stageflow frame called it: a stage or sink of ours whose exception Stageflow let escape.
    A test's frame above it is a fake check, not Stageflow.
    """
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if _in_stageflow(frame) or _planted(frame):
            return True
        if _in_suite(frame):
            return any(_in_stageflow(f) for f in frames[:index])
    return False


def suite_fault(exc: BaseException) -> str:
    """``path:line in function`` of the innermost suite frame that ``exc`` passed through."""
    for frame in reversed(_frames(exc.__traceback__)):
        if _in_suite(frame):
            where = Path(frame.filename).resolve().relative_to(ROOT)
            return f"{where}:{frame.lineno} in {frame.name}"
    return "no suite frame in the traceback"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup) and not isinstance(exc, HypothesisException):
        for member in exc.exceptions:
            yield from _leaves(member)
    else:
        yield exc


def _classify_one(exc: BaseException) -> Verdict:
    for link in _chain(exc):
        if isinstance(link, HarnessError):
            reason = f"the suite cannot drive this stageflow: {type(link).__name__}: {link}"
            return Verdict("ERROR", suite_fault(link), reason)
    if isinstance(exc, HypothesisException):
        reason = f"Hypothesis could not run or replay the search: {type(exc).__name__}"
        return Verdict("ERROR", suite_fault(exc), reason)
    if isinstance(exc, StageflowStuckError) and not exc.in_stageflow:
        reason = f"the suite's own code was stuck, not Stageflow's: {exc}"
        return Verdict("ERROR", suite_fault(exc), reason)
    if isinstance(exc, AssertionError | ScheduleFailure | StageflowStuckError):
        return Verdict("NEW", "", f"Stageflow disagrees with the model ({type(exc).__name__})")
    if _raised_by_stageflow(_frames(exc.__traceback__)):
        reason = f"{type(exc).__name__} raised in or let out by Stageflow, which the model forbids"
        return Verdict("NEW", "", reason)
    return Verdict("ERROR", suite_fault(exc), _suite_reason(exc))


# Python raises a call's binding failure in the caller's frame, so a Stageflow callable that
# no longer takes what the suite passes (a dropped keyword, a lost @classmethod) looks like the
# suite's own raise. From the exception alone that cannot be told from an adapter that is wrong
# (the pinned release's signature is not at hand), so it stays ERROR (a harness failure is
# never NEW), but says which of the two to look for.
_BINDING = re.compile(
    r"^(?P<callee>[\w.<>]+)\(\) (missing \d+ required|got an unexpected keyword|"
    r"takes \d+ positional|takes no arguments|got multiple values|got some positional-only)"
)


def _suite_reason(exc: BaseException) -> str:
    binding = _BINDING.match(str(exc)) if isinstance(exc, TypeError) else None
    if binding is None:
        return f"the suite's own code raised {type(exc).__name__}: {exc}"
    return (
        f"{binding['callee']}() refused the arguments the suite passed ({exc}): either the "
        "adapter is out of date for this stageflow, or this stageflow changed a signature "
        "its docs promise"
    )


def _caught_harness_error(exc: BaseException) -> Verdict | None:
    carried = {id(link) for leaf in _leaves(exc) for link in _chain(leaf)}
    for caught in harness_errors():
        if id(caught) not in carried:
            reason = (
                f"the suite cannot drive this stageflow: {type(caught).__name__}: {caught} "
                "(caught on the way, by Stageflow or an adapter; what failed next follows from it)"
            )
            return Verdict("ERROR", suite_fault(caught), reason)
    return None


def classify(exc: BaseException) -> Verdict:
    """NEW or ERROR for what a check or a reproducer raised (see the module docstring)."""
    caught = _caught_harness_error(exc)
    if caught is not None:
        return caught
    verdicts = [_classify_one(leaf) for leaf in _leaves(exc)]
    for verdict in verdicts:
        if verdict.status == "NEW":
            return verdict
    return verdicts[0]
