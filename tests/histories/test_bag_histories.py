"""Every hand-made history in bag_histories.py gets its expected verdict."""

from __future__ import annotations

import pytest

from stageflow_verify.core.check.linearizability import (
    Verdict,
    check_history,
    check_history_verbose,
)
from tests.histories.bag_histories import ALL, BAG, Case


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_history_gets_expected_verdict(case: Case) -> None:
    assert check_history(case.model, case.ops) is case.verdict


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_illegal_history_comes_with_a_smaller_illegal_sub_history(case: Case) -> None:
    result = check_history_verbose(case.model, case.ops)
    if case.verdict is not Verdict.ILLEGAL:
        assert result.illegal == ()
        return
    assert 0 < len(result.illegal) <= len(case.ops)
    assert check_history(case.model, result.illegal) is Verdict.ILLEGAL
    assert "a contradiction!" in result.report


def test_lost_update_is_explained_as_swimlane_and_contradiction() -> None:
    case = next(c for c in BAG if c.name.startswith("lost update"))
    report = check_history_verbose(case.model, case.ops).report
    assert report == EXPECTED_LOST_UPDATE


EXPECTED_LOST_UPDATE = """\
Not linearizable. Smallest illegal sub-history:
step  T0 w0                                     T1 w1
1     |- write('s', ok{w: 1}, allow_overwrite)
2                                               |- write('s', ok{w: 2}, allow_overwrite)
3     -> 's': attempt 1 ok{w: 1} -|
4                                               -> 's': attempt 1 ok{w: 2} -|
Let:
  the object start as OutputBag {}
  A = w0 write('s', ok{w: 1}, allow_overwrite) -> 's': attempt 1 ok{w: 1}  (steps 1-3)
  B = w1 write('s', ok{w: 2}, allow_overwrite) -> 's': attempt 1 ok{w: 2}  (steps 2-4)
Then:
  - A and B overlap, so either may come first;
  - A then B: B would return 's': attempt 2 ok{w: 2}, but it returned 's': attempt 1 ok{w: 2};
  - B then A: A would return 's': attempt 2 ok{w: 1}, but it returned 's': attempt 1 ok{w: 1};
  - However, no order of A, B gives what they returned: a contradiction!"""
