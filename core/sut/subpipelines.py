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
deterministic scheduler (:class:`Driver` owns either).

Versions differ (see :class:`SubpipelineFeatures`): the spawner and tracker of 0.5.1 are those of
1.2.0, except that 0.5.1's ``spawn`` takes no ``inherit_data`` (its child context always starts
with empty ``data``), and 0.5.1's ``PipelineContext`` requires every id field. The harness passes
every id field (None) on every version, and a spawn with ``inherit=True`` is refused on a version
without ``inherit_data`` (the machine never draws one there; the model then steps on the same
non-inheriting spawn, so both sides agree on what was done). Nothing else is bridged.

For example::

    driver = Driver(SubpipelineHarness(roots=("r0",), max_depth=1))
    assert driver.run(driver.harness.spawn("r0", "c1")) == ("spawned",)
    driver.run(driver.harness.finish("c1", "dict"))
    assert driver.harness.observe()["results"]["c1"]["data"] == {"out": "c1"}
    driver.close()
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import itertools
import logging
import time
import uuid
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stageflow_verify.core.sut import HarnessError, UnsupportedFeature, stageflow_module
from stageflow_verify.models.subpipeline_events import correlation_of, stage_of

T = TypeVar("T")
Plain = Any  # nested dicts, lists, strings, numbers: what the model's views produce

EVENT_NAMES = {
    "pipeline.spawned_child": "spawned",
    "pipeline.child_completed": "completed",
    "pipeline.child_failed": "failed",
    "pipeline.canceled": "canceled",
}

# spawn() logs every failing child at ERROR; with no handler configured, logging's last-resort
# handler would print them all over verify's table.
logging.getLogger("stageflow.subpipeline").addHandler(logging.NullHandler())
logging.getLogger("stageflow.subpipeline").propagate = False


# 0.5.1's PipelineContext requires these (keyword-only, no default); 1.2.0 defaults them to None.
ID_FIELDS = ("request_id", "session_id", "user_id", "org_id", "interaction_id")


@dataclass(frozen=True)
class SubpipelineFeatures:
    """What this version's spawner offers, among the things the subpipeline model talks about."""

    inherit_data: bool  # SubpipelineSpawner.spawn(..., inherit_data=...)


def features() -> SubpipelineFeatures:
    return _features(stageflow_module().pipeline.subpipeline.SubpipelineSpawner.spawn)


# Keyed on spawn: a planted bug that swaps it is a different SUT. A spawn taking **kwargs counts
# as taking every keyword, so bridging never hides a planted wrapper.
@functools.lru_cache(maxsize=16)
def _features(spawn: Any) -> SubpipelineFeatures:
    params = inspect.signature(spawn).parameters
    any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return SubpipelineFeatures(inherit_data=any_keyword or "inherit_data" in params)


def bridge_inherit(inherit: bool) -> bool:
    """``inherit`` where this version's spawn can inherit parent data, else False."""
    return inherit and features().inherit_data


def root_context(run_id: uuid.UUID | None, event_sink: Any, data: dict[str, Any]) -> Any:
    """A root ``PipelineContext``: every id field is passed (None), as 0.5.1 requires; a
    ``run_id`` of None is what ``PipelineContext.create()`` gives by default."""
    ids: dict[str, Any] = dict.fromkeys(ID_FIELDS)
    return stageflow_module().PipelineContext(
        pipeline_run_id=run_id, **ids, event_sink=event_sink, data=data
    )


class SinkFailure(RuntimeError):
    pass


class RecordingSink:
    """An EventSink that records every emit it is asked for, then maybe yields or raises."""

    def __init__(self, failing_type: str | None = None, delay: int = 0) -> None:
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self.emitters: list[asyncio.Task[Any] | None] = []  # the task of each awaited emit
        self.failing_type = failing_type
        self.delay = delay

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.emitted.append((type, dict(data or {})))
        self.emitters.append(asyncio.current_task())
        for _ in range(self.delay):  # a slow sink: other tasks run in between
            await asyncio.sleep(0)
        if type == self.failing_type:
            raise SinkFailure(f"event sink failed on {type}")

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.emitted.append((type, dict(data or {})))
        self.emitters.append(None)


@dataclass(eq=False)
class _Run:
    label: str
    parent: _Run | None
    ctx: Any = None
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: str = "none"
    phase: str = "starting"  # starting -> parked -> draining -> (task done)
    task: asyncio.Task[None] | None = None
    children: list[asyncio.Task[None]] = field(default_factory=list)
    registered_at_start: bool | None = None
    spawn_result: tuple[object, ...] | None = None
    result: dict[str, Plain] | None = None
    # Milliseconds: the runner's own span (from its first line to its return or raise), what
    # spawn reported as duration_ms, and the span of the whole spawn() call around it.
    runner_ms: float | None = None
    timing: tuple[float, float, float] | None = None

    def quiet(self) -> bool:
        if self.task is None or self.task.done():
            return True
        if self.task.cancelling():  # cancelled, and not yet through spawn's finally
            return False
        if self.phase == "parked":
            return not self.gate.is_set()
        return self.phase == "draining" and any(not t.done() for t in self.children)


class _CountedIds:
    def __init__(self, real: Any) -> None:
        self.real = real
        self._next = itertools.count(1_000)

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=next(self._next))


class _LiveContexts(Mapping[uuid.UUID, Any]):
    # The contexts a caller passes to cancel_with_children, looked up when the cascade reaches
    # each run: a child whose runner starts while the cascade runs is in it too, as it would
    # be in a caller's own registry of contexts.
    def __init__(self, harness: SubpipelineHarness) -> None:
        self._harness = harness

    def _ctxs(self) -> dict[uuid.UUID, Any]:
        runs = self._harness.runs.values()
        return {r.ctx.pipeline_run_id: r.ctx for r in runs if r.ctx is not None}

    def __getitem__(self, run_id: uuid.UUID) -> Any:
        return self._ctxs()[run_id]

    def __iter__(self) -> Iterator[uuid.UUID]:
        return iter(self._ctxs())

    def __len__(self) -> int:
        return len(self._ctxs())


class SubpipelineHarness:
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
                "stageflow_verify.core.sut.subpipelines.bridge_inherit"
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
                contexts=_LiveContexts(self) if with_contexts else None,
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

    def _name(self, run_id: Any) -> str:
        if run_id is None:
            return "?none"
        if run_id not in self.labels:  # an id only the sink saw: its spawn raised while emitting
            for type_, data in self.ambient.emitted + self.context_sink.emitted:
                if type_ == "pipeline.spawned_child" and data["child_run_id"] == str(run_id):
                    self.labels[run_id] = data["pipeline_name"]
        return self.labels.get(run_id, f"?{run_id}")

    def _event(self, type_: str, data: dict[str, Any]) -> dict[str, Plain]:
        kind = EVENT_NAMES.get(type_, type_)
        run_key = "pipeline_run_id" if kind == "canceled" else "child_run_id"
        parent = data.get("parent_run_id")
        out: dict[str, Plain] = {
            "type": kind,
            "run": self._name(uuid.UUID(data[run_key])),
            "parent": self._id_name(parent) if parent else None,
            "fields": sorted(data),
        }
        if kind != "canceled":
            out["pipeline_name"] = data.get("pipeline_name")
        if kind == "spawned":
            out["parent_stage_id"] = data.get("parent_stage_id")
            out["correlation_id"] = self._correlation(data.get("correlation_id"))
        if kind == "failed":
            out["error"] = data["error_message"]
        if kind == "canceled":
            out["cascade_depth"] = data["cascade_depth"]
            out["reason"] = data.get("reason")
        return out

    def _id_name(self, value: Any) -> str:
        # An event field that should be a run id: its run's label, or the text as given (an
        # event naming a parent without a run id says "None", which is no UUID).
        try:
            return self._name(uuid.UUID(str(value)))
        except ValueError:
            return f"?{value}"

    def _correlation(self, value: Any) -> str:
        try:
            return self.correlations.get(uuid.UUID(str(value)), f"?{value}")
        except ValueError:
            return f"?{value}"

    def correlation_seen(self) -> dict[str, list[Plain]]:
        """What each started child's context says of its parent: (parent run, parent stage,
        correlation), as labels; docs/advanced/subpipelines.md:63 'References parent via
        parent_run_id and parent_stage_id', :73 'child_ctx.correlation_id'."""
        return {
            r.label: [
                self._name(r.ctx.parent_run_id),
                r.ctx.parent_stage_id,
                self._correlation(r.ctx.correlation_id),
            ]
            for r in self.runs.values()
            if r.ctx is not None and r.parent is not None
        }

    def correlation_promised(self) -> dict[str, list[Plain]]:
        # fork: "References parent via parent_run_id" (the parent's pipeline_run_id): a
        # parent without one is referenced by None, which _name prints as "?none".
        return {
            r.label: [
                "?none" if r.parent.label in self.unidentified else r.parent.label,
                stage_of(r.parent.label),
                correlation_of(r.label),
            ]
            for r in self.runs.values()
            if r.ctx is not None and r.parent is not None
        }

    def observe(self) -> dict[str, Plain]:
        """The plain observation the model's views are compared with."""
        children = {
            self._name(p): sorted(self._name(c) for c in cs)
            for p, cs in self.tracker._children.items()
        }
        parents = {self._name(c): self._name(p) for c, p in self.tracker._parents.items()}
        started = [r for r in self.runs.values() if r.ctx is not None]
        return {
            "tracker": {"children": children, "parents": parents},
            "depths": {self._name(i): d for i, d in self.spawner._run_depths.items()},
            "canceled": sorted(self._name(i) for i in self.spawner._canceled_runs),
            "ctx_canceled": sorted(r.label for r in started if r.ctx.is_canceled),
            "data": {r.label: dict(r.ctx.data) for r in started},
            "results": {r.label: r.result for r in self.runs.values() if r.result is not None},
            "registered_at_start": {
                r.label: r.registered_at_start for r in started if r.parent is not None
            },
            "events": {
                "ambient": [self._event(t, d) for t, d in self.ambient.emitted],
                "context": [self._event(t, d) for t, d in self.context_sink.emitted],
            },
        }

    def duration_problems(self) -> list[str]:
        """Where a child's duration_ms is not its execution time in milliseconds: below the
        runner's own span or above the spawn() call's, or, in the completed (failed) event of
        a child whose result is ok (failed), not the result's. Both bounds hold exactly in
        floating point (subtraction and scaling are monotone), so a pass is never luck; the
        clock is the real perf_counter. (Under SF-SUB-04 a child has a 'completed' event and a
        failed result: only the event of the result's kind is compared.)"""
        problems: list[str] = []
        reported: dict[tuple[str, str], float] = {}
        for run in self.runs.values():
            if run.timing is None or run.result is None:
                continue
            runner_ms, duration_ms, spawn_ms = run.timing
            kind = "completed" if run.result["kind"] == "ok" else "failed"
            reported[run.label, kind] = duration_ms
            if not runner_ms <= duration_ms <= spawn_ms:
                problems.append(
                    f"{run.label}: duration_ms={duration_ms!r}, but its runner took "
                    f"{runner_ms:.3f} ms inside a spawn() of {spawn_ms:.3f} ms"
                )
        for type_, data in self.ambient.emitted + self.context_sink.emitted:
            kind = EVENT_NAMES.get(type_, "")
            if kind not in ("completed", "failed"):
                continue
            key = (self._name(uuid.UUID(data["child_run_id"])), kind)
            if key in reported and data.get("duration_ms") != reported[key]:
                problems.append(
                    f"{key[0]}: its {key[1]} event says duration_ms={data.get('duration_ms')!r}, "
                    f"its result {reported[key]!r}"
                )
        return problems

    def retained(self) -> dict[str, int]:
        """Per-run entries the spawner and tracker still hold."""
        return {
            "tracker_parents": len(self.tracker._parents),
            "tracker_children": len(self.tracker._children),
            "depths": len(self.spawner._run_depths),
            "canceled_ids": len(self.spawner._canceled_runs),
        }


class Driver:
    """Runs harness operations, one ``run`` at a time, on one loop owned by one example.

    ``loop`` defaults to a fresh stock asyncio loop; the machine passes the suite's
    deterministic loop so that the scheduler chooses every interleaving. ``close`` cancels
    whatever is still parked, so nothing outlives the example.
    """

    def __init__(
        self, harness: SubpipelineHarness, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.harness = harness
        self.loop = loop or asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> T:
        task = self.loop.create_task(coro, name=name, context=self.harness.context)
        return self.loop.run_until_complete(task)

    def close(self) -> None:
        try:
            self._close_loop()
        finally:
            self.harness.close()

    def _close_loop(self) -> None:
        finish = getattr(self.loop, "finish", None)
        if finish is not None:  # the deterministic loop cancels and awaits leftovers itself
            finish()
            return
        pending = [r.task for r in self.harness.runs.values() if r.task and not r.task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()
