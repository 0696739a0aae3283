"""Each built-in invariant of core/sut/user fails on a planted bug and holds on pristine code.

Stageflow's bugs are planted by monkeypatching inside the test (fork sharing the parent's data
dict, fork dropping the tenant, the cleanup registry running callbacks twice); the user-side
bugs (a stage abandoning a task, a stage mutating its input) are planted in the stage code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from stageflow_verify.core.sut.user import PipelineInvariantError, explore_pipeline
from tests.quality.planting import expect_failure, expect_pass

sf = pytest.importorskip("stageflow")
BUDGET = 15  # examples: each planted bug below fails on the first run


def _context() -> Any:
    return sf.PipelineContext.create(
        pipeline_run_id=UUID(int=1), user_id=UUID(int=2), org_id=UUID(int=3), data={"doc": {}}
    )


def _one_stage(runner: Callable[..., Any]) -> Callable[[Any], Any]:
    return lambda ctx: sf.Pipeline(name="p").with_stage("only", runner, sf.StageKind.TRANSFORM)


def _explore(pipeline: Callable[[Any], Any]) -> Callable[[], None]:
    return lambda: explore_pipeline(pipeline, _context, faults=None, max_examples=BUDGET)


def _abandoning(abandon: bool) -> Callable[[Any], Any]:
    async def stage(stage_ctx: Any) -> Any:
        task = asyncio.create_task(asyncio.sleep(1.0))  # a background refresh
        if not abandon:
            await task
        return sf.StageOutput.ok()

    return _one_stage(stage)


def _forking(ctx: Any) -> Any:
    async def stage(stage_ctx: Any) -> Any:
        child = ctx.fork(
            child_run_id=UUID(int=9), parent_stage_id="only", correlation_id=UUID(int=8)
        )
        await asyncio.sleep(0)
        child.data["draft"] = "child's"
        return sf.StageOutput.ok()

    return _one_stage(stage)(ctx)


def _cleaning(ctx: Any) -> Any:
    def stage_for(graph_box: list[Any]) -> Any:
        async def stage(stage_ctx: Any) -> Any:
            async def close() -> None:
                await asyncio.sleep(0)

            graph_box[0].register_cleanup(close, name="close connection")
            return sf.StageOutput.ok()

        return stage

    box: list[Any] = [None]
    graph = _one_stage(stage_for(box))(ctx).build()
    box[0] = graph
    return graph


def _reading(mutate: bool) -> Callable[[Any], Any]:
    async def produce(stage_ctx: Any) -> Any:
        return sf.StageOutput.ok(items=[1, 2])

    async def consume(stage_ctx: Any) -> Any:
        items = stage_ctx.inputs.get_output("produce").data["items"]
        if mutate:
            items.append(3)  # "just add ours to the list"
        else:
            items = [*items, 3]
        return sf.StageOutput.ok(total=sum(items))

    return lambda ctx: (
        sf.Pipeline(name="p")
        .with_stage("produce", produce, sf.StageKind.TRANSFORM)
        .with_stage("consume", consume, sf.StageKind.TRANSFORM, ("produce",))
    )


def _plant_fork(monkeypatch: pytest.MonkeyPatch, damage: Callable[[Any, Any], None]) -> None:
    original = sf.PipelineContext.fork

    def fork(self: Any, *args: Any, **kwargs: Any) -> Any:
        child = original(self, *args, **kwargs)
        damage(self, child)
        return child

    monkeypatch.setattr(sf.PipelineContext, "fork", fork)


def _violation(run: Callable[[], None], invariant: str) -> str:
    caught = expect_failure(run)
    assert isinstance(caught.error, PipelineInvariantError), caught.report
    message = str(caught.error)
    assert f"- {invariant}: " in message, message
    return message


def test_a_task_abandoned_by_a_stage_is_left_running() -> None:
    expect_pass(_explore(_abandoning(False)))
    message = _violation(_explore(_abandoning(True)), "no_task_left_running")
    assert "(sleep, created by" in message


def test_a_child_sharing_its_parents_data_dict_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    expect_pass(_explore(_forking))

    def share(parent: Any, child: Any) -> None:
        child.data = parent.data

    _plant_fork(monkeypatch, share)
    message = _violation(_explore(_forking), "child_writes_stay_in_the_child")
    assert "data['draft'] = \"child's\"" in message


def test_a_fork_dropping_the_org_id_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def drop(parent: Any, child: Any) -> None:
        child.org_id = None

    _plant_fork(monkeypatch, drop)
    message = _violation(_explore(_forking), "tenant_ids_preserved")
    assert "org_id=None" in message


def test_a_cleanup_run_twice_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    expect_pass(_explore(_cleaning))
    registry = sf.pipeline.cancellation.CleanupRegistry
    original = registry.run_all

    async def twice(self: Any, *args: Any, **kwargs: Any) -> Any:
        callbacks = list(self._callbacks)
        result = await original(self, *args, **kwargs)
        self._callbacks.extend(callbacks)
        await original(self, *args, **kwargs)
        return result

    monkeypatch.setattr(registry, "run_all", twice)
    message = _violation(_explore(_cleaning), "each_cleanup_ran_once")
    assert "'close connection' started 2 times" in message


def test_a_stage_mutating_its_input_changes_the_results() -> None:
    expect_pass(_explore(_reading(False)))
    message = _violation(_explore(_reading(True)), "results_agree_with_stage_outputs")
    assert "results['produce'].data is {'items': [1, 2, 3]}" in message
