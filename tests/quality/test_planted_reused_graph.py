"""The reuse part of ``helpers.run_utils`` (a built graph kept across runs, with and without
hardening): SF-HELP-05 is rediscovered when not adopted, a Stageflow that fixes it passes, and
a second planted bug is caught while SF-HELP-05 is adopted.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from stageflow_verify.properties.reused_graph import reuse_check
from stageflow_verify.properties.run_helpers import run_helpers_law
from stageflow_verify.stateful.helper_hardening_findings import hardening_on_a_stack
from tests.quality.planting import expect_failure, expect_pass

run_utils = pytest.importorskip("stageflow.helpers.run_utils")
sf = pytest.importorskip("stageflow")
pytestmark = pytest.mark.skipif(
    hardening_on_a_stack(sf) is not None, reason="no runner here hardens a graph's stack"
)
FOUND = frozenset({"SF-HELP-01", "SF-HELP-02", "SF-HELP-03"})  # the others 1.2.0 reproduces


def test_sf_help_05_is_rediscovered_when_not_adopted() -> None:
    caught = expect_failure(lambda: reuse_check(FOUND))
    assert "immutability violations logged per run" in str(caught.error), caught.error
    expect_pass(lambda: reuse_check(FOUND | {"SF-HELP-05"}))


def test_a_runner_that_puts_the_stack_back_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stageflow with SF-HELP-05 fixed: the finding stops reproducing, is not adopted, and the
    # law's plain model must hold.
    real = run_utils.PipelineRunner.run

    @functools.wraps(real)
    async def run(self: Any, pipeline: Any, **kwargs: Any) -> Any:
        saved = getattr(pipeline, "_interceptors", None)
        try:
            return await real(self, pipeline, **kwargs)
        finally:
            if saved is not None:
                pipeline._interceptors = saved

    monkeypatch.setattr(run_utils.PipelineRunner, "run", run)
    expect_pass(run_helpers_law)


def test_a_size_monitor_that_checks_immutability_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = run_utils.PipelineRunner.__init__

    @functools.wraps(real)  # the signature the feature probes read stays the real one
    def init(self: Any, **kwargs: Any) -> None:
        if kwargs.get("enable_context_size_monitor"):
            kwargs["enable_immutability_check"] = True  # the planted bug: one option sets both
        real(self, **kwargs)

    monkeypatch.setattr(run_utils.PipelineRunner, "__init__", init)
    caught = expect_failure(run_helpers_law)  # SF-HELP-05 still reproduces and is adopted
    assert "SF-HELP-05" in str(caught.error), caught.error
    assert "immutability violations logged per run" in str(caught.error), caught.error
