"""The invariants every Stageflow pipeline keeps, whatever its stages do.

Each takes the :class:`PipelineRun` of one run and returns the violations it found, one
sentence each (an empty list when it holds). They are claims about Stageflow's promises and
about stage code that respects them, so a failing one points at whichever side broke it:

- ``no_task_left_running``: when ``graph.run`` returns or raises, no task the run created is
  still running (a task whose cancellation is already requested is ending, not running).
  Stageflow itself leaves its stage tasks running after a cancelled, timed-out or failed run
  (findings SF-RUN-04 and SF-RUN-10): a task left running *under such a Stageflow task* (its
  creator chain reaches one that still runs) is excused by naming that finding, unless
  ``excuse_known=False``. A task a stage created and abandoned while the stage itself ended,
  and anything left after a successful run, is always a violation.
- ``each_cleanup_ran_once``: every callback registered with ``graph.register_cleanup`` during
  the run started exactly once ("Always run cleanup, even on success",
  ``stageflow/pipeline/dag.py:829``).
- ``child_writes_stay_in_the_child``: a value a forked child wrote into its own ``data`` does not
  appear at the same place in its parent's ``data``, where the parent held something else at the
  fork ("Has its own fresh data dict", ``stageflow/stages/context.py:368``). The compromise: a
  parent that writes the very same value at the very same path itself is indistinguishable.
- ``tenant_ids_preserved``: every forked child (a spawned subpipeline forks too) carries its
  parent's ``user_id``, ``org_id`` and ``session_id`` ("Inherits auth context",
  ``stageflow/stages/context.py:367``), and the root context keeps the ones it was made with.
- ``results_agree_with_stage_outputs``: each entry of a successful run's results has the status
  and data its stage returned, as they were when it returned (a later reader mutating an input
  in place changes both; Stageflow hands readers the stored output, finding SF-RUN-07).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stageflow_verify.core.sut import stageflow_path
from stageflow_verify.core.sut.user.observe import RunRecord, is_missing

TENANT_FIELDS = ("user_id", "org_id", "session_id")
_ABSENT = object()
_STAGEFLOW_DIR = stageflow_path()


@dataclass
class PipelineRun:
    """One explored run of a user's pipeline, as the invariants (built-in and the user's) see it.

    ``outcome`` is ``"ok"`` (``graph.run`` returned ``results``), ``"failed"`` (it raised
    ``error``) or ``"cancelled"`` (it raised ``CancelledError`` or ``TimeoutError``). ``leftover``
    holds the tasks the run created that were still running when it ended; ``ctx`` and ``graph``
    are the objects the factories made, for the user's own invariants to read.
    """

    ctx: Any
    graph: Any
    outcome: str = "ok"
    results: dict[str, Any] | None = None
    error: BaseException | None = None
    record: RunRecord = field(default_factory=RunRecord)
    leftover: list[asyncio.Task[Any]] = field(default_factory=list)
    tenant_then: dict[str, Any] = field(default_factory=dict)
    cleanups_at_end: dict[str, int] = field(default_factory=dict)
    excused: list[str] = field(default_factory=list)


Invariant = Callable[[PipelineRun], "list[str] | None"]


def no_task_left_running(run: PipelineRun, *, excuse_known: bool = True) -> list[str]:
    creator = run.record.creator
    running_stageflow = {t for t in run.leftover if is_stageflow_task(t)}
    found = []
    for task in run.leftover:
        under = _running_ancestor(task, creator, running_stageflow)
        if under is not None and run.outcome != "ok" and excuse_known:
            finding = "SF-RUN-04" if run.outcome == "cancelled" else "SF-RUN-10"
            run.excused.append(
                f"{task.get_name()} still ran after the {run.outcome} run, under Stageflow's "
                f"task {under.get_name()}, which Stageflow left running ({finding})"
            )
            continue
        parent = creator.get(task)
        made_by = parent.get_name() if parent is not None else "?"
        whose = "Stageflow's own" if task in running_stageflow else "a"
        found.append(
            f"{whose} task {task.get_name()} ({_coroutine(task)}, created by {made_by}) was "
            "still running after the "
            f"run ended ({run.outcome}); whoever creates a task must cancel and await it "
            "before returning"
        )
    return found


def _coroutine(task: asyncio.Task[Any]) -> str:
    return str(getattr(task.get_coro(), "__qualname__", "?"))


def is_stageflow_task(task: asyncio.Task[Any]) -> bool:
    """Whether the coroutine ``task`` runs is Stageflow's own (a DAG node, an interceptor)."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and code.co_filename.startswith(_STAGEFLOW_DIR)


def _running_ancestor(
    task: asyncio.Task[Any],
    creator: dict[asyncio.Task[Any], asyncio.Task[Any] | None],
    running: set[asyncio.Task[Any]],
) -> asyncio.Task[Any] | None:
    current: asyncio.Task[Any] | None = task
    while current is not None:
        if current in running:
            return current
        current = creator.get(current)
    return None


def each_cleanup_ran_once(run: PipelineRun) -> list[str]:
    return [
        f"cleanup {name!r} started {count} times after the run (expected once)"
        for name, count in run.cleanups_at_end.items()
        if count != 1
    ]


def child_writes_stay_in_the_child(run: PipelineRun) -> list[str]:
    found = []
    for fork in run.record.forks:
        if is_missing(fork.child_data_then) or is_missing(fork.parent_data_then):
            continue
        for path, value in _changed_leaves(fork.child_data_then, fork.child.data):
            now = _at(fork.parent.data, path)
            then = _at(fork.parent_data_then, path)
            if (
                now is not _ABSENT
                and _same(now, value)
                and (then is _ABSENT or not _same(then, value))
            ):
                found.append(
                    f"child {fork.child.pipeline_run_id} (forked in {fork.where}) wrote "
                    f"data{_render(path)} = {value!r}, and its parent now holds the same there "
                    f"(it held {'nothing' if then is _ABSENT else repr(then)} at the fork): the "
                    "two share a mutable value"
                )
    return found


def tenant_ids_preserved(run: PipelineRun) -> list[str]:
    found = [
        f"the root context's {name} changed from {then!r} to {getattr(run.ctx, name, None)!r}"
        for name, then in run.tenant_then.items()
        if getattr(run.ctx, name, None) != then
    ]
    for fork in run.record.forks:
        for name in TENANT_FIELDS:
            mine, theirs = getattr(fork.child, name, None), getattr(fork.parent, name, None)
            if mine != theirs:
                found.append(
                    f"child {fork.child.pipeline_run_id} (forked in {fork.where}) has "
                    f"{name}={mine!r}, its parent {name}={theirs!r}"
                )
    return found


def results_agree_with_stage_outputs(run: PipelineRun) -> list[str]:
    if run.outcome != "ok" or run.results is None:
        return []
    returned = {r.stage: r for r in run.record.returns if r.status is not None}
    found = []
    for stage, output in run.results.items():
        mine = returned.get(stage)
        if mine is None:
            found.append(f"results[{stage!r}] is there, but stage {stage!r} never returned one")
            continue
        status = getattr(getattr(output, "status", None), "value", None)
        if status != mine.status:
            found.append(f"results[{stage!r}] is {status}, but the stage returned {mine.status}")
        data = getattr(output, "data", None)
        if not is_missing(mine.data_then) and not _same(data, mine.data_then):
            found.append(
                f"results[{stage!r}].data is {_plain(data)!r}, but the stage returned "
                f"{mine.data_then!r}: something changed it after it returned (a stage "
                "mutating an input in place?)"
            )
    return found


BUILT_IN: tuple[tuple[str, Invariant], ...] = (
    ("no_task_left_running", no_task_left_running),
    ("each_cleanup_ran_once", each_cleanup_ran_once),
    ("child_writes_stay_in_the_child", child_writes_stay_in_the_child),
    ("tenant_ids_preserved", tenant_ids_preserved),
    ("results_agree_with_stage_outputs", results_agree_with_stage_outputs),
)


def _changed_leaves(then: Any, now: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, Any]]:
    if isinstance(now, dict) and isinstance(then, dict):
        for key, value in now.items():
            yield from _changed_leaves(then.get(key, _ABSENT), value, (*path, key))
    elif then is _ABSENT or not _same(then, now):
        yield path, now


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _ABSENT
        data = data[key]
    return data


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(_plain(a) == _plain(b))
    except Exception:  # a value whose __eq__ raises is not equal to anything
        return False


def _plain(value: Any) -> Any:
    # FrozenDict / MappingProxy compare unequal to dicts holding the same items on some
    # Stageflow versions; the invariants compare contents.
    if hasattr(value, "items") and not isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _render(path: tuple[Any, ...]) -> str:
    return "".join(f"[{key!r}]" for key in path)
