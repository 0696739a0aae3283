"""Real subpipeline spawners, trackers and event sinks, projected into plain observations.

A :class:`SubpipelineHarness` owns one fresh ``ChildRunTracker``, one ``SubpipelineSpawner`` and
two recording event sinks (the roots' ``ctx.event_sink`` and the ambient ``get_event_sink()``,
set in a ``contextvars.Context`` of the harness's own, so nothing leaks between examples). Every
run gets a label: roots ``r0, r1, ...`` and children the label the caller chose, which the
harness passes as ``pipeline_name`` so that events, results and tracker entries can all be
named without knowing Stageflow's uuid4 ids.

Each child's runner parks on a gate: it records whether the tracker already knew it, writes
its label into its own ``ctx.data``, and waits until :meth:`finish` says how to end. A finished
runner first awaits the children spawned from it (so a parent outlives its children) and a
cancelled one cancels and awaits them, as a ``TaskGroup`` would.

The harness is loop-agnostic: every operation is a coroutine that returns once the runs it woke
are parked again, so the same code runs on a plain asyncio loop or under the suite's
deterministic scheduler (:class:`~core.sut.subpipeline_driver.Driver` owns either).

The harness passes every id field (None) on every version, and a spawn with ``inherit=True`` is
refused on a version without ``inherit_data`` (``core/sut/subpipeline_roots.py`` says how
versions differ; the machine never draws such a spawn, and the model then steps on the same
non-inheriting spawn, so both sides agree on what was done). Nothing else is bridged. What the
harness observes, and how it names it, is ``core/sut/subpipeline_observations.py``; each run's
own state is ``core/sut/subpipeline_runs.py``.

For example (``Driver`` from ``core.sut.subpipeline_driver``)::

    driver = Driver(SubpipelineHarness(roots=("r0",), max_depth=1))
    assert driver.run(driver.harness.spawn("r0", "c1")) == ("spawned",)
    driver.run(driver.harness.finish("c1", "dict"))
    assert driver.harness.observe()["results"]["c1"]["data"] == {"out": "c1"}
    driver.close()
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from stageflow_verify.core.sut import HarnessError, UnsupportedFeature, stageflow_module
from stageflow_verify.core.sut.subpipeline_observations import HarnessObservations
from stageflow_verify.core.sut.subpipeline_roots import (
    EVENT_NAMES,
    RecordingSink,
    SinkFailure,
    features,
    root_context,
)
from stageflow_verify.core.sut.subpipeline_runs import _CountedIds, _LiveContexts, _Run
from stageflow_verify.models.subpipeline_events import correlation_of, stage_of

T = TypeVar("T")


class SubpipelineHarness(HarnessObservations):
    """One example's Stageflow objects and runs; see the module docstring."""

    def __init__(
        self,
        roots: tuple[str, ...] = ("r0",),
        max_depth: int | None = None,
        failing_event: str | None = None,
        sink_delay: int = 0,
        unidentified: frozenset[str] = frozenset(),
    ) -> None:
        sf = stageflow_module()
        sub = sf.pipeline.subpipeline
        self.errors = sub
        # spawn() names each child with uuid4(); sets of uuid4 ids iterate in a random order, so
        # sibling order in cancel_with_children (and with it the schedules Hypothesis explores)
        # would differ run to run. Counted ids make every example replay exactly; close()
        # puts the real uuid4 back.
        self._module = sub
        self._uuid4 = getattr(sub.uuid4, "real", sub.uuid4)  # another harness may be open
        sub.uuid4 = _CountedIds(self._uuid4)
        self.tracker = sub.ChildRunTracker()
        depth = {} if max_depth is None else {"max_depth": max_depth}
        self.spawner = sub.SubpipelineSpawner(child_tracker=self.tracker, **depth)
        failing = {v: k for k, v in EVENT_NAMES.items()}.get(failing_event or "")
        self.ambient = RecordingSink(failing_type=failing, delay=sink_delay)
        self.context_sink = RecordingSink(failing_type=failing, delay=sink_delay)
        self.context = contextvars.Context()
        self.context.run(sf.set_event_sink, self.ambient)
        self.runs: dict[str, _Run] = {}
        self.labels: dict[uuid.UUID, str] = {}
        self.correlations: dict[uuid.UUID, str] = {}  # correlation_id passed -> its name
        self.changed = asyncio.Event()  # set whenever a run parks, drains or ends
        self.unidentified = unidentified
        self.forks: list[str] = []  # contexts forked by hand (fork), in order
        for i, label in enumerate(roots):
            run = _Run(label, None, phase="root")
            # A root in ``unidentified`` has no pipeline_run_id, as PipelineContext.create()
            # makes it by default; it is never named to cancel_with_children (it has no id).
            run_id = None if label in unidentified else uuid.UUID(int=i + 1)
            run.ctx = root_context(run_id, self.context_sink, {"root": label, "n": i})
            self.runs[label] = run
            if run_id is not None:
                self.labels[run_id] = label

    def close(self) -> None:
        self._module.uuid4 = self._uuid4

    def start(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        """Start ``coro`` as a task in the harness's context (so it sees the ambient sink)."""
        return asyncio.get_running_loop().create_task(coro, name=name, context=self.context)

    def _signal(self, *_: object) -> None:
        self.changed.set()

    async def quiesce(self) -> None:
        """Wait until every run is parked, draining on a live child, or done.

        Every transition into one of those (a runner parking or draining, a task ending) sets
        ``changed``, so this waits on events instead of polling: under the deterministic
        scheduler it adds no steps of its own, and a run that can never settle is a deadlock
        the scheduler reports rather than a hang.
        """
        while not all(r.quiet() for r in self.runs.values()):
            self.changed.clear()
            await self.changed.wait()

    async def spawn(
        self, parent: str, child: str, inherit: bool | None = False
    ) -> tuple[object, ...]:
        """Spawn ``child`` from ``parent``'s context (``inherit`` None: inherit_data left out);
        ("spawned",) once its runner is parked, ("refused", current_depth, max_depth) or
        ("raised", message) otherwise."""
        await self.begin_spawn(parent, child, inherit)
        await self.quiesce()
        return self.spawn_outcome(child)

    def spawn_outcome(self, child: str) -> tuple[object, ...]:
        return self.runs[child].spawn_result or ("spawned",)

    async def begin_spawn(self, parent: str, child: str, inherit: bool | None = False) -> None:
        if inherit and not features().inherit_data:
            raise UnsupportedFeature(
                "this stageflow's spawn() takes no inherit_data; draw spawns through "
                "stageflow_verify.core.sut.subpipeline_roots.bridge_inherit"
            )
        owner = self.runs[parent]
        run = _Run(child, owner)
        self.runs[child] = run
        run.task = self.start(self._spawn(run, inherit), name=f"spawn {child}")
        run.task.add_done_callback(self._signal)
        owner.children.append(run.task)

    async def _spawn(self, run: _Run, inherit: bool | None) -> None:
        if run.parent is None:
            raise HarnessError(f"{run.label} is spawned with no parent run")
        # 0.5.1's spawn has no inherit_data: asked for nothing there (begin_spawn refuses True).
        # None: the caller leaves it out, so spawn's own default applies.
        given = inherit is not None and features().inherit_data
        extra = {"inherit_data": inherit} if given else {}
        try:
            correlation = uuid.uuid4()
            self.correlations[correlation] = correlation_of(run.label)
            started = time.perf_counter()
            res = await self.spawner.spawn(
                run.label,
                run.parent.ctx,
                correlation,
                stage_of(run.parent.label),
                self._runner(run),
                **extra,
            )
            spawn_ms = (time.perf_counter() - started) * 1000
            if run.runner_ms is not None:
                run.timing = (run.runner_ms, res.duration_ms, spawn_ms)
            kind = "ok" if res.success else "failed"
            run.result = {"kind": kind, "data": res.data, "error": res.error}
        except self.errors.MaxDepthExceededError as exc:
            run.spawn_result = ("refused", exc.current_depth, exc.max_depth)
        except asyncio.CancelledError:
            run.result = {"kind": "cancelled", "data": None, "error": None}
        except Exception as exc:
            if run.ctx is None:
                run.spawn_result = ("raised", str(exc))
            run.result = {"kind": "raised", "data": None, "error": str(exc)}

    def _runner(self, run: _Run) -> Any:
        async def runner(ctx: Any) -> Any:
            started = time.perf_counter()
            run.ctx = ctx
            self.labels[ctx.pipeline_run_id] = run.label
            parent_id = await self.tracker.get_parent(ctx.pipeline_run_id)
            run.registered_at_start = parent_id == ctx.parent_run_id
            ctx.data["run"] = run.label
            run.phase = "parked"
            self._signal()
            try:
                await run.gate.wait()
                run.phase = "draining"
                self._signal()
                # A spawn from this run may land while it drains: wait for those too.
                while not all(t.done() for t in run.children):
                    await asyncio.gather(*run.children)
            except asyncio.CancelledError:
                for task in run.children:
                    task.cancel()
                await asyncio.gather(*run.children, return_exceptions=True)
                raise
            ended = time.perf_counter()
            while ended == started:  # a span of zero would let a duration of 0 pass
                ended = time.perf_counter()
            run.runner_ms = (ended - started) * 1000
            if run.outcome == "raise":
                raise RuntimeError(f"boom {run.label}")
            return {"none": None, "dict": {"out": run.label}, "value": 7}[run.outcome]

        return runner

    def fork(self, source: str, label: str) -> None:
        """Fork ``source``'s context by hand, as a user does (docs/advanced/subpipelines.md:49):
        a new run ``label`` the spawner never made, which later spawns may start from."""
        origin = self.runs[source]
        if origin.ctx is None:
            raise HarnessError(f"{source} has no context to fork yet (its runner never started)")
        run = _Run(label, None, phase="root")
        run_id = uuid.UUID(int=500 + len(self.forks))  # apart from roots' and children's ids
        run.ctx = origin.ctx.fork(run_id, stage_of(source), uuid.uuid4())
        self.forks.append(label)
        self.runs[label] = run
        self.labels[run_id] = label

    async def finish(self, label: str, outcome: str = "none") -> None:
        self.release(label, outcome)
        await self.quiesce()

    def release(self, label: str, outcome: str) -> None:
        run = self.runs[label]
        run.outcome = outcome
        run.gate.set()

    async def abort(self, label: str) -> None:
        self.cancel_task(label)
        await self.quiesce()

    def cancel_task(self, label: str) -> None:
        task = self.runs[label].task
        if task is None:
            raise HarnessError(f"{label} has no task to cancel (it was never started)")
        task.cancel()

    async def cancel_with_children(self, label: str, with_contexts: bool) -> tuple[object, ...]:
        result = await self.cancel_cascade(label, with_contexts)
        await self.quiesce()
        return result

    async def cancel_cascade(self, label: str, with_contexts: bool) -> tuple[object, ...]:
        """("canceled", [labels]) or ("raised", message, [labels this cascade marked])."""
        task = asyncio.current_task()
        before = set(self.spawner._canceled_runs)
        try:
            ids = await self.spawner.cancel_with_children(
                self.runs[label].ctx.pipeline_run_id,
                contexts=_LiveContexts(self.runs) if with_contexts else None,
            )
        except SinkFailure as exc:
            # The runs this cascade marked: it emits 'canceled' right after marking each
            # (subpipeline.py:553-565), from its own task. The ids the spawner gained since it
            # started would also count the marks of a concurrent cascade (issue 19).
            mine = {
                d["pipeline_run_id"]
                for sink in (self.ambient, self.context_sink)
                for (t, d), by in zip(sink.emitted, sink.emitters, strict=True)
                if t == "pipeline.canceled" and by is task
            }
            marked = [i for i in self.spawner._canceled_runs if i not in before and str(i) in mine]
            result: tuple[object, ...] = ("raised", str(exc), [self._name(i) for i in marked])
        else:
            result = ("canceled", [self._name(i) for i in ids])
        return result

    async def is_canceled(self, label: str) -> tuple[bool, bool]:
        ctx = self.runs[label].ctx
        return await self.spawner.is_canceled(ctx.pipeline_run_id), bool(ctx.is_canceled)
