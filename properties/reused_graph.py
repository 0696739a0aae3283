"""The reuse part of ``helpers.run_utils``: one built graph (or one ``Pipeline``) run 1 to 5
times through runners with each hardening option or none, or through ``graph.run`` itself, each
run's stage mutating the snapshot or not, judged against
:func:`models.run_helpers.violations_logged` with SF-HELP-05 adopted while it reproduces.

Drawn only where a runner can harden a graph (0.9.6 on: before, SF-HELP-04 makes every
hardened run raise, which ``runs_law`` already judges).

For example::

    reuse_law(active=frozenset())  # raises with the shrunk runs and the counts logged
"""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import count_example
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.core.sut.reused_graph import play_reused_graph
from stageflow_verify.models import run_helpers as model
from stageflow_verify.models.run_helpers import ReuseRun
from stageflow_verify.stateful.helper_hardening_findings import hardening_on_a_stack

reuse_runs = st.builds(
    ReuseRun,
    hardening=st.sampled_from(model.HARDENINGS),
    direct=st.booleans(),
    mutates=st.booleans(),
).map(lambda r: r if r.hardening == "none" else ReuseRun(r.hardening, False, r.mutates))


@given(
    reused=st.sampled_from(["graph", "pipeline"]), runs=st.lists(reuse_runs, min_size=1, max_size=5)
)
def reuse_law(reused: str, runs: list[ReuseRun], active: frozenset[str]) -> None:
    count_example()
    with quiet():
        seen = asyncio.run(play_reused_graph(reused, tuple(runs)))
    judge_reuse(reused, tuple(runs), seen, active)


def judge_reuse(
    reused: str, runs: tuple[ReuseRun, ...], seen: list[tuple[bool, int]], active: frozenset[str]
) -> None:
    expected = model.violations_logged(runs, reused, active)
    where = f"\n  reused {reused}: {list(runs)}\n  adopted: {sorted(active) or 'none'}"
    # An interceptor's error is logged, never the run's: every run succeeds (interceptors.py:551).
    assert all(ok for ok, _ in seen), f"a run failed: {seen}{where}"
    logged = [n for _, n in seen]
    assert logged == expected, (
        f"immutability violations logged per run {logged}, model {expected}{where}"
    )


# A kept graph run by a runner with each hardening option, then plainly (by a runner and by
# graph.run) and hardened again, these three mutating: what ci's draws can miss.
CANONICAL_REUSE = (
    "graph",
    (
        ReuseRun("both", False, False),
        ReuseRun("size", False, False),
        ReuseRun("immutability", False, False),
        ReuseRun("none", False, True),
        ReuseRun("none", True, True),
        ReuseRun("immutability", False, True),
    ),
)


def reuse_check(active: frozenset[str]) -> None:
    if hardening_on_a_stack(stageflow_module()) is not None:
        return  # no runner here can harden a graph: nothing of this part to draw
    reuse_law(active=active)
    reused, runs = CANONICAL_REUSE
    with quiet():
        seen = asyncio.run(play_reused_graph(reused, runs))
    judge_reuse(reused, runs, seen, active)
