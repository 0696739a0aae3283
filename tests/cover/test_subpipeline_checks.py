"""The subpipeline checks and findings against the installed Stageflow (1.2.0), and the adapter's
bridge to a spawn without ``inherit_data`` (0.5.1's signature, planted on the installed one)."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from stageflow_verify.core.run.checks import discover_checks, discover_findings, reproducing_ids
from stageflow_verify.core.sut import UnsupportedFeature, stageflow_module, stageflow_version
from stageflow_verify.core.sut.subpipeline_driver import Driver
from stageflow_verify.core.sut.subpipeline_roots import bridge_inherit, features
from stageflow_verify.core.sut.subpipelines import SubpipelineHarness
from stageflow_verify.properties.subpipeline_depth import CHECK as DEPTH_CHECK
from stageflow_verify.properties.subpipeline_depth import FINDINGS as DEPTH_FINDINGS
from stageflow_verify.stateful.subpipeline_findings import SUBPIPELINE_FINDINGS
from stageflow_verify.stateful.subpipeline_machine import FINDINGS, run_spawn_tree
from stageflow_verify.stateful.subpipeline_memory import (
    UNEXPLAINED_LIMIT,
    retention_report,
    run_no_retention,
)


def test_the_checks_and_findings_are_discovered_once() -> None:
    names = {c.name for c in discover_checks()}
    assert {"subpipelines.spawn_tree", "subpipelines.no_retention", DEPTH_CHECK} <= names
    ids = [f.id for f in discover_findings() if f.id.startswith("SF-SUB-")]
    # The machine's findings, and the depth-limit law's (a chain the machine never builds).
    assert ids == sorted(f.id for f in [*SUBPIPELINE_FINDINGS, *DEPTH_FINDINGS])
    assert FINDINGS is SUBPIPELINE_FINDINGS


@pytest.mark.parametrize("finding", SUBPIPELINE_FINDINGS, ids=lambda f: f.id)
def test_every_finding_reproduces_on_the_installed_stageflow(finding: object) -> None:
    from stageflow_verify.core.run.checks import Finding

    assert isinstance(finding, Finding)
    assert re.fullmatch(r"SF-SUB-\d\d", finding.id)
    # The declared releases are what verify-all measured (test_finding_declarations.py checks
    # them against the installed release); here: a declaration, a promise and what was seen.
    assert finding.versions and finding.promise and finding.observed
    assert stageflow_version() in finding.versions
    assert finding.reproduce(stageflow_module()) is True


def test_the_machine_adopts_every_reproducing_finding() -> None:
    assert reproducing_ids(FINDINGS) == frozenset(f.id for f in SUBPIPELINE_FINDINGS)


def test_pristine_stageflow_passes_the_spawn_tree_check() -> None:
    run_spawn_tree()


def test_pristine_stageflow_passes_the_retention_check() -> None:
    run_no_retention()


def test_plain_cycles_retain_nothing_and_cancelling_ones_only_the_kept_ids() -> None:
    report = retention_report()
    assert report["plain"]["bytes_per_cycle"] < UNEXPLAINED_LIMIT
    assert report["cancelling"]["ids_kept_per_cycle"] == 2.0  # SF-SUB-01: child + grandchild
    assert report["cancelling"]["left_depths"] == report["cancelling"]["left_tracker_parents"] == 0


def test_harnesses_share_no_sink_tracker_or_ids() -> None:
    first, second = (Driver(SubpipelineHarness(("r0",))) for _ in range(2))
    try:
        assert first.run(first.harness.spawn("r0", "c1")) == ("spawned",)
        assert second.harness.observe()["events"] == {"ambient": [], "context": []}
        assert second.harness.observe()["tracker"] == {"children": {}, "parents": {}}
    finally:
        first.close()
        second.close()
    assert stageflow_module().pipeline.subpipeline.uuid4.__module__ == "uuid"


def _spawn_without_inherit_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0.5.1's signature: no inherit_data, no data_overrides, no **kwargs.
    spawner = stageflow_module().pipeline.subpipeline.SubpipelineSpawner
    original = spawner.spawn

    async def spawn(
        self: Any,
        pipeline_name: str,
        parent_ctx: Any,
        correlation_id: Any,
        parent_stage_id: str,
        runner: Any,
        *,
        topology: str | None = None,
        execution_mode: str | None = None,
    ) -> Any:
        return await original(
            self,
            pipeline_name,
            parent_ctx,
            correlation_id,
            parent_stage_id,
            runner,
            topology=topology,
            execution_mode=execution_mode,
        )

    monkeypatch.setattr(spawner, "spawn", spawn)


def test_inherit_data_is_bridged_only_where_spawn_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    spawn = stageflow_module().pipeline.subpipeline.SubpipelineSpawner.spawn
    has_it = "inherit_data" in inspect.signature(spawn).parameters  # 1.2.0: yes, 0.5.1: no
    assert features().inherit_data is has_it and bridge_inherit(True) is has_it
    _spawn_without_inherit_data(monkeypatch)
    assert not features().inherit_data and bridge_inherit(True) is False
    driver = Driver(SubpipelineHarness(("r0",)))
    try:
        assert driver.run(driver.harness.spawn("r0", "c1")) == ("spawned",)
        assert driver.harness.observe()["data"]["c1"] == {"run": "c1"}
        # The suite's refusal (an ERROR row if it ever happened), never a Stageflow error.
        with pytest.raises(UnsupportedFeature, match="inherit_data"):
            driver.run(driver.harness.spawn("r0", "c2", inherit=True))
    finally:
        driver.close()
