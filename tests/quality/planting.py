"""Helpers for planted-bug tests: run a check and keep what it raised and what Hypothesis said.

A planted bug is applied by monkeypatching inside the test (the installed stageflow is never
edited), and the test asserts the check fails with a shrunk counterexample.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stageflow_verify.core.run.verify import run_captured


@dataclass(frozen=True)
class Caught:
    error: BaseException
    printed: str  # what Hypothesis printed through its reporter

    @property
    def report(self) -> str:
        """Everything a user sees: printed output, then the exception's notes (Hypothesis 6.170
        attaches the falsifying program there, and the scheduler its swimlane)."""
        return "\n".join([self.printed, *getattr(self.error, "__notes__", [])])

    @property
    def steps(self) -> list[str]:
        """The calls of a shrunk stateful counterexample, ``state.rule(...)``, with any
        ``bundle_0 = `` assignment in front dropped."""
        return re.findall(r"^(?:\w+ = )?(state\.\w+\(.*)$", self.report, flags=re.MULTILINE)


def expect_failure(run: Callable[[], None]) -> Caught:
    error, report = run_captured(run)
    assert error is not None, "the check passed although a bug was planted"
    return Caught(error, report)


def expect_pass(run: Callable[[], None]) -> None:
    error, report = run_captured(run)
    assert error is None, f"the check failed on pristine stageflow:\n{report}\n{error}"
