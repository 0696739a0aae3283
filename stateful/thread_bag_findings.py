"""Findings about OutputBag and ContextBag shared by OS threads, each with a plain reproducer.

Both bags call themselves thread-safe; both guard writes with an ``asyncio.Lock``, which the
Python documentation calls "not thread-safe", and read without any lock. Each reproducer is
plain Stageflow code plus ``threading``, returns True while the violation is there, and forces
its interleaving with a hook the bag calls into (the ``__len__`` of an output's artifacts list,
the ``__hash__`` of a key), and judges a lost wakeup on the sleeping loop's own state (in
``select()`` with no timeout, the resumption queued: ``_sleeps_for_good``), never on a
wall-clock margin, so it is deterministic; the thread machine
(``stateful/thread_bag_machine.py``) finds the same interleavings without hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import warnings
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, releases
from stageflow_verify.stateful.thread_schedules import (
    context_lock_schedule,
    iteration_race_schedule,
    output_lock_schedule,
    writer_lags_schedule,
)

OUTPUT_CHECK = "threads.bags"
ITERATION_RACE = "SF-THR-01"
OUTPUT_LOCK_ACROSS_LOOPS = "SF-THR-02"
CONTEXT_LOCK_ACROSS_LOOPS = "SF-THR-03"
CONTEXT_WRITER_LAGS = "SF-THR-04"
SECONDS = 5.0  # every wait is bounded: a reproducer must never hang the report


def iteration_race(sf: ModuleType) -> bool:
    """to_dict() in one thread while another thread writes a new stage: RuntimeError."""
    bag = sf.context.OutputBag()
    inside, written = threading.Event(), threading.Event()

    class Artifacts(list[Any]):
        def __len__(self) -> int:  # to_dict() calls it mid-iteration: pause there
            inside.set()
            written.wait(SECONDS)
            return 0

    asyncio.run(bag.write("stt", sf.StageOutput(status=sf.StageStatus.OK, artifacts=Artifacts())))

    def writer() -> None:
        inside.wait(SECONDS)
        asyncio.run(bag.write("llm", sf.StageOutput.ok({"text": "hi"})))
        written.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        bag.to_dict()
    except RuntimeError as exc:
        return "changed size during iteration" in str(exc)
    finally:
        written.set()
        thread.join(SECONDS)
    return False


def output_write_never_returns(sf: ModuleType) -> bool:
    bag = sf.context.OutputBag()
    output = sf.StageOutput.ok({"text": "hi"})
    return _lost_wakeup(lambda key: bag.write(key, output), bag._lock)


def context_write_never_returns(sf: ModuleType) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        bag = sf.context.ContextBag()
    return _lost_wakeup(lambda key: bag.write(key, "hi", f"stage_{key}"), bag._lock)


def writer_lags_value(sf: ModuleType) -> bool:
    """A reader sees a ContextBag key with a value and no writer, mid-write in another thread."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        bag = sf.context.ContextBag()
    between, seen = threading.Event(), threading.Event()

    class PausingKey(str):
        __slots__ = ()

        def __hash__(self) -> int:  # hashed again to store the writer: pause just before
            if not between.is_set() and bag.has("route") and bag.get_writer("route") is None:
                between.set()
                seen.wait(SECONDS)
            return str.__hash__(self)

    writer = threading.Thread(
        target=asyncio.run, args=(bag.write(PausingKey("route"), "fast", "router"),), daemon=True
    )
    writer.start()
    _until(lambda: between.is_set() or not writer.is_alive(), "the writer is mid-write")
    torn = bag.read("route") == "fast" and bag.get_writer("route") is None
    seen.set()
    writer.join(SECONDS)
    return torn


def _lost_wakeup(write: Callable[[str], Coroutine[Any, Any, object]], lock: Any) -> bool:
    """Thread A writes and pauses inside the bag's lock (in its key's ``__hash__``); thread B,
    on its own event loop, writes, waits for the lock and sleeps. A finishes and releases.
    True if B's loop then sleeps for good with B's wakeup in hand (see _sleeps_for_good)."""
    a_inside, b_waits, a_done = threading.Event(), threading.Event(), threading.Event()
    b_loop: list[asyncio.AbstractEventLoop] = []

    class PausingKey(str):
        __slots__ = ()

        def __hash__(self) -> int:  # the bag hashes the key while it holds its lock
            a_inside.set()
            b_waits.wait(SECONDS)
            return str.__hash__(self)

    async def b_writes() -> None:
        b_loop.append(asyncio.get_running_loop())
        await write("b")

    def a_writes() -> None:
        asyncio.run(write(PausingKey("a")))
        a_done.set()

    a = threading.Thread(target=a_writes, daemon=True)
    b = threading.Thread(target=asyncio.run, args=(b_writes(),), daemon=True)
    a.start()
    _until(lambda: a_inside.is_set() or not a.is_alive(), "A holds the lock")
    if not a_inside.is_set():
        return False  # this bag never hashes a key under its lock: nothing to race
    b.start()
    # B's future is among the lock's waiters and B's loop sleeps with nothing to do (or B is
    # done: a bag whose write never waits; or blocked elsewhere: a threading.Lock A holds).
    _until(lambda: _waits_asleep(lock, b), "B waits for the lock", required=False)
    b_waits.set()
    a.join(SECONDS)
    return _sleeps_for_good(a_done, b, b_loop)


def _waits_asleep(lock: Any, b: threading.Thread) -> bool:
    """B's future is among the lock's waiters and B's loop sleeps; or B is done."""
    return (bool(lock._waiters) and _sleeps_in_select(b)) or not b.is_alive()


def _sleeps_for_good(
    a_done: threading.Event, b: threading.Thread, b_loop: list[asyncio.AbstractEventLoop]
) -> bool:
    """After A released the lock and ended: is B's loop still asleep in select() with no
    timeout, its ready queue holding the callback that would resume B, and nothing written to
    its self-pipe? Then it sleeps for good, deterministically: that select() returns only when
    something writes the self-pipe (call_soon_threadsafe does), and A's release resolved B's
    future with a plain call_soon, which writes nothing. (A loop that was woken has a byte in
    its self-pipe until it leaves select(), and a ready callback makes its next select() one
    with a zero timeout.) Wakes B afterwards, so the thread can end."""
    loop: Any = b_loop[0] if b_loop else None
    resumable = loop is not None and bool(loop._ready)
    stuck = a_done.is_set() and resumable and _sleeps_in_select(b) and not _woken(loop)
    if b_loop and b.is_alive():
        # RuntimeError: B ended and closed its loop after is_alive() said yes, nothing to wake.
        with contextlib.suppress(RuntimeError):
            b_loop[0].call_soon_threadsafe(lambda: None)  # the wakeup A never gave
    b.join(SECONDS)
    return stuck


def _woken(loop: Any) -> bool:
    """A wakeup byte waits in the loop's self-pipe (peeked, not taken), or the loop has
    already closed: B was woken, ran to its end and closed the self-pipe between our look at
    its stack and this peek (seen in CI with a lock that wakes across threads: EBADF)."""
    ssock = loop._ssock
    if ssock is None or loop.is_closed():
        return True
    try:
        return bool(ssock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    except OSError:  # closed under us: the same ending as above
        return True


def _sleeps_in_select(thread: threading.Thread) -> bool:
    """The thread's event loop is inside select() with no timeout: asleep until woken."""
    frame = sys._current_frames().get(thread.ident or -1)
    in_select = False
    while frame is not None:
        code = frame.f_code
        if code.co_name == "select" and "selectors" in code.co_filename:
            in_select = True
        if code.co_name == "_run_once" and in_select:
            return frame.f_locals.get("timeout", 0) is None  # None: nothing ready, no timer
        frame = frame.f_back
    return False


def _until(condition: Callable[[], bool], what: str, *, required: bool = True) -> bool:
    # A poll for a state the other thread reaches in microseconds. Each condition also holds
    # once the other thread has ended, so running out of time means a stalled setup: reported
    # (required), or, where a Stageflow that blocks the thread elsewhere (a threading.Lock)
    # is a legitimate outcome, answered False for the caller to judge the state it finds.
    done = threading.Event()
    for _ in range(int(SECONDS * 100)):
        if condition():
            return True
        done.wait(0.01)
    if required:
        raise RuntimeError(f"the reproducer's setup never reached '{what}' within {SECONDS} s")
    return False


# Every release with a stored environment, each reproducer run on each (2026-12-02).
MEASURED = releases()

THREAD_SAFE = (
    "stageflow/context/output_bag.py:3: 'OutputBag, a thread-safe collection for stage "
    "outputs'; :7 'Thread-safe writes with asyncio.Lock'; :81 'Thread-safe, append-only "
    "collection of stage outputs'"
)
LOCK_CAVEAT = (
    " The lock is an asyncio.Lock, which the Python documentation says is not thread-safe; "
    "if 'thread-safe' means 'safe between asyncio tasks', this is a documentation defect."
)

FINDINGS = [
    Finding(
        ITERATION_RACE,
        "OutputBag.to_dict()/outputs()/get_retry_stages() raise while another thread writes",
        MEASURED,
        OUTPUT_CHECK,
        THREAD_SAFE + ". Reads take no lock.",
        "A read that iterates the entries (to_dict, outputs, get_retry_stages) in one thread "
        "while another thread writes a new stage raises RuntimeError('dictionary changed size "
        "during iteration'); one that overlaps two overwrites can return a state that never "
        "existed (the first stage's old output with the second's new one: 48 of 300 seeded "
        "thread schedules). "
        "Without hooks, to_dict() polled while another thread wrote 200 stages raised in 62 of "
        "200 trials (sys.setswitchinterval(1e-6))." + LOCK_CAVEAT,
        iteration_race,
        tags=("threads", "interleaving"),
        schedules=iteration_race_schedule,
        basis=documented(
            ("OutputBag, a thread-safe collection for stage", "stageflow/context/output_bag.py:3"),
            (
                "Thread-safe, append-only collection of stage outputs",
                "stageflow/context/output_bag.py:81",
            ),
        ),
        severity=Severity(
            "low",
            "a read raises or shows a state that never was, but only when threads share one bag; "
            "the docstring names asyncio.Lock, so task-safety may be all that was meant",
        ),
        fix="OutputBag (stageflow/context/output_bag.py): copy the entries under a threading "
        "lock before iterating, or say 'safe between asyncio tasks of one loop' in the docs.",
    ),
    Finding(
        OUTPUT_LOCK_ACROSS_LOOPS,
        "Two threads writing one OutputBag: the waiting thread's write never returns",
        MEASURED,
        OUTPUT_CHECK,
        THREAD_SAFE,
        "Each thread runs its own event loop (asyncio.run). When thread B's write finds the "
        "lock held by thread A, it waits on a future of B's loop; A's release resolves it "
        "with a plain set_result from A's thread, which never wakes B's loop from select(): "
        "B's write hangs although the lock is free. Had a third loop waited on the same lock, "
        "it would raise RuntimeError('... is bound to a different event loop'). B was still "
        "waiting 60 s later. Without hooks, three threads each writing 2000 stages through "
        "asyncio.run hung in 28 of 30 trials, and 54 writes raised the RuntimeError "
        "(sys.setswitchinterval(1e-5))." + LOCK_CAVEAT,
        output_write_never_returns,
        tags=("threads", "interleaving"),
        schedules=output_lock_schedule,
        basis=documented(
            ("OutputBag, a thread-safe collection for stage", "stageflow/context/output_bag.py:3"),
        ),
        severity=Severity(
            "medium",
            "a write hangs for good, but only when threads with their own loops share one bag",
        ),
        fix="OutputBag.write (stageflow/context/output_bag.py): guard with a threading.Lock "
        "(the critical section does not await), or document the bag as single-loop.",
    ),
    Finding(
        CONTEXT_LOCK_ACROSS_LOOPS,
        "Two threads writing one ContextBag: the waiting thread's write never returns",
        MEASURED,
        OUTPUT_CHECK,
        "stageflow/context/bag.py:1: 'ContextBag for thread-safe output storage with conflict "
        "detection'; :34 'Thread-safe output bag with conflict detection.'",
        "As SF-THR-02, through ContextBag.write's asyncio.Lock (bag.py:70)." + LOCK_CAVEAT,
        context_write_never_returns,
        tags=("threads", "interleaving"),
        schedules=context_lock_schedule,
        basis=documented(
            ("Thread-safe output bag with conflict detection.", "stageflow/context/bag.py:34"),
        ),
        severity=Severity(
            "medium",
            "a write hangs for good, but only when threads with their own loops share one bag",
        ),
        fix="ContextBag.write (stageflow/context/bag.py:70): a threading.Lock around the "
        "check and the two stores, or document the bag as single-loop.",
    ),
    Finding(
        CONTEXT_WRITER_LAGS,
        "ContextBag: another thread can read a key's value while get_writer() says nobody wrote it",
        MEASURED,
        OUTPUT_CHECK,
        "stageflow/context/bag.py:34: 'Thread-safe output bag with conflict detection'; "
        ":81 read(): 'Read a value (no lock needed for reads).'",
        "write() stores the value (bag.py:77) and then the writer (bag.py:78); reads take no "
        "lock, so a thread that reads between the two sees read(key) return the value and "
        "get_writer(key) return None: no order of the operations explains both. Found by the "
        "thread machine (ci misses it at 30 examples; 300 find it)." + LOCK_CAVEAT,
        writer_lags_value,
        tags=("threads", "interleaving"),
        schedules=writer_lags_schedule,
        basis=documented(
            ("Thread-safe output bag with conflict detection.", "stageflow/context/bag.py:34"),
            ("Read a value (no lock needed for reads).", "stageflow/context/bag.py:81"),
        ),
        severity=Severity(
            "low",
            "a reader in another thread sees the value a moment before its writer: an edge "
            "case of a usage the docstrings may not mean",
        ),
        fix="ContextBag.write (stageflow/context/bag.py:77-78): store the writer before the "
        "value (or both under one lock that reads also take).",
    ),
]
