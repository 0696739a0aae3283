"""Is a concurrent history linearizable against a sequential model? (porcupine's entry points)

Each partition (see ``Model.partition_key``) is searched on its own; the history is OK when every
partition is, ILLEGAL when one is not, else UNKNOWN: the budget ran out first. UNKNOWN never
counts as a pass. For an ILLEGAL history the verbose result carries a 1-minimal illegal
sub-history and the explanation of why no order of it works (``core.check.render``).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic

from stageflow_verify.core.check import _search, render
from stageflow_verify.core.check.history import I, Model, O, Operation, S


class Verdict(enum.Enum):
    OK = "ok"
    ILLEGAL = "illegal"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckResult(Generic[S, I, O]):
    """``witness``: op ids in a legal order (OK, unpartitioned); ``final``: the state after it."""

    verdict: Verdict
    witness: tuple[int, ...] = ()
    final: S | None = None
    illegal: tuple[Operation[I, O], ...] = ()
    explanation: render.Explanation | None = None
    report: str = field(default="", repr=False)


def check_history_verbose(
    model: Model[S, I, O],
    history: Sequence[Operation[I, O]],
    *,
    initial: S | None = None,
    timeout: float | None = None,
    max_iterations: int | None = 1_000_000,
) -> CheckResult[S, I, O]:
    """Check ``history`` from ``initial`` (default ``model.init()``).

    For example::

        result = check_history_verbose(OutputBagModel(), recorder.history())
        assert result.verdict is Verdict.OK, result.report
    """
    start = model.init() if initial is None else initial
    deadline = None if timeout is None else time.monotonic() + timeout
    budget = _search.Budget(deadline, max_iterations)
    parts = _search.partition(model, history)
    results = [_search.search(model, part, start, budget) for part in parts]
    for part, result in zip(parts, results, strict=True):
        if result.ok is False:
            sub = tuple(_search.minimize(model, part, start, budget))
            explanation = render.explain(model, sub, start)
            report = render.render_report(model, sub, explanation)
            return CheckResult(Verdict.ILLEGAL, illegal=sub, explanation=explanation, report=report)
    if any(r.ok is None for r in results):
        return CheckResult(Verdict.UNKNOWN, report=_UNKNOWN_ADVICE.format(n=len(history)))
    if len(results) == 1:
        return CheckResult(Verdict.OK, witness=results[0].order, final=results[0].final)
    return CheckResult(Verdict.OK, witness=tuple(i for r in results for i in r.order))


def check_history(model: Model[S, I, O], history: Sequence[Operation[I, O]]) -> Verdict:
    return check_history_verbose(model, history).verdict


def check_history_timeout(
    model: Model[S, I, O], history: Sequence[Operation[I, O]], timeout: float
) -> Verdict:
    return check_history_verbose(model, history, timeout=timeout, max_iterations=None).verdict


_UNKNOWN_ADVICE = (
    "the checker ran out of budget on a history of {n} operations before deciding; this is not "
    "a pass. Shorten the history (fewer concurrent operations per batch), or raise the timeout."
)
