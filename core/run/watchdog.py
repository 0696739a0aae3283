"""Watchdogs that turn a hanging Stageflow into a failure naming where it hung, not a hang.

The machines run Stageflow on the deterministic loop, whose step budget turns a spin into a
LivelockError. Finding reproducers are plain Stageflow programs a maintainer can paste, so they
call a stock ``asyncio.run``: a Stageflow that spins (``while True: await asyncio.sleep(0)``, or
``while True: pass``) would hang ``make verify`` there with no message. :func:`watchdog` bounds
such a call by wall time and ends it with :class:`StageflowStuckError`, naming what was running
and the line it was stuck on, so verify reports a row instead of hanging.

How: ``SIGALRM`` runs its handler in the main thread between two bytecodes, wherever Python is,
so even a loop with no await is interrupted. The handler raises :class:`_Expired`, a
``KeyboardInterrupt``: Stageflow turns a stage's ``Exception`` into a failed output, and the spin
would go on after it; asyncio's tasks, the deterministic loop and Hypothesis pass a
``KeyboardInterrupt`` straight up where they keep other exceptions as a task's or an example's.
The alarm repeats every second until the ``with`` block is left, in case something swallows
even that. Outside the block the expiry becomes an ordinary
:class:`StageflowStuckError`, which verify reports like any other failure.

Off the main thread signals cannot be used; there the block runs unguarded (verify and its
xdist workers run checks on their main thread).

Machines, laws and model-checked scenarios can run for minutes when all is well, so a fixed
wall-clock budget would either cut a slow but healthy check short on a loaded machine or wait
long on a stuck one. :func:`stall_watchdog` bounds them by *progress* instead: every second it
looks whether an example finished (``progress()``) or the deterministic loop running now took a
step, and ends the block once neither happened for ``stall_seconds``. The deterministic loop's
own step budget turns a spin that awaits into a ``LivelockError`` at once; a spin that never
awaits (``while True: pass``) takes no step, and this is what ends it.

Once one block has been stuck, the process has seen Stageflow hang; later blocks wait only
``STUCK_AGAIN_SECONDS``, so a Stageflow that hangs in every graph run ends ``make verify`` in
one long wait and many short ones, not one long wait per check.

For example::

    with watchdog(30, "reproducer of SF-RUN-04"):
        finding.reproduce(sf)
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from stageflow_verify.core.run.code_owner import code_owner

# Wall-clock seconds a finding's reproducer may take: they finish in milliseconds, so this only
# ever fires on a hang, and is generous for a loaded 2-core machine.
REPRODUCER_SECONDS = 30.0
# Seconds a check may go without finishing an example or taking a scheduler step: an example is
# milliseconds and a step microseconds, so this too only fires on a hang, even under load.
STALL_SECONDS = 30.0
# The budget of every later block once one was stuck (see the module docstring).
STUCK_AGAIN_SECONDS = 3.0
_REPEAT_SECONDS = 1.0
_TASKS_SHOWN = 5
_FRAMES_SHOWN = 3
_seen_stuck = False


class StageflowStuckError(Exception):
    """Code ran past its wall-clock or progress budget (a spin, or a hang on a stock loop).

    ``in_stageflow`` says whose code was stuck: False when the innermost frame that is neither
    a library's nor the standard library's is the suite's own (a model or an adapter spinning,
    a pause inside Hypothesis) and no waiting task sits in Stageflow: verify reports that as
    ERROR, a hang of the suite, never as a Stageflow finding.
    """

    def __init__(self, message: str, in_stageflow: bool = True) -> None:
        super().__init__(message)
        self.in_stageflow = in_stageflow


def _owner(frame: FrameType) -> str:
    """ "stageflow" (Stageflow, a copy of it, or a bug a test planted in its place), "suite",
    "hypothesis" or "other" (the standard library, pytest...)."""
    owner = code_owner(frame.f_code.co_filename)
    return "stageflow" if owner == "planted" else owner


def _in_hypothesis(frame: FrameType | None) -> bool:
    # Hypothesis working between test cases (shrinking a long failing example is seconds of
    # pure Python that finish no example): progress, bounded by its own shrink time limit.
    while frame is not None and _owner(frame) == "other":
        frame = frame.f_back
    return frame is not None and _owner(frame) == "hypothesis"


def _blames_stageflow(frame: FrameType | None) -> bool:
    # Innermost outward, past library frames, to the first frame that is Stageflow's or ours;
    # a stock loop waiting in select() is then blamed on the tasks it waits for.
    while frame is not None:
        owner = _owner(frame)
        if owner in ("stageflow", "suite"):
            if owner == "stageflow":
                return True
            break
        frame = frame.f_back
    loop = asyncio._get_running_loop()
    if loop is None:
        return False
    tasks = list(asyncio.all_tasks(loop))
    return any(_owner(f) == "stageflow" for t in tasks for f in _await_chain(t.get_coro()))


class _Expired(KeyboardInterrupt):
    # A KeyboardInterrupt, as Ctrl-C would raise: asyncio's tasks, the deterministic loop and
    # Hypothesis all pass it straight up instead of recording it as a failed example and going
    # on (an ordinary BaseException was kept as one example's failure, and the next example
    # spun again). Outside the ``with`` block it is always a StageflowStuckError.
    pass


@contextmanager
def watchdog(seconds: float, what: str) -> Iterator[None]:
    """Run the block for at most ``seconds`` of wall time, else raise StageflowStuckError."""
    active = signal.getitimer(signal.ITIMER_REAL)[0] > 0
    if threading.current_thread() is not threading.main_thread() or active:
        yield  # no signals off the main thread; an enclosing watchdog already bounds the block
        return

    seconds = min(seconds, STUCK_AGAIN_SECONDS) if _seen_stuck else seconds

    def expire(signum: int, frame: FrameType | None) -> None:
        message = f"{what} ran past {seconds:g} s of wall time; it was at {_where(frame)}"
        raise _Expired(message, _blames_stageflow(frame))

    with _alarm(expire, seconds):
        yield


def _line(frame: FrameType) -> str:
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _where(frame: FrameType | None) -> str:
    # The line the main thread was on, and, when it sat in an event loop waiting (a deadlock),
    # where each of that loop's unfinished tasks is suspended: the wait that never ends.
    where = _line(frame) if frame is not None else "an unknown line"
    loop = asyncio._get_running_loop()
    if loop is None:
        return where
    waiting = []
    for task in list(asyncio.all_tasks(loop))[:_TASKS_SHOWN]:
        chain = _await_chain(task.get_coro())[-_FRAMES_SHOWN:]
        if chain:
            waits = "\n      awaited by ".join(_line(f) for f in reversed(chain))
            waiting.append(f"\n  task {task.get_name()} waits at {waits}")
    return where + "".join(waiting)


def _await_chain(coro: object) -> list[FrameType]:
    # Task.get_stack() stops at the task's own coroutine; the wait is at the end of its chain
    # of awaited coroutines (cr_await), where a deadlock sits, often inside asyncio itself:
    # the frames above it say whose wait it is.
    chain: list[FrameType] = []
    while coro is not None:
        found = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if found is None:
            break
        chain.append(found)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return chain


@contextmanager
def _alarm(handler: Callable[[int, FrameType | None], None], first: float) -> Iterator[None]:
    global _seen_stuck
    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, first, _REPEAT_SECONDS)
    try:
        yield
    except _Expired as exc:
        _seen_stuck = True
        message, in_stageflow = exc.args
        raise StageflowStuckError(message, in_stageflow) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _loop_steps() -> tuple[int, int]:
    # The running loop's identity and step count; a stock loop (or none) counts as no step.
    loop = asyncio._get_running_loop()
    steps = getattr(loop, "steps_taken", None)
    return (id(loop), steps()) if callable(steps) else (0, 0)


@contextmanager
def stall_watchdog(stall_seconds: float, what: str, progress: Callable[[], int]) -> Iterator[None]:
    """Run the block until it goes ``stall_seconds`` without progress, then raise
    StageflowStuckError naming the file, line and function it was stuck in.

    Progress is ``progress()`` changing (the examples a check has finished), the running
    deterministic loop taking a step, or Hypothesis's own code running (shrinking). The error
    says whether Stageflow or the suite was stuck (``in_stageflow``). For example::

        with stall_watchdog(STALL_SECONDS, "check graphs.run_dag", example_count):
            check.run()
    """
    active = signal.getitimer(signal.ITIMER_REAL)[0] > 0
    if threading.current_thread() is not threading.main_thread() or active:
        yield  # no signals off the main thread; an enclosing watchdog already bounds the block
        return
    stall_seconds = min(stall_seconds, STUCK_AGAIN_SECONDS) if _seen_stuck else stall_seconds
    last = (progress(), _loop_steps())
    last_change = time.monotonic()

    expired = False

    def look(signum: int, frame: FrameType | None) -> None:
        nonlocal last, last_change, expired
        now = (progress(), _loop_steps())
        if (now != last or _in_hypothesis(frame)) and not expired:
            last, last_change = now, time.monotonic()
        elif expired or time.monotonic() - last_change >= stall_seconds:
            expired = True  # raised again every second, in case something swallowed it
            message = (
                f"{what} made no progress for {stall_seconds:g} s (no example finished, no "
                f"scheduler step): a spin or a hang; it was at {_where(frame)}"
            )
            raise _Expired(message, _blames_stageflow(frame))

    with _alarm(look, _REPEAT_SECONDS):
        yield
