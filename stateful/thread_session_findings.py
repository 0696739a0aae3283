"""Findings about Stageflow's process-wide spawner across event loops and threads.

``get_subpipeline_spawner()`` returns one spawner per process, created on first use and kept
across every ``asyncio.run`` session and every thread after it, with the process-wide
``ChildRunTracker``. Each of their ``asyncio.Lock``s binds to the first event loop that ever
waits on it. Each reproducer is plain Stageflow code, returns
True while the violation is there, starts from no global spawner and puts the process's own
back afterwards, so that nothing it does reaches another check. The lost wakeup (SF-THR-06) is
judged on the sleeping loop's state, not on a wall-clock margin: see ``_sleeps_for_good``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import uuid
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases

# The lost wakeup's evidence and the bounded poll are SF-THR-02's own.
from stageflow_verify.stateful.thread_bag_findings import (
    LOCK_CAVEAT,
    SECONDS,
    _sleeps_for_good,
    _sleeps_in_select,
    _until,
    _waits_asleep,
)
from stageflow_verify.stateful.thread_schedules import (
    global_spawner_schedule,
    spawner_lock_schedule,
)

SESSIONS_CHECK = "threads.sessions"
SPAWNER_BOUND_TO_FIRST_LOOP = "SF-THR-05"
SPAWNER_LOCK_ACROSS_THREADS = "SF-THR-06"
GLOBAL_SPAWNER_TWICE = "SF-THR-07"
TRACKER_BOUND_ACROSS_THREADS = "SF-THR-08"


class _SuspendingSink:
    """An event sink whose emit awaits, as any sink doing I/O does."""

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        await asyncio.sleep(0)

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        pass


def spawner_bound_to_first_loop(sf: ModuleType) -> bool:
    """The same session twice, each in its own asyncio.run: the second raises."""
    sub = sf.pipeline.subpipeline

    async def session(number: int) -> None:
        sf.set_event_sink(_SuspendingSink())  # inside this run's own context copy
        spawner = sub.get_subpipeline_spawner()
        # New runs each session (a cancelled id is never cancelled, nor emitted, again).
        first, second = uuid.UUID(int=2 * number), uuid.UUID(int=2 * number + 1)
        # cancel_with_children holds the spawner's lock across its 'canceled' emit, so the
        # other cancel waits for the lock: that wait binds the lock to this session's loop.
        await asyncio.gather(
            spawner.cancel_with_children(first), spawner.cancel_with_children(second)
        )

    # The process's global spawner and tracker (a new spawner makes the global tracker), put
    # back at the end: the public getters would create them where there were none.
    saved = vars(sub)["_spawner"], vars(sub)["_child_tracker"]
    sub.clear_subpipeline_spawner()
    try:
        asyncio.run(session(1))
        try:
            asyncio.run(session(2))
        except RuntimeError as exc:
            return "bound to a different event loop" in str(exc)
        return False
    finally:
        sub._spawner, sub._child_tracker = saved


def spawner_lock_lost_wakeup(sf: ModuleType) -> bool:
    """Thread A cancels through the global spawner and pauses inside its lock (in the
    ``contexts`` mapping it passed); thread B, on its own loop, cancels another run, waits for
    the lock and sleeps. A finishes. True if B's loop then sleeps for good with B's wakeup in
    hand (see _sleeps_for_good)."""
    sub = sf.pipeline.subpipeline
    a_inside, b_waits, a_done = threading.Event(), threading.Event(), threading.Event()
    run_id = uuid.UUID(int=2)
    b_loop: list[asyncio.AbstractEventLoop] = []

    class PausingContexts(dict[Any, Any]):
        def __contains__(self, key: object) -> bool:  # asked while the spawner's lock is held
            a_inside.set()
            b_waits.wait(SECONDS)
            return False

    def a_cancels() -> None:
        spawner = sub.get_subpipeline_spawner()
        contexts = PausingContexts(x=1)  # non-empty: the spawner asks `run_id in contexts`
        asyncio.run(spawner.cancel_with_children(run_id, contexts=contexts))
        a_done.set()

    async def b_asks() -> None:
        b_loop.append(asyncio.get_running_loop())
        await sub.get_subpipeline_spawner().cancel_with_children(uuid.UUID(int=3))

    # The process's global spawner and tracker (a new spawner makes the global tracker), put
    # back at the end: the public getters would create them where there were none.
    saved = vars(sub)["_spawner"], vars(sub)["_child_tracker"]
    sub.clear_subpipeline_spawner()
    spawner = sub.get_subpipeline_spawner()  # one spawner for both threads, made before either
    a = threading.Thread(target=a_cancels, daemon=True)
    b = threading.Thread(target=asyncio.run, args=(b_asks(),), daemon=True)
    try:
        a.start()
        _until(lambda: a_inside.is_set() or not a.is_alive(), "A holds the spawner's lock")
        if not a_inside.is_set():
            return False  # this spawner never reads `contexts` under its lock
        b.start()
        # As for SF-THR-02: B waits for the lock and sleeps, or is done, or blocks elsewhere.
        _until(lambda: _waits_asleep(spawner._lock, b), "B waits for the lock", required=False)
        b_waits.set()
        a.join(SECONDS)
        return _sleeps_for_good(a_done, b, b_loop)
    finally:
        b_waits.set()
        sub._spawner, sub._child_tracker = saved


def global_spawner_made_twice(sf: ModuleType) -> bool:
    """Thread A's first get_subpipeline_spawner() is inside the spawner's constructor when
    thread B's first call checks the global: both make one, and they differ."""
    sub = sf.pipeline.subpipeline
    constructor = sub.SubpipelineSpawner.__init__.__code__
    inside, release = threading.Event(), threading.Event()
    got: dict[str, Any] = {}

    def pause_in_constructor(frame: Any, event: str, arg: Any) -> None:
        if frame.f_code is constructor and not inside.is_set():
            inside.set()  # A has found the global unset and is building its spawner
            release.wait(SECONDS)

    def a_first_call() -> None:
        sys.settrace(pause_in_constructor)  # this thread only: one pause, then no tracing
        try:
            got["a"] = sub.get_subpipeline_spawner()
        finally:
            sys.settrace(None)

    # The process's global spawner and tracker (a new spawner makes the global tracker), put
    # back at the end: the public getters would create them where there were none.
    saved = vars(sub)["_spawner"], vars(sub)["_child_tracker"]
    sub.clear_subpipeline_spawner()
    a = threading.Thread(target=a_first_call, daemon=True)
    try:
        a.start()
        _until(lambda: inside.is_set() or not a.is_alive(), "A builds the global spawner")
        got["b"] = sub.get_subpipeline_spawner()
        release.set()
        a.join(SECONDS)
        return "a" in got and got["a"] is not got["b"]
    finally:
        release.set()
        sub._spawner, sub._child_tracker = saved


def tracker_lock_strands_child(sf: ModuleType) -> bool:
    """Thread A spawns a child through the global spawner and pauses inside the tracker's lock
    (registering it); thread B spawns too, and its wait binds the lock to B's loop. Later, while
    B holds the lock (unregistering its own child), A's child ends: A's unregister has to wait,
    and raises. True if A's spawn raised "bound to a different event loop" and A's root still
    has a child registered after the spawn is over."""
    sub = sf.pipeline.subpipeline
    a_holds, a_may_go, a_runs, b_holds, a_done = (threading.Event() for _ in range(5))
    raised: list[BaseException] = []
    b_loop: list[asyncio.AbstractEventLoop] = []
    root_a, root_b = (_root(sf, uuid.UUID(int=n)) for n in (1, 2))

    def pause_holding_the_lock(
        method: Any, holding: threading.Event, until: threading.Event
    ) -> Any:
        # A trace function for one thread: pauses it once, at the first line of `method` run
        # while the tracker's lock is held, as a thread switch there would.
        def each_line(frame: Any, event: str, arg: Any) -> Any:
            if event == "line" and not holding.is_set() and frame.f_locals["self"]._lock.locked():
                holding.set()
                until.wait(SECONDS)
            return each_line

        def on_call(frame: Any, event: str, arg: Any) -> Any:
            return each_line if frame.f_code is method.__code__ else None

        return on_call

    async def a_child(ctx: Any) -> dict[str, Any]:
        a_runs.set()
        b_holds.wait(SECONDS)  # until B holds the tracker's lock: then this child ends
        return {}

    async def b_child(ctx: Any) -> dict[str, Any]:
        return {}

    def a_spawns() -> None:
        sys.settrace(pause_holding_the_lock(sub.ChildRunTracker.register_child, a_holds, a_may_go))
        try:
            spawner = sub.get_subpipeline_spawner()
            asyncio.run(spawner.spawn("child", root_a, uuid.uuid4(), "stage", a_child))
        except RuntimeError as exc:
            raised.append(exc)
        finally:
            sys.settrace(None)
            a_done.set()

    async def b_spawns() -> None:
        b_loop.append(asyncio.get_running_loop())
        spawner = sub.get_subpipeline_spawner()
        await spawner.spawn("child", root_b, uuid.uuid4(), "stage", b_child)

    def b_main() -> None:
        sys.settrace(pause_holding_the_lock(sub.ChildRunTracker.unregister_child, b_holds, a_done))
        try:
            asyncio.run(b_spawns())
        finally:
            sys.settrace(None)

    # The process's global spawner and tracker, put back at the end: the public getters would
    # create them where there were none.
    saved = vars(sub)["_spawner"], vars(sub)["_child_tracker"]
    sub.clear_subpipeline_spawner()
    sub.clear_child_tracker()
    tracker = sub.get_child_tracker()
    sub.get_subpipeline_spawner()  # one spawner, on the global tracker, made before either
    a = threading.Thread(target=a_spawns, daemon=True)
    b = threading.Thread(target=b_main, daemon=True)
    try:
        a.start()
        _until(lambda: a_holds.is_set() or not a.is_alive(), "A holds the tracker's lock")
        b.start()

        # B waits on its loop for the tracker's asyncio.Lock; a tracker whose lock blocks the
        # thread instead (a threading.Lock) is let go after the bounded poll, and cannot raise.
        def b_waits() -> bool:
            waiters = getattr(tracker._lock, "_waiters", None)
            return (bool(waiters) and _sleeps_in_select(b)) or not b.is_alive()

        _until(b_waits, "B waits for the lock", required=False)
        a_may_go.set()
        _until(lambda: a_runs.is_set() or not a.is_alive(), "A's child runs")
        # A's release resolved B's wait without waking B's loop (SF-THR-06): wake it. B may
        # have ended and closed its loop already (nothing to wake).
        with contextlib.suppress(RuntimeError, IndexError):
            b_loop[0].call_soon_threadsafe(lambda: None)
        a.join(SECONDS)
        b.join(SECONDS)
        left = asyncio.run(tracker.get_children(root_a.pipeline_run_id))
        bound = bool(raised) and "bound to a different event loop" in str(raised[0])
        return bound and bool(left)
    finally:
        for event in (a_may_go, b_holds, a_done):
            event.set()
        sub._spawner, sub._child_tracker = saved


def _root(sf: ModuleType, run_id: uuid.UUID) -> Any:
    # Every id field is passed: 0.5.1 requires them (1.2.0 defaults them to None).
    ids = dict.fromkeys(["request_id", "session_id", "user_id", "org_id", "interaction_id"])
    return sf.PipelineContext(pipeline_run_id=run_id, **ids)


MEASURED = releases()
GLOBAL_PROMISE = (
    "stageflow/pipeline/subpipeline.py:648 get_subpipeline_spawner(): 'Get the global "
    "subpipeline spawner.'; docs/advanced/subpipelines.md 'Get the global spawner'. A user "
    "expects a process-wide object to serve every asyncio.run session and thread as the first."
)

FINDINGS = [
    Finding(
        SPAWNER_BOUND_TO_FIRST_LOOP,
        "The global spawner works in one asyncio.run session only: the next session raises",
        MEASURED,
        SESSIONS_CHECK,
        GLOBAL_PROMISE,
        "cancel_with_children holds the spawner's asyncio.Lock across its 'canceled' emit "
        "(subpipeline.py:553-566); a concurrent spawn, cancel or is_canceled waits for it, "
        "which binds the lock to that session's loop for good. In any later session (a new "
        "asyncio.run, a new pytest-asyncio test, a worker's next job) the same wait raises "
        "RuntimeError('<Lock> is bound to a different event loop').",
        spawner_bound_to_first_loop,
        # Its swimlanes are its two asyncio.run sessions, the second one raising.
        tags=("threads", "sessions", "interleaving"),
        basis=expected(
            "A process-wide spawner that get_subpipeline_spawner() hands out is used across "
            "asyncio.run sessions (pytest-asyncio tests, a worker's jobs); after one contended "
            "wait its lock belongs to the first session's loop, and every later session that "
            "has to wait raises.",
            ("Get the global subpipeline spawner.", "stageflow/pipeline/subpipeline.py:649"),
        ),
        severity=Severity(
            "medium",
            "loud: a later session's spawn or cancel raises RuntimeError, on the ordinary path of "
            "a test suite or worker that reuses the global spawner",
        ),
        fix="SubpipelineSpawner (stageflow/pipeline/subpipeline.py): create its asyncio.Lock "
        "per running loop (or use a threading.Lock around the non-awaiting sections).",
    ),
    Finding(
        SPAWNER_LOCK_ACROSS_THREADS,
        "Two threads using the global spawner: a call waiting for its lock never returns",
        MEASURED,
        SESSIONS_CHECK,
        GLOBAL_PROMISE + " ChildRunTracker, which it uses, says 'Thread-safe tracking of child "
        "runs' (subpipeline.py:172).",
        "Thread B's cancel_with_children waits for the spawner's lock while thread A's holds it; "
        "A's release resolves B's future with a plain set_result from A's thread, which never "
        "wakes B's loop from select(). As SF-THR-02, through the process-wide spawner. The "
        "global ChildRunTracker's two asyncio.Locks (subpipeline.py:179-180) are shared the "
        "same way; threads.sessions excuses a thread whose loop waits on any lock under this "
        "id, so a tracker-only lost wakeup would be folded in here.",
        spawner_lock_lost_wakeup,
        tags=("threads", "sessions", "interleaving"),
        schedules=spawner_lock_schedule,
        basis=documented(
            (
                "Thread-safe tracking of child runs for each parent",
                "stageflow/pipeline/subpipeline.py:172",
            ),
        ),
        severity=Severity(
            "low",
            "a hang, but only for threads with loops of their own sharing the global spawner",
        ),
        fix="SubpipelineSpawner and ChildRunTracker (stageflow/pipeline/subpipeline.py:179-180, "
        "553-566): thread-aware locks, or document them as single-loop.",
    ),
    Finding(
        GLOBAL_SPAWNER_TWICE,
        "Two threads' first get_subpipeline_spawner() calls can make two 'global' spawners",
        MEASURED,
        SESSIONS_CHECK,
        GLOBAL_PROMISE,
        "get_subpipeline_spawner() checks the global and then builds a spawner (subpipeline.py"
        ":648-653) with no lock; a thread that checks while another is still building gets a "
        "spawner of its own, which the global then forgets: its runs' depths and cancellations "
        "are invisible to everyone else. get_child_tracker() has the same shape (:356-361).",
        global_spawner_made_twice,
        tags=("threads", "sessions", "interleaving"),
        schedules=global_spawner_schedule,
        basis=expected(
            "'the global spawner' is one object per process; two threads starting at once "
            "each get their own, and one thread's runs become invisible to the other's cancels.",
            ("Get the global subpipeline spawner.", "stageflow/pipeline/subpipeline.py:649"),
        ),
        severity=Severity("low", "only two threads' very first calls can race"),
        fix="get_subpipeline_spawner and get_child_tracker (stageflow/pipeline/subpipeline.py"
        ":356-361, 648-653): create the global under a threading.Lock.",
    ),
    Finding(
        TRACKER_BOUND_ACROSS_THREADS,
        "Two threads sharing the global tracker: a spawn raises in its cleanup and its child "
        "stays registered for good",
        MEASURED,
        SESSIONS_CHECK,
        "stageflow/pipeline/subpipeline.py:172 ChildRunTracker: 'Thread-safe tracking of child "
        "runs for each parent'; docs/advanced/subpipelines.md:681 'Thread-safe tracking of "
        "parent-child relationships for cancellation propagation.'",
        "The global ChildRunTracker guards its maps with an asyncio.Lock (subpipeline.py:179). "
        "When thread B's register_child finds it held by thread A (a thread switch inside the "
        "critical section), B waits on a future of B's loop, which binds the lock to B's loop "
        "for good. Later, when A's child ends while B holds the lock, spawn's finally "
        "(subpipeline.py:521-523) awaits unregister_child, whose wait raises RuntimeError('<Lock> "
        "is bound to a different event loop'): the spawn raises instead of returning its result, "
        "and the child stays under A's root in the process-wide tracker. Nothing removes it "
        "(cleanup_run has no caller in Stageflow): a later cancel_with_children of that root "
        "cancels, and emits 'pipeline.canceled' for, a run that ended long ago. Found by a "
        "nightly of threads.sessions on pristine 1.2.0 (two sessions in parallel threads left "
        "{1: 1} child); the spawner's own lock (SF-THR-05) never strands a child, since a spawn "
        "waits on it only before registering or after unregistering. The tracker's second "
        "lock, _metrics_lock (:180), binds the same way; threads.sessions excuses a raise on "
        "either under this id (one on _metrics_lock comes after the removal: no child is "
        "stranded by it)." + LOCK_CAVEAT,
        tracker_lock_strands_child,
        tags=("threads", "sessions"),
        basis=documented(
            (
                "Thread-safe tracking of child runs for each parent",
                "stageflow/pipeline/subpipeline.py:172",
            ),
            (
                "Thread-safe tracking of parent-child relationships for cancellation propagation.",
                "docs/advanced/subpipelines.md:681",
            ),
        ),
        severity=Severity(
            "low",
            "a spawn raises and leaks a registration for the process's life, but only when "
            "threads with loops of their own share the global tracker",
        ),
        fix="ChildRunTracker (stageflow/pipeline/subpipeline.py:179-180): a threading.Lock "
        "(no critical section awaits); and SubpipelineSpawner.spawn's finally (:521-526) should "
        "unregister even when the wait fails, or document the tracker as single-loop.",
    ),
]
