"""The idempotency reproducers' legacy path (``stateful/idempotency_legacy.py``): where a built
graph runs no interceptors they run a legacy ``StageGraph``. On 1.2.0 the built-graph path is
taken, so these tests force the other one (``needs_stack`` saying no) and check that it
reproduces each finding through StageGraph, that it stops reproducing once the StageGraph's
stack holds no IdempotencyInterceptor (the reproducers judge what they run), and the probe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful import idempotency_legacy as legacy

sf = stageflow_module()
THROUGH_STAGE_GRAPH: list[Callable[[Any], bool]] = [
    legacy.later_stage_replays_earlier_stage,
    legacy.cancelled_stage_keeps_the_key_locked,
    legacy.third_request_gets_empty_data,
    legacy.aborted_stage_keeps_the_key_locked,
]


@pytest.fixture
def no_built_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(legacy, "needs_stack", lambda sf: "built graphs run no interceptors")


@pytest.mark.parametrize("reproduce", THROUGH_STAGE_GRAPH, ids=lambda f: f.__name__)
def test_each_reproduces_through_the_stage_graph(
    no_built_stack: None, reproduce: Callable[[Any], bool]
) -> None:
    assert reproduce(sf) is True


@pytest.mark.parametrize("reproduce", THROUGH_STAGE_GRAPH, ids=lambda f: f.__name__)
def test_none_reproduces_without_the_idempotency_interceptor(
    no_built_stack: None, monkeypatch: pytest.MonkeyPatch, reproduce: Callable[[Any], bool]
) -> None:
    from stageflow.pipeline import interceptors

    original = interceptors.get_default_interceptors
    monkeypatch.setattr(
        interceptors,
        "get_default_interceptors",
        lambda **kw: original(**{**kw, "include_idempotency": False}),
    )
    assert reproduce(sf) is False


def test_the_probe_follows_the_stage_graph(
    no_built_stack: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert legacy.legacy_idempotency(sf) is None
    assert "no stage kind" in (legacy.built_graphs_only(sf) or "")
    monkeypatch.delattr(sf.pipeline.dag, "StageGraph")
    assert "no legacy StageGraph" in (legacy.legacy_idempotency(sf) or "")
