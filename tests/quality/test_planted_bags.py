"""Six bugs planted in the bags, each caught by the bag machines and shown with its schedule.

Each test monkeypatches one method of the installed stageflow (the patch lives only inside the
test) and runs the machine exactly as ``make verify`` does, under the selected profile (``ci``
in ``make test``). The failure must carry the checker's report and the shrunk schedule: the
scheduler's swimlane and the ``ReplayChooser`` expression. Without a patch the same machines
pass (``test_pristine_bags_pass``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis.stateful import run_state_machine_as_test

from stageflow_verify.core.sched.scheduler import NOTE_HEADER
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.bag_machine import (
    OutputBagComparison,
    bounded_settings,
    run_context_bag,
    run_output_bag,
)

sf = stageflow_module()
OutputBag = sf.context.OutputBag
OutputEntry = sf.context.OutputEntry
OutputConflictError = sf.context.OutputConflictError
ContextBag = sf.context.ContextBag
DataConflictError = sf.context.DataConflictError


async def write_split_by_await(
    self: Any, stage_name: str, output: Any, *, allow_overwrite: bool = False
) -> Any:
    existing = self._entries.get(stage_name)
    if existing is not None and not allow_overwrite:
        raise OutputConflictError(stage_name, existing.attempt)
    attempt = (existing.attempt + 1) if existing else 1
    await asyncio.sleep(0)  # the planted bug: check and act no longer atomic
    entry = OutputEntry(output, attempt, datetime.now(UTC), stage_name)
    self._entries[stage_name] = entry
    return entry


async def write_without_increment(
    self: Any, stage_name: str, output: Any, *, allow_overwrite: bool = False
) -> Any:
    async with self._lock:
        existing = self._entries.get(stage_name)
        if existing is not None and not allow_overwrite:
            raise OutputConflictError(stage_name, existing.attempt)
        attempt = existing.attempt if existing else 1  # the planted bug: no + 1
        entry = OutputEntry(output, attempt, datetime.now(UTC), stage_name)
        self._entries[stage_name] = entry
        return entry


async def write_without_conflict(
    self: Any, stage_name: str, output: Any, *, allow_overwrite: bool = False
) -> Any:
    async with self._lock:
        existing = self._entries.get(stage_name)  # the planted bug: no OutputConflictError
        attempt = (existing.attempt + 1) if existing else 1
        entry = OutputEntry(output, attempt, datetime.now(UTC), stage_name)
        self._entries[stage_name] = entry
        return entry


async def write_without_writer(self: Any, key: str, value: Any, stage_name: str) -> None:
    async with self._lock:
        if key in self._data:
            raise DataConflictError(key, self._writers.get(key, "?"), stage_name)
        self._data[key] = value  # the planted bug: self._writers[key] is never set


_write_sync = OutputBag.write_sync


def write_sync_overwrites_by_default(
    self: Any, stage_name: str, output: Any, *, allow_overwrite: bool = True
) -> Any:
    # The generated mutant output_bag.py:154:ReplaceFalseWithTrue:1: the documented default
    # `allow_overwrite: bool = False` turned True, seen only by a write that leaves it out.
    return _write_sync(self, stage_name, output, allow_overwrite=allow_overwrite)


def to_dict_without_copy(self: Any) -> dict[str, Any]:
    # The planted bug: the documented "Copy of the internal data dictionary" is the dict itself,
    # so a caller's change to the copy's top level rewrites the bag behind its conflict check.
    return self._data  # type: ignore[no-any-return]


PLANTED: list[tuple[str, Any, str, Callable[..., Any], Callable[[], None]]] = [
    ("check_and_act_split", OutputBag, "write", write_split_by_await, run_output_bag),
    ("attempt_not_incremented", OutputBag, "write", write_without_increment, run_output_bag),
    ("conflict_not_raised", OutputBag, "write", write_without_conflict, run_output_bag),
    (
        "write_sync_default_overwrites",
        OutputBag,
        "write_sync",
        write_sync_overwrites_by_default,
        run_output_bag,
    ),
    ("writer_not_recorded", ContextBag, "write", write_without_writer, run_context_bag),
    ("to_dict_not_a_copy", ContextBag, "to_dict", to_dict_without_copy, run_context_bag),
]


@pytest.mark.parametrize(
    ("cls", "name", "bug", "check"), [p[1:] for p in PLANTED], ids=[p[0] for p in PLANTED]
)
def test_planted_bug_is_caught_with_its_shrunk_schedule(
    monkeypatch: pytest.MonkeyPatch,
    cls: Any,
    name: str,
    bug: Callable[..., Any],
    check: Callable[[], None],
) -> None:
    monkeypatch.setattr(cls, name, bug)
    with pytest.raises(AssertionError) as info:
        check()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert NOTE_HEADER in notes, notes
    assert "Replay: run(main, " in notes
    assert "state.run_tasks(" in notes  # Hypothesis's runnable program
    print(str(info.value), notes, sep="\n")


# The ContextBag has nothing to adopt: its to_dict() shares values by documentation (SF-BAG-03
# was withdrawn), and a to_dict that is not a copy at all is planted above.
@pytest.mark.parametrize(("machine", "shown"), [(OutputBagComparison, "get_output(")])
def test_aliasing_is_found_when_the_findings_are_not_adopted(machine: Any, shown: str) -> None:
    class Unadopting(machine):  # type: ignore[misc]
        def adopted_deviations(self) -> frozenset[str]:
            return frozenset()

    with pytest.raises(AssertionError) as info:
        run_state_machine_as_test(Unadopting, settings=bounded_settings())
    assert "Not linearizable" in str(info.value) or "the model" in str(info.value)
    print(str(info.value))


@pytest.mark.parametrize("check", [run_output_bag, run_context_bag])
def test_pristine_bags_pass(check: Callable[[], None]) -> None:
    check()


def _context_bag_init_warning_at(stacklevel: int) -> Callable[[Any], None]:
    original = ContextBag.__init__

    def init(self: Any) -> None:
        # The generated mutants context/bag.py:53:NumberReplacer:0 and :1: the deprecation
        # warning raised with stacklevel 3 or 1 instead of 2 (the original's own is silenced).
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            original(self)
        warnings.warn("ContextBag is deprecated", DeprecationWarning, stacklevel=stacklevel)

    return init


@pytest.mark.parametrize("stacklevel", [1, 3])
def test_a_deprecation_warning_not_pointing_at_the_caller_is_found(
    monkeypatch: pytest.MonkeyPatch, stacklevel: int
) -> None:
    # init() is one frame above ContextBag.__init__, so its stacklevel 2 is pristine's 2.
    monkeypatch.setattr(ContextBag, "__init__", _context_bag_init_warning_at(stacklevel))
    with pytest.raises(AssertionError, match="a user's script would not be shown the warning"):
        run_context_bag()


def test_a_deprecation_warning_pointing_at_the_caller_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ContextBag, "__init__", _context_bag_init_warning_at(2))
    run_context_bag()
