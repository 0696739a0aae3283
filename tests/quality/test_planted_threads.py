"""Four thread races planted in the bags, each caught by ``threads.bags`` with its thread schedule.

Each test monkeypatches one method of the installed stageflow (inside the test only) and runs
the check as ``make verify`` does: the findings that still reproduce on the patched Stageflow
are adopted, the rest are not. The failure must carry the threads' swimlane and the
``run_threads(bodies, ReplayChooser([...]))`` replay. The time is measured in CPU seconds of the
whole process, threads included (on a loaded machine wall time measures the neighbours: thread
hand-offs wait for the OS to schedule them) and printed.
Without a patch the check passes (``test_pristine_thread_bags_pass``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.core.sched.loop_reports import NOTE_HEADER
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.bag_findings import FINDINGS as BAG_FINDINGS
from stageflow_verify.stateful.thread_bag_findings import FINDINGS
from stageflow_verify.stateful.thread_bag_machine import run_thread_bags

sf = stageflow_module()
OutputBag = sf.context.OutputBag
OutputEntry = sf.context.OutputEntry
OutputConflictError = sf.context.OutputConflictError
ContextBag = sf.context.ContextBag
DataConflictError = sf.context.DataConflictError


async def write_without_lock(
    self: Any, stage_name: str, output: Any, *, allow_overwrite: bool = False
) -> Any:
    existing = self._entries.get(stage_name)  # the planted bug: no lock around check and act
    if existing is not None and not allow_overwrite:
        raise OutputConflictError(stage_name, existing.attempt)
    attempt = (existing.attempt + 1) if existing else 1
    entry = OutputEntry(output, attempt, datetime.now(UTC), stage_name)
    self._entries[stage_name] = entry
    return entry


def keys_by_iterating(self: Any) -> list[str]:
    return [name for name in self._entries]  # the planted bug: iterates while others write


async def context_write_without_lock(self: Any, key: str, value: Any, stage_name: str) -> None:
    if key in self._data:  # the planted bug: no lock, so two threads may both pass the check
        raise DataConflictError(key, self._writers[key], stage_name)
    self._data[key] = value
    self._writers[key] = stage_name


def to_dict_by_iterating(self: Any) -> dict[str, Any]:
    return {key: value for key, value in self._data.items()}  # the planted bug: iterates


PLANTED: list[tuple[str, Any, str, Callable[..., Any]]] = [
    ("output_write_unlocked", OutputBag, "write", write_without_lock),
    # A read that iterates the entries while another thread writes. It was once left out,
    # found in only half the ci runs: Hypothesis's generation after a first failure ran on
    # a wall-clock budget (see thread_settings); the search is now a function of its examples.
    ("output_keys_iterate", OutputBag, "keys", keys_by_iterating),
    ("context_write_unlocked", ContextBag, "write", context_write_without_lock),
    ("context_to_dict_iterates", ContextBag, "to_dict", to_dict_by_iterating),
]


@pytest.mark.parametrize(
    ("cls", "name", "bug"), [p[1:] for p in PLANTED], ids=[p[0] for p in PLANTED]
)
def test_planted_thread_race_is_caught_with_its_schedule(
    monkeypatch: pytest.MonkeyPatch, cls: Any, name: str, bug: Callable[..., Any]
) -> None:
    monkeypatch.setattr(cls, name, bug)
    started = time.process_time()
    with pytest.raises(AssertionError) as info:
        run_thread_bags()
    elapsed = time.process_time() - started
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert NOTE_HEADER in notes, notes
    assert "Replay: run_threads(bodies, ReplayChooser([" in notes
    assert "state.run_tasks(" in notes  # Hypothesis's runnable program
    # Timings are printed, never asserted (tests assert no times; the bench measures speed).
    print(f"{elapsed:.2f} s CPU", str(info.value), notes, sep="\n")


def test_pristine_thread_bags_pass() -> None:
    run_thread_bags()


@pytest.mark.parametrize(
    ("finding", "shown"),
    [
        ("SF-THR-01", "dictionary changed size"),
        ("SF-THR-02", "await acquire"),
        ("SF-THR-03", "await acquire"),
        # SF-THR-04 is not here: 60 examples miss it (measured: 300 find it), so under ci
        # its adoption is untested; nightly, looping the check with fresh seeds, can reach it.
    ],
)
def test_each_known_violation_is_found_when_not_adopted(finding: str, shown: str) -> None:
    known = reproducing_ids([*FINDINGS, *BAG_FINDINGS])
    with pytest.raises((AssertionError, ExceptionGroup)) as info:
        run_thread_bags(adopted=known - {finding})
    failures = getattr(info.value, "exceptions", (info.value,))  # one per distinct bug
    assert any(shown in str(f) for f in failures), [str(f) for f in failures]
