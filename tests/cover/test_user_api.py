"""The user API of core/sut/user composes with pytest and Hypothesis as documented."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stageflow_verify.core.sut.user import PipelineRun, check_pipeline_run, replay_pipeline_run
from stageflow_verify.core.sut.user.fixture import PipelineExplorer, stageflow_pipeline

sf = pytest.importorskip("stageflow")
__all__ = ["stageflow_pipeline"]  # the fixture, registered here as the plugin registers it


def _context() -> Any:
    return sf.PipelineContext.create(input_text="x", data={"seen": []})


def _fan_out(width: int) -> Any:
    def pipeline(ctx: Any) -> Any:
        def stage(i: int) -> Any:
            async def run(stage_ctx: Any) -> Any:
                await asyncio.sleep(0.01)
                ctx.data["seen"].append(i)
                return sf.StageOutput.ok(i=i)

            return run

        built = sf.Pipeline(name="w")
        for i in range(width):
            built = built.with_stage(f"s{i}", stage(i), sf.StageKind.TRANSFORM)
        return built

    return pipeline


def _all_seen(width: int) -> Any:
    def all_seen(run: PipelineRun) -> list[str]:
        if run.outcome != "ok":
            return []
        seen = sorted(run.ctx.data["seen"])
        return [] if seen == list(range(width)) else [f"seen {seen}"]

    return all_seen


@settings(max_examples=10)
@given(width=st.integers(1, 3), data=st.data())
def test_check_pipeline_run_draws_alongside_the_tests_own_arguments(
    width: int, data: st.DataObject
) -> None:
    run = check_pipeline_run(data, _fan_out(width), _context, invariants=[_all_seen(width)])
    assert run.outcome in ("ok", "failed", "cancelled")


@settings(max_examples=5)
@given(data=st.data())
def test_the_fixture_works_inside_given(
    stageflow_pipeline: PipelineExplorer, data: st.DataObject
) -> None:
    stageflow_pipeline.check(data, _fan_out(2), _context, faults=None)


def test_a_stock_order_replay_runs_every_stage() -> None:
    run = replay_pipeline_run(_fan_out(3), _context, [], invariants=[_all_seen(3)])
    assert run.outcome == "ok"
    assert sorted(run.results or {}) == ["s0", "s1", "s2"]


def test_a_factory_returning_something_else_is_refused_with_advice() -> None:
    with pytest.raises(TypeError, match="not a stageflow Pipeline or built graph"):
        replay_pipeline_run(lambda ctx: object(), _context, [])
