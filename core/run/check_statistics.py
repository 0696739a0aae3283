"""What Hypothesis did for one check: examples by outcome, seconds per phase, rules and
invariants run, and what the example database gave and took.

Hypothesis already collects most of it: at the end of every run its engine hands the run's
statistics (the data behind ``pytest --hypothesis-show-statistics``) to
``hypothesis.statistics.collector``, which :func:`collecting` points at a
:class:`CheckStatistics` for the length of one check. Counted from there, per phase
(``reuse``, ``generate``, ``shrink``, ``explain``): the seconds it took and each test case's
status. Hypothesis's statuses map to ours as: ``valid`` (passed), ``interesting`` (failing),
``invalid`` (gave up: rejected by ``assume``, a filter or a precondition; Hypothesis's
observability calls these ``gave_up``) and ``overrun`` (ran out of choices: invalid too).

What Hypothesis does not count, we count here: how often each state machine rule and invariant
ran (their functions are wrapped once, process-wide, by :func:`count_rules`), and the example
database: which database the profile has (``local+shared`` when ``HYPOTHESIS_DB`` multiplexes a
Redis one in), whether it was read (calls to its ``fetch``) or written (calls to its ``save``),
the entries replayed (the reuse phase's test cases: each is a saved example tried again) and the
entries saved. A profile's database is not always used: Hypothesis gives a run no database key,
and so reads and writes nothing, when its seed is forced (verify pins the seed under ``dev``).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from hypothesis import settings
from hypothesis.database import ExampleDatabase, MultiplexedDatabase
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.statistics import collector

PHASES = ("reuse", "generate", "shrink", "explain")
OUTCOMES = {"valid": "valid", "interesting": "failing", "invalid": "gave_up", "overrun": "overrun"}
_MARK = "_counted_by_check_statistics"


@dataclass
class CheckStatistics:
    """One check's counts, summed over the Hypothesis runs it made."""

    runs: int = 0
    examples: Counter[str] = field(default_factory=Counter)
    phase_seconds: Counter[str] = field(default_factory=Counter)
    stopped_because: list[str] = field(default_factory=list)
    rules: Counter[str] = field(default_factory=Counter)
    invariants: Counter[str] = field(default_factory=Counter)
    database: str = "none"
    replayed: int = 0
    saved: int = 0
    fetches: int = 0
    # The generate phase's first failing test case, as the count of valid examples the check had
    # run by then (across its Hypothesis runs) plus the failing one: how many examples the
    # profile needed to detect the failure (issue 15 item 4, `core/run/ci_power.py`). Hypothesis
    # lists a phase's test cases in the order it ran them, and with report_multiple_bugs off
    # (every profile) generation stops at the first failure. None when no generated example
    # failed: the check passed, or what failed was an explicit example or no Hypothesis run.
    first_failing_example: int | None = None

    def add_run(self, stats: dict[str, Any]) -> None:
        self.runs += 1
        for phase in PHASES:
            data = stats.get(f"{phase}-phase")
            if not data:
                continue
            self.phase_seconds[phase] += data["duration-seconds"]
            cases = data["test-cases"]
            if phase == "reuse":
                self.replayed += len(cases)
            if phase == "generate":
                for case in cases:
                    outcome = OUTCOMES.get(case["status"], case["status"])
                    if outcome == "failing" and self.first_failing_example is None:
                        self.first_failing_example = self.examples["valid"] + 1
                    self.examples[outcome] += 1
        if "stopped-because" in stats:
            self.stopped_because.append(stats["stopped-because"])

    def to_json(self) -> dict[str, Any]:
        return {
            "hypothesis_runs": self.runs,
            "examples": {name: self.examples[name] for name in OUTCOMES.values()},
            "first_failing_example": self.first_failing_example,
            "phase_seconds": {p: round(self.phase_seconds[p], 3) for p in PHASES},
            "stopped_because": sorted(set(self.stopped_because)),
            "rules": dict(sorted(self.rules.items())),
            "invariants": dict(sorted(self.invariants.items())),
            "database": {
                "kind": self.database,
                "read": self.fetches > 0,
                "written": self.saved > 0,
                "replayed": self.replayed,
                "saved": self.saved,
            },
        }


_current: CheckStatistics | None = None


@contextmanager
def collecting() -> Iterator[CheckStatistics]:
    """Collect the statistics of every Hypothesis run made inside the ``with`` block.

    For example::

        with collecting() as stats:
            check.run()
        stats.to_json()["examples"]["valid"]
    """
    global _current
    stats = CheckStatistics(database=_watch_database())
    count_rules()
    previous, _current = _current, stats
    try:
        # The collector is typed for None only; any callable is what Hypothesis calls.
        with collector.with_value(cast(Any, stats.add_run)):
            yield stats
    finally:
        _current = previous


def _watch_database() -> str:
    database = settings().database  # the loaded profile's
    if database is None:
        return "none"
    if not getattr(database, _MARK, False):
        save, fetch = database.save, database.fetch

        def counted_save(key: bytes, value: bytes) -> None:
            if _current is not None:
                _current.saved += 1
            save(key, value)

        def counted_fetch(key: bytes) -> Iterable[bytes]:
            if _current is not None:
                _current.fetches += 1
            return fetch(key)

        database.save = counted_save  # type: ignore[method-assign]
        database.fetch = counted_fetch  # type: ignore[method-assign]
        setattr(database, _MARK, True)
    return _kind(database)


def _kind(database: ExampleDatabase) -> str:
    if isinstance(database, MultiplexedDatabase):
        return "local+shared"
    return "local"


def _counted(function: Callable[..., Any], table: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def counted(*args: Any, **kwargs: Any) -> Any:
        if _current is not None:
            getattr(_current, table)[function.__name__] += 1
        return function(*args, **kwargs)

    counted.__dict__[_MARK] = True
    return counted


def count_rules() -> None:
    """Wrap the rules and invariants of every state machine class defined so far (idempotent).

    A Rule object lives on the decorated function, so subclasses made later share the wrapped
    rules; this still runs before every check, for classes defined since.
    """
    pending: list[type[RuleBasedStateMachine]] = list(RuleBasedStateMachine.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        state = cls.setup_state()
        for rule in [*state.rules, *state.initializers]:
            if not getattr(rule.function, _MARK, False):
                rule.function = _counted(rule.function, "rules")
        for invariant in state.invariants:
            if not getattr(invariant.function, _MARK, False):
                # Invariant is a frozen dataclass, shared by every class that has it (it lives
                # on the decorated function): replacing its function once counts it everywhere.
                wrapped = _counted(invariant.function, "invariants")
                object.__setattr__(invariant, "function", wrapped)


def merge_statistics(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the :meth:`CheckStatistics.to_json` of several runs of one check (nightly's shards)."""
    total = CheckStatistics()
    kinds = {part["database"]["kind"] for part in parts if part}
    for part in parts:
        if not part:
            continue
        total.runs += part["hypothesis_runs"]
        # A shard's chunks come in run order, so a later chunk's first failure comes after every
        # valid example of the chunks before it. Nightly's parallel shards have no such order:
        # there it counts the examples of the shards listed before, a measure of work, not of
        # position. Older reports lack the field.
        failing_at = part.get("first_failing_example")
        if total.first_failing_example is None and failing_at is not None:
            total.first_failing_example = total.examples["valid"] + failing_at
        total.examples.update(part["examples"])
        total.phase_seconds.update(part["phase_seconds"])
        total.stopped_because += part["stopped_because"]
        total.rules.update(part["rules"])
        total.invariants.update(part["invariants"])
        total.replayed += part["database"]["replayed"]
        total.saved += part["database"]["saved"]
        total.fetches += int(part["database"]["read"])
    total.database = "/".join(sorted(kinds)) or "none"
    return total.to_json()
