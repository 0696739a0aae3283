"""Three bugs planted in the process-wide spawner and tracker, each caught by threads.sessions.

Each test monkeypatches one method (inside the test only) and runs the check as ``make verify``
does, with the findings that still reproduce adopted. A loop-bound global (the issue's own
example), a spawner whose answer leaks from one session into the next, and a tracker that
forgets to unregister: each must fail within ten seconds of CPU time, with the schedule that
shows it. Without a patch the check passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.thread_session_findings import FINDINGS
from stageflow_verify.stateful.thread_session_machine import check_sessions

sub = stageflow_module().pipeline.subpipeline


async def is_canceled_on_first_loop(self: Any, run_id: Any) -> bool:
    # The planted bug: a loop captured at first use and reused by every later session.
    loop = self.__dict__.setdefault("_first_loop", asyncio.get_running_loop())
    answer = loop.create_future()
    loop.call_soon(answer.set_result, run_id in self._canceled_runs)
    return bool(await answer)


async def is_canceled_anywhere(self: Any, run_id: Any) -> bool:
    return bool(self._canceled_runs)  # the planted bug: any cancelled run, of any session


async def unregister_forgets(self: Any, parent_id: Any, child_id: Any) -> None:
    async with self._lock:  # the planted bug: the child stays under its parent
        self._parents.pop(child_id, None)


SPAWNER, TRACKER = sub.SubpipelineSpawner, sub.ChildRunTracker
PLANTED: list[tuple[str, Any, str, Callable[..., Any], str]] = [
    ("loop_bound_global", SPAWNER, "is_canceled", is_canceled_on_first_loop, "closed"),
    ("answer_leaks_across_sessions", SPAWNER, "is_canceled", is_canceled_anywhere, "as if first"),
    ("tracker_keeps_children", TRACKER, "unregister_child", unregister_forgets, "still holds"),
]


@pytest.mark.parametrize(
    ("cls", "name", "bug", "shown"), [p[1:] for p in PLANTED], ids=[p[0] for p in PLANTED]
)
def test_planted_session_bug_is_caught(
    monkeypatch: pytest.MonkeyPatch, cls: Any, name: str, bug: Callable[..., Any], shown: str
) -> None:
    monkeypatch.setattr(cls, name, bug)
    started = time.process_time()
    with pytest.raises(AssertionError) as info:
        check_sessions()
    elapsed = time.process_time() - started
    assert shown in str(info.value), str(info.value)
    assert "every_session_behaves_as_if_first(" in "\n".join(getattr(info.value, "__notes__", []))
    # Timings are printed, never asserted (tests assert no times; the bench measures speed).
    print(f"{elapsed:.2f} s CPU", info.value, sep="\n")


def test_pristine_sessions_pass() -> None:
    check_sessions()


@pytest.mark.parametrize(
    ("finding", "shown"),
    [
        ("SF-THR-05", "bound to a different event loop"),
        ("SF-THR-06", "await acquire"),
        ("SF-THR-07", "has forgotten"),
        # SF-THR-08 is not here: the ci profile's 60 derandomized examples miss it (a random
        # search found it within one run; the nightly found it). tests/cover/
        # test_session_isolation.py replays schedules that reach it, adopted and not.
    ],
)
def test_each_known_violation_is_found_when_not_adopted(finding: str, shown: str) -> None:
    with pytest.raises(AssertionError) as info:
        check_sessions(adopted=reproducing_ids(FINDINGS) - {finding})
    assert shown in str(info.value), str(info.value)
