"""The lifecycle machine, adopting every known finding but one, must report the one it does not
adopt, within the budget ``make verify`` gives it (``lifecycle_settings()`` under the selected
profile), so its PASS in verify means it sees each of them on its own.

It lives beside ``test_rediscovery.py`` rather than in its list so the two machines' budgets
stay apart: the graph machine needs 600 examples for some of its findings, this one finds each
of its own in its first few dozen. Only finding matters, not the minimal example: no shrink.
The laws (``lifecycle.task_group``, ``.legacy_graph``, ``.runner``) are checked the same way in
``test_planted_lifecycle.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from stageflow_verify.core.run.checks import Finding, reproducing_ids
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.lifecycle_findings import FINDINGS, KNOWN_ELSEWHERE, applies
from stageflow_verify.stateful.lifecycle_machine import comparison_for, lifecycle_settings
from tests.quality.planting import expect_failure

sf = stageflow_module()
ADOPTED = [*FINDINGS, *KNOWN_ELSEWHERE]


@pytest.mark.parametrize("finding", ADOPTED, ids=[f.id for f in ADOPTED])
def test_lifecycle_machine_reports_the_one_finding_it_does_not_adopt(finding: Finding) -> None:
    if applies(sf) is not None:
        pytest.skip(str(applies(sf)))
    reproducing = reproducing_ids(ADOPTED)
    finding_id = finding.id
    if finding_id not in reproducing:
        pytest.skip(f"{finding_id} does not reproduce on this stageflow")
    budget = settings(lifecycle_settings(), phases=[Phase.generate], report_multiple_bugs=False)
    machine = comparison_for(reproducing - {finding_id})
    caught = expect_failure(lambda: run_state_machine_as_test(machine, settings=budget))
    assert "differs from the lifecycle model" in str(caught.error), caught.error
