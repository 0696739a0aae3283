"""Planted bugs in PipelineContext's snapshot round trip fail values.pipeline_context_ids;
pristine Stageflow passes it. A changed default is planted by editing the ``__kwdefaults__``
of the real ``from_snapshot`` (what a changed keyword default compiles to), undone after the
test."""

from __future__ import annotations

from typing import Any

import pytest

from stageflow_verify.properties import pipeline_context
from tests.quality.planting import expect_failure, expect_pass

PipelineContext = pytest.importorskip("stageflow").PipelineContext


def _law() -> Any:
    return next(c for c in pipeline_context.CHECKS if c.name == "values.pipeline_context_ids").run


def test_pristine_stageflow_passes_the_ids_law() -> None:
    expect_pass(_law())


@pytest.mark.parametrize(("argument", "value"), [("canceled", True), ("service", "voice")])
def test_a_changed_from_snapshot_default_fails_the_ids_law(
    monkeypatch: pytest.MonkeyPatch, argument: str, value: Any
) -> None:
    # The generated mutant stages/context.py:286:ReplaceFalseWithTrue:2 is the first.
    function = PipelineContext.from_snapshot.__func__
    defaults = dict(function.__kwdefaults__)
    assert argument in defaults, f"from_snapshot no longer takes {argument}"
    monkeypatch.setattr(function, "__kwdefaults__", {**defaults, argument: value})
    caught = expect_failure(_law())
    assert "with its defaults gave" in str(caught.error), caught.report
