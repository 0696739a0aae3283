"""The releases a finding declares are releases verify-all measures, and on the release this
suite runs on, a finding reproduces exactly when it declares that release.

``make verify-all`` measures every release (README, "Versions"); this test holds the registry
to the one release every clone has, so a declaration cannot drift from what verify reports
here, and ``reports/findings.md`` on a fresh clone has no disagreement to print.
"""

from __future__ import annotations

import pytest

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run.checks import RELEASES, releases
from stageflow_verify.core.sut import stageflow_label, stageflow_module

FINDINGS = registry.discover_findings()


def test_releases_are_ordered_and_a_range_includes_both_ends() -> None:
    assert releases("0.9.6") == ("0.9.6", "1.0.0", "1.1.0", "1.2.0")
    assert releases("0.5.0", "0.5.1") == ("0.5.0", "0.5.1")
    assert releases() == RELEASES and len(set(RELEASES)) == len(RELEASES)


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.id)
def test_a_finding_declares_measured_releases_oldest_first(finding: registry.Finding) -> None:
    assert finding.versions, "declare the releases it reproduces on"
    assert set(finding.versions) <= set(RELEASES), "declare releases verify-all measures"
    assert list(finding.versions) == sorted(finding.versions, key=RELEASES.index)


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.id)
def test_a_finding_reproduces_here_exactly_when_it_declares_this_release(
    finding: registry.Finding,
) -> None:
    label = stageflow_label(stageflow_module())
    if label not in RELEASES:
        pytest.skip(f"stageflow {label} is not a measured release")
    assert registry.still_reproduces(finding) == (label in finding.versions)
