"""Every schedule of a small thread scenario, up to a preemption or delay bound.

The thread counterpart of :func:`core.sched.exhaustive.explore`, with its machinery: stateless
re-execution from scratch per schedule, a chooser that follows a prefix and then takes choice 0
(no preemption), depth-first backtracking at the deepest decision with an untried option within
the bound. A *preemption* here is exactly what the word says: a switch away from a thread that
could have gone on (or a non-default pick when it could not). No partial-order reduction.

For example::

    report = explore_threads(lambda: [("a", bag.write), ("b", bag.write)], check,
                             focus=focus_on(__file__), preemption_bound=2)
    assert report.complete and not report.violations, report.summary()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stageflow_verify.core.sched.choosers import Chooser

# The asyncio explorer's search: one backtracking rule and one report for both schedulers.
from stageflow_verify.core.sched.exhaustive import ExplorationReport, search_schedules
from stageflow_verify.core.sched.thread_locks import Focus
from stageflow_verify.core.sched.thread_reports import ThreadRunResult
from stageflow_verify.core.sched.threads import run_threads

Bodies = Sequence[tuple[str, Callable[[], object]]]


def explore_threads(
    make_bodies: Callable[[], Bodies],
    check: Callable[[ThreadRunResult], None] | None = None,
    *,
    focus: Focus,
    preemption_bound: int | None = None,
    delay_bound: int | None = None,
    max_schedules: int = 10_000,
    max_steps: int = 10_000,
    opcodes: bool = False,
    stop_on_violation: bool = False,
) -> ExplorationReport:
    """Run fresh ``make_bodies()`` under every schedule within the bound.

    A schedule is a violation when the run fails (deadlock, livelock, a blocked thread) or
    ``check(result)`` raises; a body's own exception is an outcome, for ``check`` to judge.
    """

    def run_one(chooser: Chooser) -> str:
        result = run_threads(
            make_bodies(), chooser, focus=focus, max_steps=max_steps, opcodes=opcodes
        )
        if check is not None:
            check(result)
        return repr(sorted({**result.values, **_named(result.errors)}.items()))

    return search_schedules(
        run_one,
        preemption_bound=preemption_bound,
        delay_bound=delay_bound,
        max_schedules=max_schedules,
        stop_on_violation=stop_on_violation,
    )


def _named(errors: dict[str, BaseException]) -> dict[str, object]:
    return {name: f"raised {error!r}" for name, error in errors.items()}
