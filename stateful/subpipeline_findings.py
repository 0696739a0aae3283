"""Known violations of Stageflow's subpipeline promises, each with its minimal reproducer.

Every reproducer is plain Stageflow code written against the module ``reproduce(sf)`` receives:
a fresh tracker, spawner and recording sink, one ``asyncio.run``, and a boolean that is True
while the violation is still there. :mod:`stateful.subpipeline_machine` publishes this list as
its ``FINDINGS`` (here it is ``SUBPIPELINE_FINDINGS``, so that discovery sees each finding once)
and adopts the ids that still reproduce as deviations of its model (:mod:`models.subpipelines`
names each one), so a fixed finding turns the model back to the promise without editing the
machine.

The reproducers run unchanged on 0.5.1: the root context passes every id field (0.5.1 requires
them), and nothing else they use differs (0.5.1's ``subpipeline`` module is 1.2.0's without
``spawn(inherit_data=..., data_overrides=...)``, which no reproducer uses). All seven reproduce
on 0.5.1, and the machine finds each of them there on its own when its deviation is removed.

For example::

    import stageflow
    assert FINDINGS_BY_ID["SF-SUB-02"].reproduce(stageflow)  # while 1.2.0 is installed
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases

CHECK = "subpipelines.spawn_tree"


class _Sink:
    def __init__(self, failing_type: str | None = None) -> None:
        self.types: list[str] = []
        self.failing_type = failing_type

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.types.append(type)
        if type == self.failing_type:
            raise RuntimeError(f"sink down: {type}")

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.types.append(type)


def _setup(sf: ModuleType, failing: str | None = None) -> tuple[Any, Any, Any, _Sink]:
    sub = sf.pipeline.subpipeline
    tracker = sub.ChildRunTracker()
    spawner = sub.SubpipelineSpawner(child_tracker=tracker)
    sink = _Sink(failing)
    sf.set_event_sink(sink)  # inside asyncio.run's own context copy: nothing leaks out
    # Every id field is passed: 0.5.1 requires them (1.2.0 defaults them to None).
    root = sf.PipelineContext(
        pipeline_run_id=uuid.uuid4(),
        request_id=None,
        session_id=None,
        user_id=None,
        org_id=None,
        interaction_id=None,
        event_sink=sink,
    )
    return tracker, spawner, root, sink


async def _returns(ctx: Any) -> dict[str, Any]:
    return {"ok": True}


def canceled_ids_retained(sf: ModuleType) -> bool:
    async def main() -> bool:
        _tracker, spawner, root, _ = _setup(sf)

        async def runner(ctx: Any) -> None:
            await spawner.cancel_with_children(ctx.pipeline_run_id)

        result = await spawner.spawn("p", root, uuid.uuid4(), "s", runner)
        # The child has ended and the tracker forgot it, but the spawner still answers True.
        return bool(await spawner.is_canceled(result.child_run_id))

    return asyncio.run(main())


def spawn_under_cancelled_parent(sf: ModuleType) -> bool:
    async def main() -> bool:
        _tracker, spawner, root, _ = _setup(sf)
        await spawner.cancel_with_children(root.pipeline_run_id)
        seen: list[bool] = []

        async def runner(ctx: Any) -> None:
            seen.append(await spawner.is_canceled(ctx.pipeline_run_id))

        await spawner.spawn("p", root, uuid.uuid4(), "s", runner)
        return seen == [False]

    return asyncio.run(main())


def failing_spawned_emit_leaks(sf: ModuleType) -> bool:
    async def main() -> bool:
        tracker, spawner, root, _ = _setup(sf, "pipeline.spawned_child")
        with contextlib.suppress(RuntimeError):
            await spawner.spawn("p", root, uuid.uuid4(), "s", _returns)
        # Nothing is running, yet the tracker lists a child and the spawner its depth.
        return bool(await tracker.get_children(root.pipeline_run_id)) and bool(spawner._run_depths)

    return asyncio.run(main())


def failing_completed_emit_fails_child(sf: ModuleType) -> bool:
    async def main() -> bool:
        _tracker, spawner, root, _ = _setup(sf, "pipeline.child_completed")
        result = await spawner.spawn("p", root, uuid.uuid4(), "s", _returns)
        return result.success is False

    return asyncio.run(main())


def failing_canceled_emit_stops_cascade(sf: ModuleType) -> bool:
    async def main() -> bool:
        _tracker, spawner, root, _ = _setup(sf, "pipeline.canceled")
        gate, started = asyncio.Event(), asyncio.Event()

        async def waits(ctx: Any) -> None:
            started.set()
            await gate.wait()

        child = asyncio.create_task(spawner.spawn("p", root, uuid.uuid4(), "s", waits))
        await started.wait()
        with contextlib.suppress(RuntimeError):
            await spawner.cancel_with_children(root.pipeline_run_id)
        stopped = not await spawner.is_canceled(root.pipeline_run_id)
        gate.set()
        await child
        return stopped

    return asyncio.run(main())


def events_bypass_context_sink(sf: ModuleType) -> bool:
    async def main() -> bool:
        _tracker, spawner, root, sink = _setup(sf)
        sf.set_event_sink(sf.NoOpEventSink())  # the ambient sink is not the context's
        await spawner.spawn("p", root, uuid.uuid4(), "s", _returns)
        return sink.types == []

    return asyncio.run(main())


SUBPIPELINE_FINDINGS = [
    Finding(
        id="SF-SUB-01",
        title="spawner keeps the id of every cancelled run forever",
        versions=releases(),
        check=CHECK,
        promise="ChildRunTracker/SubpipelineSpawner clean up per-run tracking when a run ends "
        "(spawn: 'Clean up depth tracking'; tracker: 'Clean up tracking data for a completed "
        "run'); a user expects no per-run state to outlive its run.",
        observed="SubpipelineSpawner._canceled_runs is only ever added to: is_canceled(id) of "
        "an ended child stays True and the set grows with every cancelled run (H7).",
        reproduce=canceled_ids_retained,
        tags=("memory", "expectation"),
        basis=expected(
            "The spawner forgets every other per-run record when the run ends (spawn's finally "
            "pops its depth; the tracker unregisters it), and a process usually has one "
            "long-lived spawner (get_subpipeline_spawner()); nothing ever removes a cancelled "
            "id, so the set grows by one id per cancelled run for the life of the process.",
            ("# Clean up depth tracking", "stageflow/pipeline/subpipeline.py:524"),
            (
                '"""Clean up tracking data for a completed run."""',
                "stageflow/pipeline/subpipeline.py:306",
            ),
        ),
        severity=Severity(
            "medium", "unbounded growth of a process-wide object, one id per cancelled run"
        ),
        fix="SubpipelineSpawner (stageflow/pipeline/subpipeline.py:399): discard a run's id "
        "from _canceled_runs when its spawn() ends (the finally at :521), or keep the "
        "cancelled flag on the run's context instead.",
    ),
    Finding(
        id="SF-SUB-02",
        title="a child spawned from a cancelled run starts uncancelled",
        versions=releases(),
        check=CHECK,
        promise="cancel_with_children: 'Cancel a run and all its children'; a user expects "
        "every live descendant of a cancelled run to be cancelled.",
        observed="spawn() never consults is_canceled(parent): a child spawned after (or racing)"
        " cancel_with_children runs with is_canceled() False under a cancelled parent.",
        reproduce=spawn_under_cancelled_parent,
        tags=("expectation",),
        basis=documented(
            (
                "Parent cancellation should cascade to children:",
                "docs/advanced/subpipelines.md:353",
            ),
            (
                '"""Cancel a run and all its children (depth-first).',
                "stageflow/pipeline/subpipeline.py:534",
            ),
        ),
        severity=Severity(
            "medium",
            "work a caller cancelled keeps starting: a cancelled run's new child runs "
            "to completion, and one racing the cancel escapes it",
        ),
        fix="SubpipelineSpawner.spawn (stageflow/pipeline/subpipeline.py:486): when the parent "
        "is cancelled (is_canceled(parent_run_id), under the same lock that registers the "
        "child), mark the child cancelled (and its context) or refuse to spawn it.",
    ),
    Finding(
        id="SF-SUB-03",
        title="a failing 'spawned' emit leaves the child registered forever",
        versions=releases(),
        check=CHECK,
        promise="spawn() unregisters the child and drops its depth in a finally block: the "
        "tracker holds exactly the live children.",
        observed="register_child and the depth entry happen before the try/finally, and "
        "_emit_spawned raises in between: the runner never runs, spawn raises the sink's "
        "error, and tracker and _run_depths keep the child for good.",
        reproduce=failing_spawned_emit_leaks,
        basis=expected(
            "spawn() clearly means to unregister the child and drop its depth whatever happens "
            "(a finally block does both); an event sink that raises (a network sink, say) is "
            "an ordinary failure, and it leaves a phantom child that cancellations cascade to "
            "and metrics count, for the life of the tracker.",
            ("# Clean up depth tracking", "stageflow/pipeline/subpipeline.py:524"),
        ),
        severity=Severity(
            "medium", "needs a sink that raises; then process-wide state leaks for good"
        ),
        fix="SubpipelineSpawner.spawn (stageflow/pipeline/subpipeline.py:470-490): open the "
        "try/finally before recording the depth and registering the child, so the finally "
        "covers _emit_spawned too (or emit spawned events with try_emit).",
    ),
    Finding(
        id="SF-SUB-04",
        title="a failing event sink rewrites the child's result",
        versions=releases(),
        check=CHECK,
        promise="SubpipelineResult.success: 'Whether the child pipeline completed successfully'.",
        observed="a failing pipeline.child_completed emit is caught by the runner's except: "
        "success=False with the sink's message and a child_failed event; a failing "
        "child_failed emit escapes spawn() instead of returning the failed result.",
        reproduce=failing_completed_emit_fails_child,
        basis=documented(
            (
                "success: Whether the child pipeline completed successfully",
                "stageflow/pipeline/subpipeline.py:143",
            ),
        ),
        severity=Severity(
            "medium",
            "needs a sink that raises; then a child that succeeded is reported failed "
            "(and a child_failed event sent), or spawn() raises the sink's error",
        ),
        fix="SubpipelineSpawner.spawn (stageflow/pipeline/subpipeline.py:498): emit after the "
        "try that runs the runner, and isolate emit failures (log them) from the result, as "
        "run_with_interceptors isolates interceptor errors.",
    ),
    Finding(
        id="SF-SUB-05",
        title="a failing 'canceled' emit stops cancel_with_children half way",
        versions=releases(),
        check=CHECK,
        promise="cancel_with_children: 'Cancel a run and all its children (depth-first)'.",
        observed="the emit raises inside the cascade after the first descendant is marked: "
        "the run itself and the remaining descendants stay uncancelled.",
        reproduce=failing_canceled_emit_stops_cascade,
        tags=("interleaving",),
        basis=documented(
            (
                '"""Cancel a run and all its children (depth-first).',
                "stageflow/pipeline/subpipeline.py:534",
            ),
        ),
        severity=Severity(
            "medium",
            "needs a sink that raises; then the run itself and the rest of its "
            "descendants stay uncancelled, and the caller gets the sink's error",
        ),
        fix="SubpipelineSpawner.cancel_with_children (stageflow/pipeline/subpipeline.py:565): "
        "mark every run first and emit afterwards, isolating each emit's failure.",
    ),
    Finding(
        id="SF-SUB-06",
        title="subpipeline events ignore the parent context's event_sink",
        versions=releases(),
        check=CHECK,
        promise="PipelineContext carries an event_sink (fork passes it to the child); a user "
        "who sets it expects the spawner's events there.",
        observed="the spawner's _emit_* helpers call get_event_sink() (the ambient ContextVar);"
        " a context's own sink never sees spawned/completed/failed/canceled.",
        reproduce=events_bypass_context_sink,
        tags=("expectation",),
        basis=expected(
            "A context carries its own event_sink, fork hands it to the child, and the guides "
            "say to pass the parent's sink into the child so its events stay correlated; the "
            "spawner's own events about that child go to the process-wide sink instead.",
            (
                "When a child pipeline processes audio or streaming chunks, pass the parent's "
                "event sink into the child",
                "docs/advanced/subpipelines.md:285",
            ),
        ),
        severity=Severity(
            "low",
            "events reach the global sink rather than being lost; only per-context "
            "sinks (per request or tenant) miss them",
        ),
        fix="SubpipelineSpawner._emit_* (stageflow/pipeline/subpipeline.py:575-640): emit to "
        "the parent context's event_sink when it has one, else get_event_sink().",
    ),
]

FINDINGS_BY_ID = {f.id: f for f in SUBPIPELINE_FINDINGS}


def child_context_never_cancelled(sf: ModuleType) -> bool:
    async def main() -> bool:
        _, spawner, root, _ = _setup(sf)
        gate = asyncio.Event()
        seen: list[tuple[bool, bool]] = []

        started = asyncio.Event()

        async def waits(ctx: Any) -> None:
            started.set()
            await gate.wait()
            seen.append((await spawner.is_canceled(ctx.pipeline_run_id), ctx.is_canceled))

        child = asyncio.create_task(spawner.spawn("p", root, uuid.uuid4(), "s", waits))
        await started.wait()
        # The caller passes every context it has; the child's was made inside spawn().
        await spawner.cancel_with_children(
            root.pipeline_run_id, contexts={root.pipeline_run_id: root}
        )
        gate.set()
        await child
        return seen == [(True, False)]

    return asyncio.run(main())


SUBPIPELINE_FINDINGS.append(
    Finding(
        id="SF-SUB-07",
        title="a cancelled child's own context never learns it was cancelled",
        versions=releases(),
        check=CHECK,
        promise="cancel_with_children: 'Cancel a run and all its children'; PipelineContext."
        "raise_if_cancelled: 'Raise when cooperative cancellation has been requested'.",
        observed="only contexts in the caller's `contexts` map are marked, and a child's "
        "context is created inside spawn() and handed only to the runner: the child's "
        "ctx.is_canceled, raise_if_cancelled and cancellation_checkpoint never fire while "
        "spawner.is_canceled(child) is True.",
        reproduce=child_context_never_cancelled,
        tags=("expectation", "interleaving"),
        basis=expected(
            "spawn() makes the child's context and hands it only to the runner, so a caller "
            "of cancel_with_children cannot pass it in `contexts` unless it captured every "
            "descendant's context itself; the spawner knows it, yet the child's "
            "ctx.is_canceled, raise_if_cancelled and cancellation_checkpoint never fire while "
            "spawner.is_canceled(child) is True.",
            (
                "contexts: Optional map of run_id -> context for marking",
                "stageflow/pipeline/subpipeline.py:539",
            ),
            (
                '"""Raise when cooperative cancellation has been requested."""',
                "stageflow/stages/context.py:440",
            ),
        ),
        severity=Severity(
            "medium",
            "cooperative cancellation never reaches a spawned child's own stages, "
            "which run to the end",
        ),
        fix="SubpipelineSpawner.spawn (stageflow/pipeline/subpipeline.py:474): remember each "
        "live child's context (dropped in the finally) and mark it in cancel_with_children.",
    )
)
FINDINGS_BY_ID["SF-SUB-07"] = SUBPIPELINE_FINDINGS[-1]
