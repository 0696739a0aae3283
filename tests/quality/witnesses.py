"""Witnesses: tiny programs whose result differs between pristine stageflow and a mutant.

A mutant that behaves exactly like the original (an *equivalent* mutant) can never be killed, so
counting it would understate the suite; each catalogued mutant therefore names a witness here.
``python -m tests.quality.witnesses NAME...`` runs them against whatever ``stageflow`` is first
on ``PYTHONPATH`` and prints one JSON object, name -> result (a string; an exception becomes
``raised Type``), as its last line. The mutation runner and ``test_mutant_catalog`` compare the
pristine and the mutated results.

Witnesses use stock asyncio on purpose: each is a direct probe of the edited line, not a
search, so it only needs to differ, not to be found.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any
from uuid import UUID

import stageflow as sf

WITNESSES: dict[str, Callable[[], object]] = {}


def witness(fn: Callable[[], object]) -> Callable[[], object]:
    WITNESSES[fn.__name__] = fn
    return fn


def _root(**kwargs: Any) -> Any:
    ids: dict[str, Any] = {
        f: UUID(int=n) for n, f in enumerate(("pipeline_run_id", "org_id", "user_id"), 1)
    }
    return sf.PipelineContext.create(**ids, session_id=UUID(int=9), **kwargs)


def _fork(parent: Any, **kwargs: Any) -> Any:
    return parent.fork(UUID(int=0x100), "stage", UUID(int=0x200), **kwargs)


@witness
def fork_data() -> object:
    parent = _root(data={"a": 1, "b": 2})
    shared = _fork(parent, inherit_data=True)
    shared.data["new"] = 0
    some = _fork(parent, inherit_data=["a"], data_overrides={"o": 1})
    return [sorted(parent.data), sorted(some.data)]


@witness
def fork_parent_data() -> object:
    return _fork(_root(data={"a": 1})).get_parent_data("a")


@witness
def fork_dicts() -> object:
    parent = _root(configuration={"c": 1}, metadata={"m": 1})
    child = _fork(parent)
    child.configuration["x"] = 1
    child.metadata["x"] = 1
    return [sorted(parent.configuration), sorted(parent.metadata)]


@witness
def fork_identity() -> object:
    child = _fork(_root())
    fields = ("org_id", "user_id", "session_id", "parent_run_id")
    return [str(getattr(child, f)) for f in fields] + [child.is_child_run]


@witness
def fork_names() -> object:
    return _fork(_root(topology="t1"), topology="t2").topology


@witness
def fork_cancel() -> object:
    parent = _root()
    parent.mark_canceled("first")
    parent.mark_canceled("second")
    return [parent.cancellation_reason, _fork(parent).canceled]


def _frozen() -> Any:
    from stageflow.utils.frozen import FrozenDict

    return FrozenDict


@witness
def frozen_dict_writes() -> object:
    source = {"a": 1}
    fd = _frozen()(source)
    results = []
    writes: list[tuple[str, Callable[[], object]]] = [
        ("setitem", lambda: fd.__setitem__("s", 1)),
        ("update", lambda: fd.update({"u": 1})),
        ("source", lambda: source.__setitem__("src", 1)),
        ("to_dict", lambda: fd.to_dict().__setitem__("t", 1)),
    ]
    for name, write in writes:
        try:
            write()
        except (TypeError, AttributeError):
            results.append(f"{name} refused")
    return [*results, sorted(fd)]


@witness
def frozen_dict_reads() -> object:
    fd = _frozen()({"a": 1, "b": 2})
    same = _frozen()({"b": 2, "a": 1})
    return [fd.get("x", 7), "a" in fd, list(fd.items()), hash(fd) == hash(same)]


@witness
def output_bag_race() -> object:
    async def main() -> list[str]:
        bag = sf.context.OutputBag()

        async def write(n: int) -> str:
            try:
                entry = await bag.write("s", sf.StageOutput.ok(data={"n": n}))
            except sf.context.OutputConflictError:
                return "conflict"
            return f"attempt {entry.attempt}"

        return sorted(await asyncio.gather(write(1), write(2)))

    return asyncio.run(main())


@witness
def output_bag_writes() -> object:
    async def main() -> list[object]:
        bag = sf.context.OutputBag()
        first = await bag.write("s", sf.StageOutput.ok())
        second = await bag.write("s", sf.StageOutput.ok(), allow_overwrite=True)
        await bag.write("once", sf.StageOutput.ok())
        try:
            await bag.write("s", sf.StageOutput.ok())
            clash = "stored"
        except sf.context.OutputConflictError:
            clash = "conflict"
        return [first.attempt, second.attempt, bag.get_attempt_count("s"), bag.get_retry_stages(),
                clash]  # fmt: skip

    return asyncio.run(main())


def _context_bag() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return sf.context.ContextBag()


@witness
def context_bag_race() -> object:
    async def main() -> list[str]:
        bag = _context_bag()

        async def write(stage: str) -> str:
            try:
                await bag.write("k", stage, stage)
            except sf.context.DataConflictError:
                return "conflict"
            return "stored"

        return sorted(await asyncio.gather(write("a"), write("b")))

    return asyncio.run(main())


@witness
def context_bag_writes() -> object:
    async def main() -> list[object]:
        bag = _context_bag()
        await bag.write("k", 1, "first")
        writer = bag.get_writer("k")
        try:
            await bag.write("k", 2, "second")
            clash = "stored"
        except sf.context.DataConflictError as exc:
            clash = f"conflict with {exc.existing_writer}"
        except Exception as exc:
            clash = f"raised {type(exc).__name__}"
        return [writer, clash, bag.read("k")]

    return asyncio.run(main())


def _spawner(max_depth: int = 5) -> tuple[Any, Any]:
    from stageflow.pipeline import subpipeline as sub

    tracker = sub.ChildRunTracker()
    return sub.SubpipelineSpawner(tracker, emit_events=False, max_depth=max_depth), tracker


@witness
def spawn_depth() -> object:
    async def main() -> list[object]:
        spawner, _ = _spawner(max_depth=2)
        reached: list[int] = []

        async def nest(ctx: Any) -> dict[str, Any]:
            reached.append(1)
            if len(reached) > 4:
                return {"ok": True}  # deep enough: max_depth is 2
            result = await spawner.spawn("p", ctx, UUID(int=1), "s", nest)
            return {"ok": result.success}

        await spawner.spawn("p", _root(), UUID(int=1), "s", nest)
        return [len(reached)]

    return asyncio.run(main())


@witness
def spawn_cleanup() -> object:
    async def main() -> list[object]:
        spawner, tracker = _spawner()
        root = _root()
        child_ids: list[Any] = []

        async def fails(ctx: Any) -> None:
            child_ids.append(ctx.pipeline_run_id)
            raise ValueError("child fails")

        async def ok(ctx: Any) -> dict[str, Any]:
            child_ids.append(ctx.pipeline_run_id)
            return {}

        await spawner.spawn("p", root, UUID(int=1), "s", fails)
        await spawner.spawn("p", root, UUID(int=1), "s", ok)
        children = await tracker.get_children(root.pipeline_run_id)
        parents = [await tracker.get_parent(c) for c in child_ids]
        return [len(children), [p is None for p in parents]]

    return asyncio.run(main())


@witness
def spawn_cancel() -> object:
    async def main() -> list[object]:
        spawner, tracker = _spawner()
        root, child, grandchild = UUID(int=1), UUID(int=2), UUID(int=3)
        await tracker.register_child(root, child)
        await tracker.register_child(child, grandchild)
        contexts = {run: _root() for run in (root, child, grandchild)}
        canceled = await spawner.cancel_with_children(root, contexts=contexts)
        return [len(canceled), [c.canceled for c in contexts.values()]]

    return asyncio.run(main())


@witness
def spawn_registration() -> object:
    async def main() -> object:
        spawner, tracker = _spawner()
        root = _root()

        async def look(ctx: Any) -> dict[str, Any]:
            children = await tracker.get_children(root.pipeline_run_id)
            return {"registered": ctx.pipeline_run_id in children}

        result = await spawner.spawn("p", root, UUID(int=1), "s", look)
        return result.data

    return asyncio.run(main())


@witness
def retry_decisions() -> object:
    from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

    async def main() -> list[str]:
        actions = []
        for max_attempts in (2, 3):
            retry = RetryInterceptor(
                max_attempts=max_attempts, base_delay_ms=1, jitter_strategy=JitterStrategy.NONE
            )
            ctx = _root()
            action = await retry._handle_retry("s", ctx, "boom")
            actions.append(f"{action.name} {ctx.data.get('_retry.s', {}).get('attempt')}")
        return actions

    return asyncio.run(main())


def _run_graph(pipeline: Any, ctx: Any, **build: Any) -> str:
    graph = pipeline.build(**build)
    try:
        results = asyncio.run(graph.run(ctx))
    except sf.UnifiedStageExecutionError as exc:
        return f"failed at {exc.stage}"
    return f"ok {sorted(results)}"


@witness
def guard_retry() -> object:
    from stageflow.pipeline.guard_retry import GuardRetryPolicy, GuardRetryStrategy

    outcomes = []
    for max_attempts in (1, 3):
        runs = {"n": 0}

        async def target(ctx: Any, runs: dict[str, int] = runs) -> Any:
            runs["n"] += 1
            return sf.StageOutput.ok(data={"attempt": runs["n"]})

        async def guard(ctx: Any) -> Any:
            seen = ctx.inputs.get_output("t").data["attempt"]
            return sf.StageOutput.ok() if seen >= 2 else sf.StageOutput.fail(error=f"saw {seen}")

        pipeline = (
            sf.Pipeline(name="w")
            .with_stage("t", target, sf.StageKind.TRANSFORM)
            .with_stage("g", guard, sf.StageKind.GUARD, ("t",))
        )
        policy = GuardRetryPolicy(retry_stage="t", max_attempts=max_attempts)
        strategy = GuardRetryStrategy(policies={"g": policy})
        ctx = sf.PipelineContext.create(input_text="w")
        outcomes.append(_run_graph(pipeline, ctx, guard_retry_strategy=strategy))
    return outcomes


@witness
def stage_timeout() -> object:
    from stageflow.pipeline.interceptors import TimeoutInterceptor

    async def slow(ctx: Any) -> Any:
        await asyncio.sleep(0.3)
        return sf.StageOutput.ok()

    pipeline = sf.Pipeline(name="w").with_stage("slow", slow, sf.StageKind.TRANSFORM)
    ctx = sf.PipelineContext.create(input_text="w", data={"_timeout_ms": 20})
    return _run_graph(pipeline, ctx, interceptors=[TimeoutInterceptor()])


@witness
def sibling_cancel() -> object:
    finished: list[str] = []

    async def raises(ctx: Any) -> Any:
        await asyncio.sleep(0.01)
        raise ValueError("a raises")

    async def slow(ctx: Any) -> Any:
        await asyncio.sleep(0.2)
        finished.append("b")
        return sf.StageOutput.ok()

    pipeline = (
        sf.Pipeline(name="w")
        .with_stage("a", raises, sf.StageKind.TRANSFORM)
        .with_stage("b", slow, sf.StageKind.TRANSFORM)
    )
    from stageflow.pipeline.interceptors import LoggingInterceptor

    ctx = sf.PipelineContext.create(input_text="w")
    try:
        outcome = _run_graph(pipeline, ctx, interceptors=[LoggingInterceptor()])
    except Exception as exc:
        outcome = f"raised {type(exc).__name__}"
    return [outcome, finished]


@witness
def run_cancel_cleanup() -> object:
    cleaned: list[str] = []

    async def main() -> None:
        async def slow(ctx: Any) -> Any:
            await asyncio.sleep(1)
            return sf.StageOutput.ok()

        graph: Any = sf.Pipeline(name="w").with_stage("s", slow, sf.StageKind.TRANSFORM).build()

        async def cleanup() -> None:
            cleaned.append("s")

        task = asyncio.ensure_future(graph.run(sf.PipelineContext.create(input_text="w")))
        await asyncio.sleep(0.01)
        graph.register_cleanup(cleanup, name="s")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    return cleaned


def _run(name: str) -> str:
    try:
        return json.dumps(WITNESSES[name](), default=repr)
    except Exception as exc:
        return f"raised {type(exc).__name__}"


def _fresh_run(copy: str, name: str) -> str:
    """Run witness ``name`` against the stageflow in ``copy``, imported afresh in this process."""
    for module in list(sys.modules):
        if module.split(".")[0] == "stageflow" or module == __name__ + "_fresh":
            del sys.modules[module]
    sys.path.insert(0, copy)
    try:
        spec = importlib.util.spec_from_file_location(__name__ + "_fresh", __file__)
        assert spec is not None and spec.loader is not None
        fresh = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = fresh
        spec.loader.exec_module(fresh)
        result: str = fresh._run(name)
        return result
    finally:
        sys.path.remove(copy)


def main(argv: list[str]) -> int:
    """``NAME...`` runs witnesses on the stageflow on the path; ``DIR::NAME...`` runs each on the
    copy in DIR, re-importing stageflow per argument (one interpreter for many copies)."""
    import logging

    logging.disable(logging.CRITICAL)  # stageflow logs every stage; the JSON line is the output
    if any("::" in arg for arg in argv):
        batch = {arg: _fresh_run(*arg.split("::", 1)) for arg in argv}
        print(json.dumps(batch))
        return 0
    print(json.dumps({name: _run(name) for name in argv or sorted(WITNESSES)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
