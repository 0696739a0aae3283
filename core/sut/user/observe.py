"""What one run of a user's pipeline did, recorded without touching the user's code.

The built-in invariants (:mod:`core.sut.user.invariants`) need facts a plain ``graph.run(ctx)``
does not return: which tasks each task created and which were still running when the run ended,
how often each registered cleanup started, what every stage's runner returned (and when), and
every ``PipelineContext.fork`` (a spawned subpipeline forks too) with the parent's and the
child's data at that moment. :class:`RunRecorder` collects them for the length of one run:

- a task factory on the running loop, chained to the one already there (the deterministic loop
  numbers its tasks), records each task's creator;
- the built graph's stage runners are wrapped in place (``graph._specs[name].runner``: the
  adapter reads a private field, as :mod:`core.sut.graphs` does) and put back afterwards;
- ``graph.register_cleanup`` is shadowed on the instance so that every callback is counted;
- ``PipelineContext.fork`` is patched on the class, and restored on exit, since user stages
  fork whichever context they hold.

Nothing here decides what is right; it only keeps what happened, as plain values and copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stageflow_verify.core.sut import stageflow_module

_MISSING = object()


@dataclass
class ForkRecord:
    """One ``fork``: both contexts, and deep copies of both ``data`` dicts as they were then."""

    parent: Any
    child: Any
    parent_data_then: Any
    child_data_then: Any
    where: str


@dataclass
class StageReturn:
    """What a stage runner returned (or raised), with a deep copy of its data at that moment."""

    stage: str
    status: str | None
    data_then: Any
    output: Any
    raised: str | None = None


@dataclass
class RunRecord:
    """Everything :class:`RunRecorder` kept about one run."""

    creator: dict[asyncio.Task[Any], asyncio.Task[Any] | None] = field(default_factory=dict)
    stage_tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    returns: list[StageReturn] = field(default_factory=list)
    cleanups: dict[str, int] = field(default_factory=dict)
    forks: list[ForkRecord] = field(default_factory=list)


def deep_copy(value: Any) -> Any:
    # Stage data may hold things deepcopy refuses (locks, clients); those are compared by
    # identity only, which is the best a copy can promise, and said so by the sentinel.
    try:
        return copy.deepcopy(value)
    except Exception:
        return _MISSING


class RunRecorder:
    """Records one run of ``graph``; use as ``with recorder.recording(graph): await run``."""

    def __init__(self) -> None:
        self.record = RunRecord()

    @contextlib.contextmanager
    def recording(self, graph: Any) -> Iterator[RunRecord]:
        with (
            self._tasks(),
            self._stage_runners(graph),
            self._cleanups(graph),
            self._forks(),
        ):
            yield self.record

    @contextlib.contextmanager
    def _tasks(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        previous = loop.get_task_factory()
        creator = self.record.creator

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
            task: asyncio.Task[Any]
            if previous is not None:
                task = previous(loop, coro, **kwargs)  # type: ignore[assignment]
            else:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            creator[task] = asyncio.current_task(loop)
            return task

        loop.set_task_factory(factory)
        try:
            yield
        finally:
            loop.set_task_factory(previous)

    @contextlib.contextmanager
    def _stage_runners(self, graph: Any) -> Iterator[None]:
        specs: dict[str, Any] = getattr(graph, "_specs", {})
        originals = {name: spec.runner for name, spec in specs.items()}
        for name, spec in specs.items():
            spec.runner = self._recording_runner(name, spec.runner)
        try:
            yield
        finally:
            for name, runner in originals.items():
                specs[name].runner = runner

    def _recording_runner(self, stage: str, runner: Callable[..., Any]) -> Callable[..., Any]:
        record = self.record

        @functools.wraps(runner)
        async def recorded(ctx: Any) -> Any:
            task = asyncio.current_task()
            if task is not None:
                record.stage_tasks.add(task)
            try:
                output = await runner(ctx)
            except BaseException as exc:
                record.returns.append(StageReturn(stage, None, None, None, type(exc).__name__))
                raise
            status = getattr(getattr(output, "status", None), "value", None)
            data = deep_copy(getattr(output, "data", None))
            record.returns.append(StageReturn(stage, status, data, output))
            return output

        return recorded

    @contextlib.contextmanager
    def _cleanups(self, graph: Any) -> Iterator[None]:
        if not hasattr(graph, "register_cleanup"):
            yield
            return
        original = graph.register_cleanup
        counts = self.record.cleanups

        def register_cleanup(callback: Any, *, name: str | None = None) -> None:
            key: str = name or str(getattr(callback, "__qualname__", repr(callback)))
            while key in counts:  # two cleanups of one name are still two cleanups
                key += "'"
            counts[key] = 0

            async def counted() -> Any:
                counts[key] += 1
                return await callback()

            original(counted, name=name)

        graph.register_cleanup = register_cleanup
        try:
            yield
        finally:
            del graph.register_cleanup  # the class's method shows through again

    @contextlib.contextmanager
    def _forks(self) -> Iterator[None]:
        cls = stageflow_module().PipelineContext
        original = cls.fork
        forks = self.record.forks

        @functools.wraps(original)
        def fork(parent: Any, *args: Any, **kwargs: Any) -> Any:
            data_then = deep_copy(parent.data)
            child = original(parent, *args, **kwargs)
            task = asyncio.current_task() if _loop_running() else None
            where = task.get_name() if task is not None else "outside any task"
            forks.append(ForkRecord(parent, child, data_then, deep_copy(child.data), where))
            return child

        cls.fork = fork
        try:
            yield
        finally:
            cls.fork = original


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def is_missing(value: Any) -> bool:
    """Whether ``value`` is the sentinel of a copy that could not be taken."""
    return value is _MISSING
