"""Exhaustive exploration: every schedule of a small scenario, up to a bound.

Hypothesis samples schedules; for a small scenario (two or three tasks, a few awaits each) we can
instead enumerate them all, as Rust's loom and Microsoft's CHESS do. The explorer is stateless:
it re-runs the scenario from scratch for each schedule on a fresh
:class:`~core.sched.scheduler.DeterministicLoop`, with a chooser that follows a prefix of
choices and then takes choice 0 (the stock order) at every further decision. After each run it
backtracks depth-first: the deepest decision that still has an untried option within the bound
becomes the next prefix. Because the loop is deterministic, every schedule is visited exactly
once.

Bounds, as in CHESS's iterative context bounding, keep the search small and explore the
schedules closest to stock asyncio first:

- ``preemption_bound=p``: at most ``p`` decisions deviate from the stock order (choice != 0).
  In asyncio every switch happens at an ``await``, so "preemption" here means a switch the stock
  loop would not have made.
- ``delay_bound=d``: the choices sum to at most ``d`` (choice ``k`` delays the FIFO head ``k``
  times), the delay bounding of Emmi, Qadeer and Rakamaric (POPL 2011).

Faults (a :class:`~core.sched.faults.FaultPlan`) are choices too, and count against the bound. There
is no partial-order reduction: schedules that differ only in the order of independent steps are
all run, and ``distinct_outcomes`` shows how many behaviours they amount to.

For example::

    report = explore(lambda: two_increments(Counter()), preemption_bound=2)
    assert report.complete and not report.violations, report.summary()
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from stageflow_verify.core.sched.choosers import SCHEDULE, ReplayChooser
from stageflow_verify.core.sched.faults import FaultPlan
from stageflow_verify.core.sched.scheduler import run

_KEPT_VIOLATIONS = 20


@dataclass(frozen=True)
class Violation:
    """A schedule under which the scenario raised: its choices and the exception (with notes)."""

    choices: tuple[int, ...]
    error: Exception

    def replay_hint(self) -> str:
        end = len(self.choices)
        while end and self.choices[end - 1] == 0:
            end -= 1
        return f"ReplayChooser({list(self.choices[:end])!r})"


@dataclass
class ExplorationReport:
    """What :func:`explore` saw.

    ``distinct_outcomes`` maps ``repr(result)`` or ``"raised Type: message"`` to how many
    schedules produced it. ``violations`` keeps the first few failing schedules (each holds a
    traceback); ``violations_found`` counts them all. ``complete`` is True when every schedule
    within the bound ran; False when ``max_schedules`` cut the search short (then absence of
    violations proves nothing).
    """

    schedules_explored: int = 0
    distinct_outcomes: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    violations_found: int = 0
    complete: bool = False
    bound: str = "unbounded"

    def summary(self) -> str:
        state = "complete" if self.complete else "INCOMPLETE (max_schedules reached)"
        text = (
            f"explored {self.schedules_explored} schedules ({state}, {self.bound}): "
            f"{len(self.distinct_outcomes)} distinct outcomes, {self.violations_found} violations"
        )
        if self.violations:
            text += f"; first: {self.violations[0].replay_hint()}"
        return text


class _PrefixChooser:
    """Follow ``prefix``, then choose 0; remember every decision's width for backtracking."""

    def __init__(self, prefix: Sequence[int]) -> None:
        self._prefix = prefix
        self.choices: list[int] = []
        self.widths: list[int] = []

    def choose(self, n: int, kind: str = SCHEDULE, keys: Sequence[int] = ()) -> int:
        position = len(self.choices)
        choice = self._prefix[position] if position < len(self._prefix) else 0
        self.choices.append(choice)
        self.widths.append(n)
        return choice

    def replay_hint(self) -> str:
        return Violation(tuple(self.choices), Exception()).replay_hint()


def explore(
    scenario: Callable[[], Coroutine[Any, Any, object]],
    *,
    preemption_bound: int | None = None,
    delay_bound: int | None = None,
    max_schedules: int = 10_000,
    max_steps: int = 10_000,
    faults: FaultPlan | None = None,
    stop_on_violation: bool = False,
) -> ExplorationReport:
    """Run ``scenario`` under every schedule within the bound, depth-first from stock order.

    ``scenario`` makes a fresh coroutine each call (a run must not share state with the last).
    A run that raises an ``Exception`` (an assertion, a deadlock, a livelock) is a violation.

    For example::

        report = explore(scenario, delay_bound=3, max_schedules=5_000)
        print(report.summary())   # explored 35 schedules (complete, delay bound 3): ...
    """

    def run_one(chooser: _PrefixChooser) -> str:
        # Terse: where each task suspended is only worth describing for a kept violation.
        return repr(run(scenario, chooser, max_steps=max_steps, faults=faults, detail=False).value)

    def kept(choices: list[int], exc: Exception) -> Exception:
        return _described(scenario, choices, max_steps, faults) or exc

    return search_schedules(
        run_one,
        kept=kept,
        preemption_bound=preemption_bound,
        delay_bound=delay_bound,
        max_schedules=max_schedules,
        stop_on_violation=stop_on_violation,
    )


def search_schedules(
    run_one: Callable[[_PrefixChooser], str],
    *,
    kept: Callable[[list[int], Exception], Exception] = lambda choices, exc: exc,
    preemption_bound: int | None = None,
    delay_bound: int | None = None,
    max_schedules: int = 10_000,
    stop_on_violation: bool = False,
) -> ExplorationReport:
    """The depth-first search both explorers share (asyncio here, threads in thread_explore):
    ``run_one(chooser)`` runs one schedule from scratch and returns its outcome, or raises on a
    violation; ``kept(choices, error)`` is what a kept violation shows."""
    if preemption_bound is not None and delay_bound is not None:
        raise ValueError("give preemption_bound or delay_bound, not both")
    cost = _cost_function(preemption_bound, delay_bound)
    limit = preemption_bound if preemption_bound is not None else delay_bound
    report = ExplorationReport(bound=_describe_bound(preemption_bound, delay_bound))
    prefix: list[int] = []
    while True:
        chooser = _PrefixChooser(prefix)
        try:
            outcome = run_one(chooser)
        except Exception as exc:
            outcome = f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            report.violations_found += 1
            if len(report.violations) < _KEPT_VIOLATIONS:
                report.violations.append(
                    Violation(tuple(chooser.choices), kept(chooser.choices, exc))
                )
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


def _described(
    scenario: Callable[[], Coroutine[Any, Any, object]],
    choices: Sequence[int],
    max_steps: int,
    faults: FaultPlan | None,
) -> Exception | None:
    """Replay a violating schedule with every step described: its error, with the full swimlane.

    None if the replay does not fail (a scenario that is not deterministic); the terse
    error then stands.
    """
    try:
        run(scenario, ReplayChooser(choices), max_steps=max_steps, faults=faults, detail=True)
    except Exception as exc:
        return exc
    return None


def _next_prefix(
    choices: list[int], widths: list[int], cost: Callable[[int], int], limit: int | None
) -> list[int] | None:
    spent = [0]
    for choice in choices:
        spent.append(spent[-1] + cost(choice))
    for depth in range(len(choices) - 1, -1, -1):
        following = choices[depth] + 1
        if following >= widths[depth]:
            continue
        if limit is not None and spent[depth] + cost(following) > limit:
            continue
        return [*choices[:depth], following]
    return None


def _cost_function(preemption_bound: int | None, delay_bound: int | None) -> Callable[[int], int]:
    if delay_bound is not None:
        return lambda choice: choice
    return lambda choice: 1 if choice else 0


def _describe_bound(preemption_bound: int | None, delay_bound: int | None) -> str:
    if preemption_bound is not None:
        return f"preemption bound {preemption_bound}"
    if delay_bound is not None:
        return f"delay bound {delay_bound}"
    return "unbounded"
