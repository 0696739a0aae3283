"""Small canonical scenarios of real Stageflow, for ``make modelcheck`` to run under every schedule.

Each scenario is a function that makes a fresh coroutine (the explorer re-runs it from scratch
for every schedule). The coroutine starts a few concurrent tasks against one real Stageflow
object, waits for them, then asserts what must hold under *any* interleaving and returns a small
summary of what happened: the explorer counts the distinct summaries as outcomes, and an
assertion (or a deadlock) as a violation with its replayable schedule.

- bag writers: 2 or 3 tasks write one OutputBag stage (``allow_overwrite``) or one ContextBag
  key, with a suspension point before each write and a read after it. The recorded history
  must be linearizable against ``models/bags.py`` (adopting the aliasing findings that
  reproduce), acknowledged attempts must be exactly 1..n, and exactly one ContextBag write may
  win.
- spawn racing cancel: a child is spawned from a root while another task cancels the root with
  ``cancel_with_children``. Once the cancel has returned, the child must see itself cancelled
  (SF-SUB-02 says it does not), and the tracker and depth map must be empty at the end.
- two runs of one graph: one built two-stage graph runs twice concurrently; each run's second
  stage must receive the first stage's output of its own run, and each result must be its own.

This module imports stageflow directly (it is part of ``core/sut``); the scenarios are
deliberately smaller than the state machines', so that enumeration stays within a budget.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from stageflow_verify.core.check.history import HistoryRecorder
from stageflow_verify.core.check.linearizability import Verdict, check_history_verbose
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.bags import ContextBagSut, OutputBagSut, pause
from stageflow_verify.models.bags import (
    ContextBagModel,
    ContextInput,
    CRead,
    CWrite,
    EntryView,
    Get,
    Outcome,
    OutputBagModel,
    OutputView,
    Raised,
    Returned,
    Write,
)

Scenario = Callable[[], Coroutine[Any, Any, object]]


def _clocked(recorder: HistoryRecorder[Any, Outcome]) -> None:
    loop: Any = asyncio.get_running_loop()
    recorder.clock = lambda: len(loop.trace.steps)


def output_bag_writers(n: int, model: OutputBagModel) -> Scenario:
    """``n`` writers racing on one OutputBag, judged by ``model`` (the runner sets its adopted
    findings: this package may not import the registry)."""

    async def scenario() -> object:
        recorder: HistoryRecorder[Any, Outcome] = HistoryRecorder()
        _clocked(recorder)
        sut = OutputBagSut(recorder)
        acked: list[int] = []

        async def writer(i: int) -> None:
            await pause()
            out = OutputView("ok", (("w", i),))
            outcome = await sut.perform(f"w{i}", Write("s", out, overwrite=True, data_id=i))
            if isinstance(outcome, Returned) and isinstance(outcome.value, EntryView):
                acked.append(outcome.value.attempt)
            await pause()
            await sut.perform(f"w{i}", Get("s", "get"))

        await asyncio.gather(*(writer(i) for i in range(n)))
        result = check_history_verbose(model, recorder.history(), timeout=5.0)
        assert result.verdict is Verdict.OK, result.report
        assert sorted(acked) == list(range(1, n + 1)), f"acknowledged attempts {acked}"
        return (tuple(acked), sut.bag.get_value("s", "w"))

    return scenario


def context_bag_writers(n: int, model: ContextBagModel) -> Scenario:
    """``n`` writers racing on one ContextBag, judged by ``model``."""

    async def scenario() -> object:
        recorder: HistoryRecorder[ContextInput, Outcome] = HistoryRecorder()
        _clocked(recorder)
        sut = ContextBagSut(recorder)
        won: list[str] = []

        async def writer(i: int) -> None:
            await pause()
            outcome = await sut.perform(f"w{i}", CWrite("k", i, f"stage{i}"))
            if isinstance(outcome, Returned):
                won.append(f"stage{i}")
            else:
                assert isinstance(outcome, Raised) and outcome.error == "DataConflictError"
            await pause()
            await sut.perform(f"w{i}", CRead("k", "get_writer"))

        await asyncio.gather(*(writer(i) for i in range(n)))
        result = check_history_verbose(model, recorder.history(), timeout=5.0)
        assert result.verdict is Verdict.OK, result.report
        assert len(won) == 1 and sut.bag.get_writer("k") == won[0], f"winners {won}"
        return won[0]

    return scenario


async def spawn_racing_cancel() -> object:
    sf = stageflow_module()
    sub = sf.pipeline.subpipeline
    tracker = sub.ChildRunTracker()
    spawner = sub.SubpipelineSpawner(child_tracker=tracker, emit_events=False)
    root = sf.PipelineContext(pipeline_run_id=uuid.uuid4())
    cancel_returned = False
    seen: list[tuple[bool, bool]] = []  # (cancel had returned, child is_canceled) at each check

    async def runner(ctx: Any) -> dict[str, Any]:
        for _ in range(2):
            seen.append((cancel_returned, await spawner.is_canceled(ctx.pipeline_run_id)))
            await asyncio.sleep(0)
        return {"checks": len(seen)}

    async def cancel() -> list[Any]:
        nonlocal cancel_returned
        ids = await spawner.cancel_with_children(root.pipeline_run_id)
        cancel_returned = True
        return list(ids)

    result, cancelled = await asyncio.gather(
        spawner.spawn("child", root, uuid.uuid4(), "stage", runner), cancel()
    )
    assert not await tracker.get_children(root.pipeline_run_id), "the tracker kept the child"
    assert not spawner._run_depths, "the spawner kept the child's depth"
    late = [was for returned, was in seen if returned]
    assert all(late), (
        f"the child checked is_canceled() after cancel_with_children(root) returned and saw "
        f"{late}: a child of a cancelled run runs uncancelled"
    )
    return (result.success, len(cancelled), tuple(seen))


async def two_runs_of_one_graph() -> object:
    sf = stageflow_module()
    from stageflow.pipeline.interceptors import LoggingInterceptor

    async def first(ctx: Any) -> Any:
        await asyncio.sleep(0)
        return sf.StageOutput.ok(data={"run": ctx.snapshot.input_text})

    async def second(ctx: Any) -> Any:
        received = ctx.inputs.get_output("first").data["run"]
        await asyncio.sleep(0)
        return sf.StageOutput.ok(data={"run": ctx.snapshot.input_text, "received": received})

    pipeline = (
        sf.Pipeline(name="modelcheck")
        .with_stage("first", first, sf.StageKind.TRANSFORM)
        .with_stage("second", second, sf.StageKind.TRANSFORM, ("first",))
    )
    # One LoggingInterceptor, not []: build() treats an empty list as "use the defaults".
    built = pipeline.build(interceptors=[LoggingInterceptor()])

    async def one(label: str) -> tuple[str, str]:
        results = await built.run(sf.PipelineContext.create(input_text=label))
        data = results["second"].data
        return data["run"], data["received"]

    a, b = await asyncio.gather(one("A"), one("B"))
    assert a == ("A", "A") and b == ("B", "B"), f"run A saw {a}, run B saw {b}"
    return (a, b)
