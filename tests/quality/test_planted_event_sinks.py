"""Bugs planted in the global event sink and the built-in sinks, each caught by
``lifecycle.event_sinks`` with a shrunk program; pristine Stageflow passes.

- ``clear_event_sink`` that leaves the last sink in place ("Reset to default (NoOp) sink");
- ``LoggingEventSink.try_emit`` logging at INFO whatever level the sink was given;
- ``emit_event`` that goes to a fresh NoOp sink instead of "the current event sink".
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties.event_sinks import run_event_sinks_law
from tests.quality.planting import expect_failure, expect_pass

sf = stageflow_module()
sink_module = sf.events.sink


def test_pristine_stageflow_passes() -> None:
    expect_pass(run_event_sinks_law)


def test_clear_that_keeps_the_sink_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sf, "clear_event_sink", lambda: None)  # the planted bug
    caught = expect_failure(run_event_sinks_law)
    assert "get_event_sink() after each step" in str(caught.error), caught.error
    assert "'clear'" in str(caught.error), caught.error


def test_logging_sink_ignoring_its_level_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def try_emit(self: Any, *, type: str, data: dict[str, Any] | None) -> None:
        self._logger.log(
            logging.INFO, "Event: %s", type, extra={"event_type": type, "event_data": data}
        )

    monkeypatch.setattr(sink_module.LoggingEventSink, "try_emit", try_emit)
    caught = expect_failure(run_event_sinks_law)
    assert "events received" in str(caught.error) and "try_emit" in str(caught.error), caught.error


def test_emit_event_bypassing_the_current_sink_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def emit_event(*, type: str, data: dict[str, Any] | None) -> None:
        await sf.NoOpEventSink().emit(type=type, data=data)  # the planted bug

    monkeypatch.setattr(sf.events, "emit_event", emit_event)
    caught = expect_failure(run_event_sinks_law)
    assert "events received" in str(caught.error) and "emit_event" in str(caught.error), (
        caught.error
    )
