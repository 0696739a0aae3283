"""Seconds until the thread checks find and shrink the issue's two planted bugs, under ci.

Issue 18 asks that a thread race planted in OutputBag (a read that iterates the entries while
another thread writes) and a planted loop-bound global each be found and shrunk in under ten
seconds. This measures it, through the checks exactly as ``make verify`` runs them (the ci
profile, the findings that still reproduce adopted), and prints CPU seconds (every thread of
the process) and wall seconds, which on a shared machine also measure the neighbours. The tests
of ``tests/quality/test_planted_threads.py`` and ``test_planted_sessions.py`` assert that the
bugs are found; nothing here asserts a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import settings

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.thread_bag_machine import run_thread_bags
from stageflow_verify.stateful.thread_session_machine import check_sessions
from tests.quality.test_planted_sessions import SPAWNER, is_canceled_on_first_loop
from tests.quality.test_planted_threads import OutputBag, keys_by_iterating

Planted = tuple[str, Any, str, Callable[..., Any], Callable[[], None]]


def planted_bugs() -> list[Planted]:
    return [
        ("OutputBag.keys iterates (threads.bags)", OutputBag, "keys", keys_by_iterating,
         run_thread_bags),
        ("loop-bound global spawner (threads.sessions)", SPAWNER, "is_canceled",
         is_canceled_on_first_loop, check_sessions),
    ]  # fmt: skip


def measure(owner: Any, name: str, bug: Callable[..., Any], check: Callable[[], None]) -> str:
    original = vars(owner)[name]
    setattr(owner, name, bug)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        check()
        verdict = "MISSED"
    except AssertionError as failure:
        verdict = f"found and shrunk: {str(failure).splitlines()[0][:60]}"
    finally:
        setattr(owner, name, original)
    return f"{time.process_time() - cpu:6.2f} {time.perf_counter() - wall:6.2f}  {verdict}"


def main() -> None:
    stageflow_module()
    previous = settings.get_current_profile_name()  # make bench runs dev; verify runs ci
    settings.load_profile("ci")
    try:
        print(f"{'planted bug':48} {'CPU s':>6} {'wall s':>6}  verdict")
        for label, owner, name, bug, check in planted_bugs():
            print(f"{label:48} {measure(owner, name, bug, check)}", flush=True)
    finally:
        settings.load_profile(previous)
