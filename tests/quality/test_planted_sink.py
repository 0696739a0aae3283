"""``lifecycle.backpressure_sink`` against bugs planted in BackpressureAwareEventSink.

- The law adopting all known findings but one fails on pristine Stageflow, for each of
  SF-LIFE-06 and SF-LIFE-07 (the law sees each on its own, under the selected profile).
- A ``stop`` keeping the documented promise (the worker delivers everything queued, failures
  logged as it always does, then stops) passes and turns both findings FIXED: the model's
  expectation is reachable, so the law can pass.
- Drops counted in ``dropped`` but not in ``queue_full_count`` are caught.

Every patch lives only inside its test (``monkeypatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import Any

import pytest

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties.backpressure_sink import (
    FINDINGS,
    applies,
    backpressure_sink_law,
    run_backpressure_sink_law,
)
from tests.quality.planting import expect_failure, expect_pass

if applies(stageflow_module()) is not None:
    pytest.skip(str(applies(stageflow_module())), allow_module_level=True)

sink_module = importlib.import_module("stageflow.events.sink")
Sink = sink_module.BackpressureAwareEventSink
ORIGINAL_STOP = Sink.stop


@pytest.mark.parametrize("left_out", [f.id for f in FINDINGS])
def test_law_without_one_finding_fails_on_pristine(left_out: str) -> None:
    active = reproducing_ids(FINDINGS) - {left_out}
    caught = expect_failure(lambda: backpressure_sink_law(active=active))
    assert "BackpressureAwareEventSink differs" in str(caught.error), caught.error


async def stop_as_documented(self: Any, *, drain: bool = True, timeout: float = 5.0) -> None:
    """Drain by letting the worker finish every queued event (it logs failures), then stop."""
    if self._running and drain:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=timeout)
    await ORIGINAL_STOP(self, drain=False, timeout=timeout)


def test_stop_as_documented_passes_and_fixes_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Sink, "stop", stop_as_documented)
    assert not reproducing_ids(FINDINGS), "SF-LIFE-06 and 07 should be FIXED by the patch"
    expect_pass(run_backpressure_sink_law)


def test_drops_left_out_of_queue_full_count_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def record_drop(self: Any) -> None:
        self.dropped += 1  # the planted bug: queue_full_count and last_drop_time not updated

    monkeypatch.setattr(sink_module.BackpressureMetrics, "record_drop", record_drop)
    caught = expect_failure(run_backpressure_sink_law)
    assert "metrics" in str(caught.error), caught.error
