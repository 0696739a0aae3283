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

# The asyncio explorer's own pieces: one backtracking rule and one report for both schedulers.
from core.sched.exhaustive import (
    ExplorationReport,
    Violation,
    _cost_function,
    _describe_bound,
    _next_prefix,
    _PrefixChooser,
)
from core.sched.thread_locks import Focus
from core.sched.thread_reports import ThreadRunResult
from core.sched.threads import run_threads

Bodies = Sequence[tuple[str, Callable[[], object]]]
_KEPT_VIOLATIONS = 20


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
    if preemption_bound is not None and delay_bound is not None:
        raise ValueError("give preemption_bound or delay_bound, not both")
    cost = _cost_function(preemption_bound, delay_bound)
    limit = preemption_bound if preemption_bound is not None else delay_bound
    report = ExplorationReport(bound=_describe_bound(preemption_bound, delay_bound))
    prefix: list[int] = []
    while True:
        chooser = _PrefixChooser(prefix)
        try:
            result = run_threads(
                make_bodies(), chooser, focus=focus, max_steps=max_steps, opcodes=opcodes
            )
            if check is not None:
                check(result)
            outcome = repr(sorted({**result.values, **_named(result.errors)}.items()))
        except Exception as exc:
            outcome = f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            report.violations_found += 1
            if len(report.violations) < _KEPT_VIOLATIONS:
                report.violations.append(Violation(tuple(chooser.choices), exc))
        report.schedules_explored += 1
        report.distinct_outcomes[outcome] += 1
        if stop_on_violation and report.violations:
            return report
        following = _next_prefix(chooser.choices, chooser.widths, cost, limit)
        if following is None:
            report.complete = True
            return report
        if report.schedules_explored >= max_schedules:
            return report
        prefix = following


def _named(errors: dict[str, BaseException]) -> dict[str, object]:
    return {name: f"raised {error!r}" for name, error in errors.items()}
