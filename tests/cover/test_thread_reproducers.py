"""The lost-wakeup reproducers (SF-THR-02, 03, 06) judge the sleeping loop, not the clock; the
stranded child's (SF-THR-08) is deterministic and silent on a lock bound to no loop.

Each used to wait a wall-clock margin and call a write still pending "never returns". Now each
reads the sleeping thread's state: its loop in ``select()`` with no timeout, the callback that
would resume it queued, nothing in its self-pipe. These tests show that the verdict is not
built in: with an ``asyncio.Lock`` whose release wakes the waiter's loop the thread-safe way
(what a fixed Stageflow's lock would do), every one of them says the violation is gone; with
the real lock, every one of them reproduces, run after run.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from types import ModuleType

import pytest

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.thread_bag_findings import (
    _woken,
    context_write_never_returns,
    output_write_never_returns,
)
from stageflow_verify.stateful.thread_session_findings import (
    spawner_lock_lost_wakeup,
    tracker_lock_strands_child,
)
from tests.quality.test_planted_threads import context_write_without_lock as unlocked_context
from tests.quality.test_planted_threads import write_without_lock

LOST_WAKEUPS: list[tuple[str, Callable[[ModuleType], bool]]] = [
    ("SF-THR-02", output_write_never_returns),
    ("SF-THR-03", context_write_never_returns),
    ("SF-THR-06", spawner_lock_lost_wakeup),
]


def wake_up_first_thread_safely(self: asyncio.Lock) -> None:
    # asyncio.Lock._wake_up_first resolves the first waiter with a plain set_result; from
    # another thread that never wakes the waiter's loop. This one asks the loop to do it.
    waiters = getattr(self, "_waiters", None)
    if not waiters:
        return
    first = next(iter(waiters))
    if not first.done():
        first.get_loop().call_soon_threadsafe(lambda: first.done() or first.set_result(True))


@pytest.mark.parametrize(("finding", "reproduce"), LOST_WAKEUPS, ids=[f for f, _ in LOST_WAKEUPS])
def test_a_lost_wakeup_reproduces_every_time(
    finding: str, reproduce: Callable[[ModuleType], bool]
) -> None:
    threads = threading.active_count()
    assert all(reproduce(stageflow_module()) for _ in range(20)), finding
    assert threading.active_count() == threads  # every thread it started has ended


@pytest.mark.parametrize(("finding", "reproduce"), LOST_WAKEUPS, ids=[f for f, _ in LOST_WAKEUPS])
def test_a_lock_that_wakes_across_threads_is_not_reported(
    monkeypatch: pytest.MonkeyPatch, finding: str, reproduce: Callable[[ModuleType], bool]
) -> None:
    monkeypatch.setattr(asyncio.Lock, "_wake_up_first", wake_up_first_thread_safely)
    assert not any(reproduce(stageflow_module()) for _ in range(20)), finding


@pytest.mark.parametrize(
    ("owner", "reproduce", "bug"),
    [
        (stageflow_module().context.OutputBag, output_write_never_returns, write_without_lock),
        (stageflow_module().context.ContextBag, context_write_never_returns, unlocked_context),
    ],
    ids=["SF-THR-02", "SF-THR-03"],
)
def test_a_write_that_never_waits_for_the_lock_is_not_reported(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    reproduce: Callable[[ModuleType], bool],
    bug: Callable[..., object],
) -> None:
    monkeypatch.setattr(owner, "write", bug)  # B writes at once: there is no wait to lose
    assert not reproduce(stageflow_module())


def test_the_stranded_child_reproduces_every_time() -> None:
    threads = threading.active_count()
    assert all(tracker_lock_strands_child(stageflow_module()) for _ in range(20))
    assert threading.active_count() == threads


def test_a_tracker_lock_bound_to_no_loop_strands_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a fixed tracker's lock would do: a wait from any loop waits on that loop (never
    # "bound to a different event loop"), and a release wakes it across threads. A's cleanup
    # then waits for B (who holds the lock until A is done: until the reproducer's bounded
    # pause ends), unregisters its child, and the reproducer says the violation is gone.
    monkeypatch.setattr(asyncio.Lock, "_get_loop", lambda self: asyncio.get_running_loop())
    monkeypatch.setattr(asyncio.Lock, "_wake_up_first", wake_up_first_thread_safely)
    assert not tracker_lock_strands_child(stageflow_module())


def test_a_loop_that_closed_under_the_peek_counts_as_woken() -> None:
    # CI (stop 25) saw EBADF: with a lock that wakes across threads, B was woken, ran to its
    # end and closed its loop between the look at its stack and the peek at its self-pipe. A
    # loop that reached its end was woken; the reproducer must say so instead of raising.
    loop = asyncio.new_event_loop()
    assert not _woken(loop)  # open and idle: nothing in the self-pipe
    loop.close()
    assert _woken(loop)


def test_a_self_pipe_that_closes_during_the_peek_counts_as_woken() -> None:
    class ClosedUnderThePeek:
        _ssock = socket.socket()  # closed below: its recv raises EBADF as in CI

        def is_closed(self) -> bool:
            return False  # the check before the peek still saw it open

    ClosedUnderThePeek._ssock.close()
    assert _woken(ClosedUnderThePeek())
