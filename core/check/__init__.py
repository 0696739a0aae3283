# Layout of core/check/, the history checker:
#
#   history.py          Call/Return events, Operation, HistoryRecorder, the Model protocol
#   linearizability.py  check_history(...) -> Verdict OK | ILLEGAL | UNKNOWN
#   _search.py          the Wing & Gong search with Lowe's memoization, private
#   render.py           swimlane and Let/Then explanation of an illegal history
#   statespace.py       breadth-first walk of the models' own states (make modelcheck)
#
# It imports neither core.run nor core.sut, and never stageflow: it judges histories against
# models, wherever the histories came from.
"""The history checker: is a concurrent history explained by some order of a sequential model?"""

from stageflow_verify.core.check.history import (
    Call,
    HistoryRecorder,
    Model,
    Operation,
    Return,
    operations,
    sequential,
)
from stageflow_verify.core.check.linearizability import (
    CheckResult,
    Verdict,
    check_history,
    check_history_timeout,
    check_history_verbose,
)
from stageflow_verify.core.check.render import explain, render_explanation, render_report

__all__ = [
    "Call",
    "CheckResult",
    "HistoryRecorder",
    "Model",
    "Operation",
    "Return",
    "Verdict",
    "check_history",
    "check_history_timeout",
    "check_history_verbose",
    "explain",
    "operations",
    "render_explanation",
    "render_report",
    "sequential",
]
