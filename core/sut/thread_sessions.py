"""Sessions against Stageflow's process-wide spawner: what one ``asyncio.run`` of a program does.

A *session* is a short script of concurrent operations on the spawner that
``get_subpipeline_spawner()`` returns, from one root context of its own: ``spawn`` (a child
whose runner awaits a few times), ``cancel`` (``cancel_with_children`` of the root) and ``ask``
(``is_canceled`` of the root). It runs under an event sink whose emit awaits, as any sink doing
I/O does (so the spawner's lock is held across a suspension), and returns one line per
operation: what it returned, or the exception it raised and, when that came while waiting
for the spawner's or the tracker's lock, which lock and the function taking it (``spawn raised
RuntimeError waiting for the tracker lock in ChildRunTracker.unregister_child: ...``), so that
a known finding excuses a raise of its own lock and no other (:func:`lock_raise`). Nothing in a
line depends on ids or addresses except an exception's text.

:func:`on_fresh_spawner` runs the same script against a spawner and tracker of its own: what
the session would do were it the first of the process.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Coroutine, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from stageflow_verify.core.sut import HarnessError, stageflow_module

Session = Callable[[], Coroutine[Any, Any, list[str]]]


@dataclass(frozen=True)
class SpawnerOp:
    kind: str  # spawn | cancel | ask
    pauses: int  # awaits in a spawned child's runner


class _SuspendingSink:
    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        await asyncio.sleep(0)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        pass


@contextmanager
def fresh_process() -> Any:
    """Each example is a new process: no global spawner or tracker before, and afterwards the
    ones that were there before (another check's, a user's), exactly as they were.

    Clearing afterwards would not do: code that ran before us may hold the old globals (a
    spawner made with the global tracker), and a later check would then find the process in a
    state it never made. The public getters create a global when there is none, so the
    module's own two names are read and written back.
    """
    sub = stageflow_module().pipeline.subpipeline
    missing = [name for name in GLOBALS if name not in vars(sub)]
    if missing:
        raise HarnessError(
            f"stageflow.pipeline.subpipeline has no {missing}: this Stageflow keeps its global "
            "spawner or tracker elsewhere, so a session could not restore it; teach "
            "core/sut/thread_sessions.py (fresh_process) where it lives"
        )
    saved = {name: vars(sub)[name] for name in GLOBALS}
    sub.clear_subpipeline_spawner()
    sub.clear_child_tracker()
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(sub, name, value)


# stageflow/pipeline/subpipeline.py's process-wide objects: the spawner and the child tracker.
GLOBALS = ("_spawner", "_child_tracker")


def global_session(number: int, ops: Sequence[SpawnerOp], used: list[Any] | None = None) -> Session:
    """The session on ``get_subpipeline_spawner()``; ``used`` collects the spawner it got."""
    sub = stageflow_module().pipeline.subpipeline

    def the_global() -> Any:
        spawner = sub.get_subpipeline_spawner()
        if used is not None:
            used.append(spawner)
        return spawner

    return _session(number, ops, the_global)


def is_the_global(spawner: Any) -> bool:
    return spawner is stageflow_module().pipeline.subpipeline.get_subpipeline_spawner()


def on_fresh_spawner(number: int, ops: Sequence[SpawnerOp]) -> Session:
    sub = stageflow_module().pipeline.subpipeline

    def fresh() -> Any:
        return sub.SubpipelineSpawner(child_tracker=sub.ChildRunTracker())

    return _session(number, ops, fresh)


def _session(number: int, ops: Sequence[SpawnerOp], spawner_of: Callable[[], Any]) -> Session:
    sf = stageflow_module()

    async def main() -> list[str]:
        sf.set_event_sink(_SuspendingSink())  # in this session's own context copy
        spawner = spawner_of()
        root = sf.PipelineContext(
            pipeline_run_id=uuid.UUID(int=number),  # one root per session, never reused
            request_id=None,
            session_id=None,
            user_id=None,
            org_id=None,
            interaction_id=None,
        )
        outcomes = [_perform(spawner, root, op, k) for k, op in enumerate(ops)]
        return list(await asyncio.gather(*outcomes))

    main.__qualname__ = f"session{number}"
    return main


async def _perform(spawner: Any, root: Any, op: SpawnerOp, k: int) -> str:
    try:
        if op.kind == "spawn":

            async def runner(ctx: Any) -> dict[str, Any]:
                for _ in range(op.pauses):
                    await asyncio.sleep(0)
                return {}

            result = await spawner.spawn("child", root, uuid.UUID(int=k + 1), "stage", runner)
            return f"spawn -> success={result.success}"
        if op.kind == "cancel":
            cancelled = await spawner.cancel_with_children(root.pipeline_run_id)
            return f"cancel -> {len(cancelled)} cancelled"
        return f"ask -> {await spawner.is_canceled(root.pipeline_run_id)}"
    except Exception as exc:
        return f"{op.kind} raised {type(exc).__name__}{_waiting_for(exc, spawner)}: {exc}"


def _waiting_for(exc: BaseException, spawner: Any) -> str:
    # Which of the session's locks the exception's text names (an asyncio.Lock's repr holds
    # its address), and the function that was taking it: the innermost frame outside asyncio.
    # A planted method defined in a test is named as itself, never as Stageflow's.
    text = str(exc)
    tracker = getattr(spawner, "_tracker", None)
    locks = {
        "spawner": getattr(spawner, "_lock", None),
        "tracker": getattr(tracker, "_lock", None),
        "tracker metrics": getattr(tracker, "_metrics_lock", None),
    }
    lock = next((name for name, it in locks.items() if f" at {id(it):#x} " in text), "")
    if not lock:
        return ""
    taker, tb = "?", exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(_ASYNCIO):
            taker = code.co_qualname
        tb = tb.tb_next
    return f" waiting for the {lock} lock in {taker}"


_ASYNCIO = os.path.dirname(asyncio.__file__)


@dataclass(frozen=True)
class LockRaise:
    """What an outcome line says about a raise while waiting for one of the session's locks."""

    lock: str  # spawner | tracker | tracker metrics
    taker: str  # the qualified name of the function taking it
    message: str


def lock_raise(line: str) -> LockRaise | None:
    """The raise an outcome line records, if it came while waiting for a session's lock.

    For example::

        lock_raise("spawn raised RuntimeError waiting for the tracker lock in "
                   "ChildRunTracker.unregister_child: <Lock ...> is bound to another loop")
        # LockRaise("tracker", "ChildRunTracker.unregister_child", "<Lock ...> is bound ...")
    """
    head, _, message = line.partition(": ")
    _, found, where = head.partition(" waiting for the ")
    if " raised " not in head or not found:
        return None
    lock, _, taker = where.partition(" lock in ")
    return LockRaise(lock, taker, message)


async def registered_children(roots: Sequence[int]) -> dict[int, int]:
    """How many children the global tracker still holds under each session's root."""
    tracker = stageflow_module().pipeline.subpipeline.get_child_tracker()
    counts = {n: len(await tracker.get_children(uuid.UUID(int=n))) for n in roots}
    return {n: c for n, c in counts.items() if c}
