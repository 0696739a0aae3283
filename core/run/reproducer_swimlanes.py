"""The swimlane of an interleaving finding: the schedule its reproducer runs, drawn.

A finding tagged ``interleaving`` is about an order of events, which its reproducer's text does
not show; the findings report and the HTML report draw the schedule instead. A thread finding's
pictures come from its ``schedules``; an asyncio finding's from running its reproducer on the
suite's deterministic loop, which is step for step a stock asyncio loop under its default chooser.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Any

from stageflow_verify.core.run.checks import Finding
from stageflow_verify.core.run.watchdog import REPRODUCER_SECONDS, StageflowStuckError, watchdog

if TYPE_CHECKING:
    from stageflow_verify.core.sched.trace import Trace


INTERLEAVING = "interleaving"  # the tag of a finding whose reproducer is about an interleaving


def reproducer_swimlanes(finding: Finding) -> list[str]:
    """The schedule of each ``asyncio.run`` the reproducer makes, drawn as a swimlane.

    The reproducer runs on the installed stageflow with ``asyncio.run`` routed to the suite's
    deterministic loop (``core.sched``) under its default chooser, which is step for step a
    stock asyncio loop (``core/sched/SCHEDULER.md``): the picture is of the very schedule the
    printed script runs, one column per task. Empty for a finding not tagged ``interleaving``,
    one that does not apply here, or one whose reproducer no longer reproduces."""
    from stageflow_verify.core.sched.trace import render_swimlane

    traces, problem = reproducer_traces(finding)
    return [problem] if problem else [render_swimlane(t, last=80, width=36) for t in traces]


def reproducer_traces(finding: Finding) -> tuple[list[Trace], str]:
    """The traces :func:`reproducer_swimlanes` draws (the HTML report draws them as timelines),
    or none and why not. A thread finding's come from its ``schedules`` (a controlled schedule
    of its threads that shows it); an asyncio finding's from its reproducer's own runs, a run
    that raised included (its failure carries its trace: SF-THR-05's second session)."""
    if INTERLEAVING not in finding.tags:
        return [], ""
    import asyncio
    from unittest import mock

    from stageflow_verify.core.sched import timeline
    from stageflow_verify.core.sched.scheduler import run
    from stageflow_verify.core.sut import stageflow_module

    sf = stageflow_module()
    if finding.applies(sf) is not None:
        return [], ""
    # Bounded as the reproducer rows are: this Stageflow may hang (a planted spin, a mutant),
    # and a report that is drawn after the verdicts must never be what hangs verify.
    bound = watchdog(REPRODUCER_SECONDS, f"the swimlane of {finding.id}")
    if finding.schedules is not None:
        try:
            with bound:
                return finding.schedules(sf), ""
        except StageflowStuckError as exc:
            return [], f"(no swimlane: {exc})"
        except Exception as exc:  # the report is still written; it says why the picture is missing
            return [], f"(no swimlane: no thread schedule showed it: {exc})"
    traces: list[Trace] = []

    def on_the_suites_loop(main: Any, **_: Any) -> Any:
        try:
            result = run(main, detail=True, max_steps=100_000)
        except Exception as exc:
            failed = timeline.attached(exc)
            if failed is not None:
                traces.append(failed)
            raise
        traces.append(result.trace)
        return result.value

    try:
        with (
            bound,
            mock.patch.object(asyncio, "run", on_the_suites_loop),
            contextlib.redirect_stdout(io.StringIO()),  # its "VIOLATION: ..." is verify's to say
        ):
            reproduces = finding.reproduce(sf)
    except StageflowStuckError as exc:
        return [], f"(no swimlane: {exc})"
    except Exception as exc:  # the report is still written; the picture says why it is missing
        return [], f"(no swimlane: the reproducer raised {exc!r} on the suite's loop)"
    return (traces, "") if reproduces else ([], "")


def schedule_title(finding: Finding, n: int) -> str:
    """What the ``n``-th trace of :func:`reproducer_traces` is a picture of."""
    if finding.schedules is not None:
        return (
            "a controlled schedule of the reproducer's threads that shows it, without its hooks "
            "(one column per OS thread, a row per switch point: a line of Stageflow's code)"
        )
    return (
        f"the reproducer's schedule (its asyncio.run call {n}; line numbers are those of the "
        "finding's module in the suite)"
    )
