"""The line verify prints as each row finishes: its place (``n/N``) and the time left.

A row's line says its status, name, examples and seconds, then ``n/N`` and an estimate of the
time the rest will take. Checks and finding reproducers cost very differently (a state machine
takes seconds, a reproducer a fraction of one), so each kind is estimated from its own rows so
far: the mean seconds of the finished checks times the checks left, plus the same for
reproducers. Before any reproducer has run its share is unknown and left out, and the line says
so with a ``+``. The estimate is only that: on a shared machine one slow check moves it.

For example::

      PASS  bags.output_bag_linearizable (60 examples, 3.1s)  [2/31, about 1 min 10 s left]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stageflow_verify.core.run.report import Row


def format_seconds(seconds: float) -> str:
    """``under 1 s``, ``42 s``, ``3 min 05 s``: minutes once there are any."""
    whole = round(seconds)
    if whole < 1:
        return "under 1 s"
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


@dataclass
class Progress:
    """Counts the rows of one verify as they finish and prints one line per row."""

    checks: int
    findings: int
    check_seconds: list[float] = field(default_factory=list)
    finding_seconds: list[float] = field(default_factory=list)

    def line(self, row: Row, *, is_check: bool) -> str:
        (self.check_seconds if is_check else self.finding_seconds).append(row.seconds)
        done = len(self.check_seconds) + len(self.finding_seconds)
        total = self.checks + self.findings
        text = f"  {row.status:<5} {row.name} ({row.examples} examples, {row.seconds:.1f}s)"
        text += f"  [{done}/{total}{self._left()}]"
        if row.fault:
            text += f"\n        suite code at fault: {row.fault}"
        return text

    def print_row(self, row: Row, *, is_check: bool) -> None:
        print(self.line(row, is_check=is_check), flush=True)

    def _left(self) -> str:
        checks_left = self.checks - len(self.check_seconds)
        findings_left = self.findings - len(self.finding_seconds)
        if not checks_left and not findings_left:
            return ""
        estimate, unknown = 0.0, False
        for left, seconds in (
            (checks_left, self.check_seconds),
            (findings_left, self.finding_seconds),
        ):
            if left and seconds:
                estimate += left * sum(seconds) / len(seconds)
            elif left:
                unknown = True
        if unknown and not estimate:
            return ", time left not known yet"
        return f", about {format_seconds(estimate)}{'+' if unknown else ''} left"
