"""Planted bugs in the subpipeline records a caller builds (SubpipelineResult and the four
event classes): a changed default or a record that can be reassigned fails its law; pristine
Stageflow passes both laws. Defaults are planted by editing the generated ``__init__``'s
``__defaults__`` (what a changed dataclass default compiles to), frozenness by restoring
``object.__setattr__``; both are monkeypatches undone after the test."""

from __future__ import annotations

from typing import Any

import pytest

from stageflow_verify.properties import records, subpipeline_events
from tests.quality.planting import expect_failure, expect_pass

subpipeline = pytest.importorskip("stageflow.pipeline.subpipeline")


def _check(module: Any, name: str) -> Any:
    return next(c for c in module.CHECKS if c.name == name).run


def _default(mp: pytest.MonkeyPatch, cls: Any, index: int, value: Any) -> None:
    defaults = list(cls.__init__.__defaults__)
    defaults[index] = value
    mp.setattr(cls.__init__, "__defaults__", tuple(defaults))


def test_pristine_stageflow_passes_both_record_laws() -> None:
    expect_pass(_check(records, "values.subpipeline_result_to_dict"))
    expect_pass(_check(subpipeline_events, "values.subpipeline_events"))


def test_a_changed_result_duration_default_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    _default(monkeypatch, subpipeline.SubpipelineResult, 2, 1.0)  # duration_ms 0.0 -> 1.0
    caught = expect_failure(_check(records, "values.subpipeline_result_to_dict"))
    assert "duration_ms=1.0" in str(caught.error), caught.report


@pytest.mark.parametrize(
    ("cls", "index", "value"),
    [
        ("PipelineCanceledEvent", 2, 1),  # cascade_depth 0 -> 1
        ("PipelineCanceledEvent", 1, "timeout"),  # reason
        ("PipelineChildFailedEvent", 0, 1.0),  # duration_ms
    ],
)
def test_a_changed_event_default_fails(
    monkeypatch: pytest.MonkeyPatch, cls: str, index: int, value: Any
) -> None:
    _default(monkeypatch, getattr(subpipeline, cls), index, value)
    caught = expect_failure(_check(subpipeline_events, "values.subpipeline_events"))
    assert f"{cls}(" in str(caught.error), caught.report


def test_an_event_that_can_be_reassigned_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subpipeline.PipelineSpawnedChildEvent, "__setattr__", object.__setattr__)
    caught = expect_failure(_check(subpipeline_events, "values.subpipeline_events"))
    assert "could be reassigned" in str(caught.error), caught.report
