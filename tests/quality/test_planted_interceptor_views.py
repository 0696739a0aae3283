"""Planted bugs in what an interceptor reads and answers, one per rule the probes of
``interceptors.stack`` check (``models/interceptor_config.py`` ``view_of``,
``models/interceptor_runs.py`` ``_with_observations``): each must fail the check with a shrunk
counterexample; ``test_planted_interceptors.py`` shows pristine Stageflow passes.

The rules: an ``InterceptorContext`` is a read-only view (its ``data`` a copy, its ids the
run's); an observation added in ``before`` is read back in ``after``; ``BaseInterceptor``'s
own ``before`` answers None ("None to continue"); a child run goes through the stack as a
root run does (``ChildTrackerMetricsInterceptor`` only logs).
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("stageflow.pipeline.idempotency", reason="no IdempotencyInterceptor here")

from stageflow_verify.core.sut import stageflow_module
from tests.quality.test_planted_interceptors import _caught_shrunk

sf = stageflow_module()
interceptors = sf.pipeline.interceptors
View = interceptors.InterceptorContext


def test_a_view_handing_out_the_live_data_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planted bug: "Read-only copy of context data" is the context's own dict.
    monkeypatch.setattr(View, "data", property(lambda self: self._ctx.data))
    _caught_shrunk("hooks:")


def test_a_view_with_the_wrong_id_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(View, "request_id", property(lambda self: self._ctx.session_id))
    _caught_shrunk("hooks:")


def test_a_lost_observation_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def in_another_namespace(self: Any, key: str, value: Any) -> None:
        self._ctx.data.setdefault(f"_interceptor.{self._interceptor_name}.x", {})[key] = value

    monkeypatch.setattr(View, "add_observation", in_another_namespace)
    _caught_shrunk("hooks:")


def test_a_base_before_that_short_circuits_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def skipping(self: Any, stage_name: str, ctx: Any) -> Any:
        return interceptors.InterceptorResult(stage_ran=False, result={"skipped": True})

    monkeypatch.setattr(interceptors.BaseInterceptor, "before", skipping)
    _caught_shrunk("differs from the model")


def test_a_child_run_aborted_by_the_tracker_metrics_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracker = interceptors.ChildTrackerMetricsInterceptor
    logged = tracker.after

    async def aborting(self: Any, stage_name: str, result: Any, ctx: Any) -> None:
        await logged(self, stage_name, result, ctx)
        if ctx.is_child_run:  # the planted bug: metrics logging lets a failure out
            raise interceptors.CriticalInterceptorError("tracker down", self.name)

    monkeypatch.setattr(tracker, "after", aborting)
    _caught_shrunk("differs from the model")
