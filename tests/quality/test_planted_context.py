"""Planted bugs in PipelineContext.fork: the fork machine must fail, shrunk; pristine must pass.

Each bug is planted by monkeypatching ``PipelineContext.fork`` inside the test: the original
fork runs, then the wrapper breaks the child the way the named bug would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis.stateful import run_state_machine_as_test

from stageflow_verify.stateful.context_findings import CHECK, FINDINGS
from stageflow_verify.stateful.context_machine import machine_adopting, run_fork_tree
from tests.quality.planting import expect_failure, expect_pass

PipelineContext = pytest.importorskip("stageflow").PipelineContext


def _share_data(parent: Any, child: Any) -> None:
    child.data = parent.data


def _drop_org_id(parent: Any, child: Any) -> None:
    child.org_id = None


def _live_configuration(parent: Any, child: Any) -> None:
    child.configuration = parent.configuration


def _plant(monkeypatch: pytest.MonkeyPatch, damage: Callable[[Any, Any], None]) -> None:
    original = PipelineContext.fork

    def fork(self: Any, *args: Any, **kwargs: Any) -> Any:
        child = original(self, *args, **kwargs)
        damage(self, child)
        return child

    monkeypatch.setattr(PipelineContext, "fork", fork)


def test_pristine_stageflow_passes_with_known_deviations_adopted() -> None:
    expect_pass(run_fork_tree)


@pytest.mark.parametrize(
    ("damage", "symptom"),
    [
        (_share_data, "data: model"),
        (_drop_org_id, "org_id"),
        (_live_configuration, "configuration: model"),
    ],
    ids=["fork_shares_parent_data_dict", "fork_drops_org_id", "fork_hands_live_configuration"],
)
def test_planted_fork_bug_fails_the_machine_with_a_shrunk_example(
    monkeypatch: pytest.MonkeyPatch, damage: Callable[[Any, Any], None], symptom: str
) -> None:
    _plant(monkeypatch, damage)
    caught = expect_failure(run_fork_tree)
    assert symptom in str(caught.error)
    # One root, one fork, at most one write: the smallest story that shows the bug.
    steps = [s for s in caught.steps if s.startswith(("state.create", "state.fork", "state.edit"))]
    assert 2 <= len(steps) <= 3, caught.report
    assert "= state.create_first_root(" in caught.report, caught.report


# The fork machine's own findings; SF-CTX-08 belongs to context.views, which has its own
# rediscovery test (test_planted_context_views.py).
FORK_FINDINGS = [f for f in FINDINGS if f.check == CHECK]


@pytest.mark.parametrize("finding", FORK_FINDINGS, ids=[f.id for f in FORK_FINDINGS])
def test_machine_finds_each_known_finding_on_its_own(finding: Any) -> None:
    """Adopting every known deviation but one, the machine must report that one."""
    others = frozenset(f.id for f in FINDINGS) - {finding.id}
    caught = expect_failure(lambda: run_state_machine_as_test(machine_adopting(others)))
    assert "differs from the model" in str(caught.error)
