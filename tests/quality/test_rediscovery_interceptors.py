"""``interceptors.stack``, adopting every known finding but one, must report the one it leaves out.

The machine passes on 1.2.0 by adopting 16 findings (SF-INT-02..10, SF-INT-12 and the graph
findings about the same stack: SF-RUN-01, 02, 03, 08, 09, 11). That PASS means something only
if each of them would fail the check on its own, under the budget ``make verify`` gives it (the
ci profile's examples times ``EXAMPLE_FACTOR``, then the canonical scenarios of
``stateful/interceptor_scenarios.py``), not a larger one. Each case also says whether the
random machine alone found it, which is what the canonical graphs in its strategy and the
repeat in every example are for. No shrink phase
and no example database: only finding matters here, and one variant's saved failure must not be
replayed into the next.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.stateful.interceptor_findings import adopted_findings
from stageflow_verify.stateful.interceptor_machine import check_stacks, machine_settings
from tests.quality.planting import expect_failure

pytest.importorskip("stageflow.pipeline.idempotency", reason="no IdempotencyInterceptor here")

FINDINGS = adopted_findings()


def _budget() -> settings:
    return settings(machine_settings(), database=None, phases=[Phase.generate])


@pytest.mark.parametrize("finding_id", [f.id for f in FINDINGS])
def test_machine_reports_the_one_finding_it_does_not_adopt(finding_id: str) -> None:
    reproducing = reproducing_ids(FINDINGS)
    if finding_id not in reproducing:
        pytest.skip(f"{finding_id} does not reproduce on this stageflow")
    caught = expect_failure(lambda: check_stacks(reproducing - {finding_id}, _budget()))
    assert isinstance(caught.error, AssertionError), caught.report
    found_by = "a canonical scenario" if "canonical scenario" in caught.report else "the machine"
    print(f"{finding_id} found by {found_by}")


def test_the_same_budget_passes_with_every_finding_adopted() -> None:
    """The control: without it, a machine failing for another reason would pass every case."""
    check_stacks(reproducing_ids(FINDINGS), _budget())
