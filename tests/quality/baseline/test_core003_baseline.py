"""The CORE-003 report's tests, rewritten against stageflow 1.2.0: gather once, then count.

Each test mirrors one row of the report's results (H1 fork isolation, H2 OutputBag concurrency,
H3 parent protection, tenant isolation, race condition, H4 error propagation, retry and
recovery, cleanup verification). They use stock asyncio and one run each, as the report did;
see README.md for why they must stay that way.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any
from uuid import UUID, uuid4

import stageflow as sf
from stageflow.pipeline.subpipeline import ChildRunTracker, SubpipelineSpawner


def _parent(**data: Any) -> Any:
    return sf.PipelineContext.create(
        pipeline_run_id=uuid4(), org_id=uuid4(), user_id=uuid4(), session_id=uuid4(), data=data
    )


def _spawner() -> tuple[SubpipelineSpawner, ChildRunTracker]:
    tracker = ChildRunTracker()
    return SubpipelineSpawner(tracker, emit_events=False), tracker


def test_h1_fork_gives_the_child_its_own_copy() -> None:
    parent = _parent(user="alice", count=1)
    child = parent.fork(uuid4(), "stage", uuid4(), inherit_data=True)
    child.data["user"] = "mallory"
    assert parent.data == {"user": "alice", "count": 1}
    assert child.get_parent_data("user") == "alice"


def test_h3_child_cannot_corrupt_the_parent() -> None:
    parent = _parent(plan="free")
    child = parent.fork(uuid4(), "stage", uuid4())
    child.data["plan"] = "enterprise"
    child.configuration["debug"] = True
    assert parent.data["plan"] == "free"
    assert "debug" not in parent.configuration


def test_tenant_fields_are_inherited() -> None:
    parent = _parent()
    child = parent.fork(uuid4(), "stage", uuid4())
    assert (child.org_id, child.user_id) == (parent.org_id, parent.user_id)
    assert child.parent_run_id == parent.pipeline_run_id and child.is_child_run


def test_h2_fifty_parallel_output_bag_writes_are_all_kept() -> None:
    async def main() -> Any:
        bag = sf.context.OutputBag()
        await asyncio.gather(
            *(bag.write(f"stage_{i}", sf.StageOutput.ok(data={"i": i})) for i in range(50))
        )
        return bag

    bag = asyncio.run(main())
    assert len(bag) == 50
    assert all(bag.get_value(f"stage_{i}", "i") == i for i in range(50))


def test_race_condition_two_hundred_concurrent_writes_lose_nothing() -> None:
    async def main() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            bag = sf.context.ContextBag()
        await asyncio.gather(*(bag.write(f"key_{i}", i, f"stage_{i}") for i in range(200)))
        return bag

    bag = asyncio.run(main())
    assert len(bag.keys()) == 200, "lost updates"


def test_h4_a_failing_child_is_reported_to_the_parent() -> None:
    async def failing(ctx: Any) -> Any:
        raise RuntimeError("child exploded")

    async def main() -> Any:
        spawner, _ = _spawner()
        return await spawner.spawn("child", _parent(), uuid4(), "stage", failing)

    result = asyncio.run(main())
    assert not result.success and "child exploded" in (result.error or "")


def test_parallel_subpipelines_each_return_their_data() -> None:
    async def child(ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"run": str(ctx.pipeline_run_id)}

    async def main() -> list[Any]:
        spawner, _ = _spawner()
        parent = _parent()
        return list(
            await asyncio.gather(
                *(spawner.spawn("child", parent, uuid4(), "stage", child) for _ in range(10))
            )
        )

    results = asyncio.run(main())
    assert all(r.success for r in results)
    assert len({r.data["run"] for r in results}) == 10


def test_cleanup_leaves_no_orphaned_children() -> None:
    async def child(ctx: Any) -> dict[str, Any]:
        return {}

    async def main() -> set[UUID]:
        spawner, tracker = _spawner()
        parent = _parent()
        await asyncio.gather(
            *(spawner.spawn("child", parent, uuid4(), "stage", child) for _ in range(5))
        )
        return await tracker.get_children(parent.pipeline_run_id)

    assert asyncio.run(main()) == set()


def test_retry_recovery_reaches_the_second_attempt() -> None:
    attempts = {"n": 0}

    async def flaky(ctx: Any) -> Any:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise ConnectionError("transient")
        return sf.StageOutput.ok(data={"attempt": attempts["n"]})

    from stageflow.pipeline.retry import RetryInterceptor

    graph = (
        sf.Pipeline(name="recovery")
        .with_stage("flaky", flaky, sf.StageKind.TRANSFORM)
        .build(interceptors=[RetryInterceptor(max_attempts=3, base_delay_ms=1)])
    )
    results = asyncio.run(graph.run(sf.PipelineContext.create(input_text="go")))
    assert results["flaky"].data["attempt"] == 2


def test_state_recovery_after_cancellation() -> None:
    parent = _parent(step=1)
    parent.mark_canceled("user")
    child = parent.fork(uuid4(), "stage", uuid4(), inherit_data=True)
    assert parent.data == {"step": 1} and child.data == {"step": 1}
    assert parent.canceled and parent.cancellation_reason == "user"
