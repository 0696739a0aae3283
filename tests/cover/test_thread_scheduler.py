"""The controlled thread scheduler: deterministic, finds and shrinks a planted race, never hangs.

The planted races live in :class:`LockedBag`, a small bag guarded by a
:class:`~core.sched.thread_locks.ControlledLock` (the way a thread-safe OutputBag would be):
``write`` increments an attempt counter under the lock, ``snapshot`` iterates under it. Each
planted bug removes the lock from one of them, by monkeypatch, and the same property that passes
on the pristine bag must fail, shrink, and print the schedule that replays it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stageflow_verify.core.sched.choosers import (
    HypothesisChooser,
    PCTChooser,
    ReplayChooser,
    SeededChooser,
)
from stageflow_verify.core.sched.loop_reports import NOTE_HEADER, DeadlockError, LivelockError
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sched.thread_explore import explore_threads
from stageflow_verify.core.sched.thread_locks import ControlledLock, focus_on
from stageflow_verify.core.sched.thread_reports import ThreadRunResult, UncontrolledBlockError
from stageflow_verify.core.sched.threads import run_threads

FOCUS = focus_on(__file__)


class LockedBag:
    def __init__(self) -> None:
        self._lock = ControlledLock(name="bag")
        self._attempts: dict[str, int] = {}

    def write(self, stage: str) -> int:
        with self._lock:
            attempt = self._attempts.get(stage, 0) + 1
            self._attempts[stage] = attempt
            return attempt

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {stage: attempt for stage, attempt in self._attempts.items()}


def write_without_lock(self: LockedBag, stage: str) -> int:
    attempt = self._attempts.get(stage, 0) + 1  # the planted bug: check and act unguarded
    self._attempts[stage] = attempt
    return attempt


def snapshot_without_lock(self: LockedBag) -> dict[str, int]:
    return {stage: attempt for stage, attempt in self._attempts.items()}  # planted: unguarded


def bag_scenario(chooser: object, *, reader: bool = True) -> tuple[LockedBag, ThreadRunResult]:
    bag = LockedBag()

    def retrying_writer() -> list[int]:
        return [bag.write("stt"), bag.write("llm")]

    def read_twice() -> list[dict[str, int]]:
        return [bag.snapshot(), bag.snapshot()]

    bodies: list[tuple[str, Callable[[], object]]] = [
        ("w0", retrying_writer),
        ("w1", retrying_writer),
    ]
    bodies += [("reader", read_twice)] if reader else []
    return bag, run_threads(bodies, chooser, focus=FOCUS)  # type: ignore[arg-type]


def check_bag(data: st.DataObject, *, reader: bool = True) -> None:
    bag, result = bag_scenario(HypothesisChooser(data), reader=reader)
    try:
        attempts = sorted(result.values["w0"] + result.values["w1"])  # type: ignore[operator]
        assert attempts == [1, 1, 2, 2], f"acknowledged attempts {attempts}: a write was lost"
        assert not result.errors, f"a thread raised: {result.errors}"
        assert bag.snapshot() == {"stt": 2, "llm": 2}
    except AssertionError as exc:
        exc.add_note(result.note())
        raise


SETTINGS = settings(max_examples=200, deadline=None, database=None, report_multiple_bugs=False)


@SETTINGS
@given(st.data())
def bag_property(data: st.DataObject) -> None:
    check_bag(data)


@SETTINGS
@given(st.data())
def writers_property(data: st.DataObject) -> None:
    check_bag(data, reader=False)  # no reader: a lost write can only show as a lost write


def test_the_same_choices_give_the_same_trace_100_times() -> None:
    _, first = bag_scenario(SeededChooser(seed=11))
    assert len(first.trace.steps) > 10 and any(first.choices)
    for _ in range(100):
        _, again = bag_scenario(ReplayChooser(first.choices))
        assert again.trace == first.trace and again.values == first.values


def test_a_seed_replays_and_pct_runs_with_thread_keys() -> None:
    assert (
        bag_scenario(SeededChooser(seed=5))[1].trace == bag_scenario(SeededChooser(seed=5))[1].trace
    )
    _, result = bag_scenario(PCTChooser(seed=2, depth=2, steps=40))
    assert not result.errors


def test_the_pristine_bag_passes() -> None:
    bag_property()
    writers_property()


@pytest.mark.parametrize(
    ("name", "bug", "prop", "symptom"),
    [
        ("write", write_without_lock, writers_property, "a write was lost"),
        ("snapshot", snapshot_without_lock, bag_property, "dictionary changed size"),
    ],
    ids=["check_then_act_unlocked", "iteration_unlocked"],
)
def test_a_planted_race_is_found_and_shrunk_quickly(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    bug: Callable[..., object],
    prop: Callable[[], None],
    symptom: str,
) -> None:
    monkeypatch.setattr(LockedBag, name, bug)
    started = time.process_time()  # CPU of every thread: wall time would measure the neighbours
    with pytest.raises(AssertionError) as info:
        prop()
    elapsed = time.process_time() - started
    assert symptom in str(info.value)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert NOTE_HEADER in notes and "Replay: run_threads(bodies, ReplayChooser([" in notes
    # Timings are printed, never asserted (tests assert no times; the bench measures speed).
    print(f"{name}: {elapsed:.2f} s", info.value, notes, sep="\n")


def test_a_lock_order_deadlock_is_reported_not_hung() -> None:
    first, second = ControlledLock(name="first"), ControlledLock(name="second")

    def one() -> None:
        with first, second:
            pass

    def two() -> None:
        with second, first:
            pass

    with pytest.raises(DeadlockError) as info:
        run_threads([("one", one), ("two", two)], ReplayChooser([0, 0, 0, 1]), focus=FOCUS)
    assert "one at waits for second" in str(info.value) and "two at waits for first" in str(
        info.value
    )
    assert not first.locked() or threading.active_count() >= 1  # threads were unwound


def test_a_lock_taken_twice_by_one_thread_deadlocks_unless_reentrant() -> None:
    def twice(lock: ControlledLock) -> Callable[[], None]:
        def body() -> None:
            with lock, lock:
                pass

        return body

    with pytest.raises(DeadlockError):
        run_threads([("twice", twice(ControlledLock()))], focus=FOCUS)
    run_threads([("twice", twice(ControlledLock(reentrant=True)))], focus=FOCUS)


def test_a_spin_loop_exhausts_the_step_budget() -> None:
    flag: list[bool] = []

    def spin() -> None:
        while not flag:
            pass

    with pytest.raises(LivelockError):
        run_threads([("spin", spin)], focus=FOCUS, max_steps=200)


def test_a_thread_blocked_outside_the_scheduler_is_named_not_waited_for() -> None:
    never = threading.Event()

    def blocked() -> None:
        never.wait()

    try:
        with pytest.raises(UncontrolledBlockError) as info:
            run_threads([("blocked", blocked)], focus=FOCUS, wait_seconds=0.2)
        assert "in wait" in str(info.value)
    finally:
        never.set()  # lets the daemon thread end


def test_a_thread_may_run_its_own_event_loop() -> None:
    order: list[str] = []
    shared = [asyncio.Lock()]

    def with_loop(name: str) -> Callable[[], object]:
        async def body() -> None:
            async with shared[0]:  # asyncio.Lock across loops: the loser's loop waits forever
                order.append(name)
                order.append(name)

        return lambda: run(body, detail=False).value

    result = run_threads([("a", with_loop("a")), ("b", with_loop("b"))], focus=FOCUS)
    assert order == ["a", "a", "b", "b"] and not result.errors  # choice 0: no preemption
    stuck: list[BaseException] = []
    for seed in range(20):
        shared[0] = asyncio.Lock()  # a lock is bound to the first loop that waits on it
        bodies = [("a", with_loop("a")), ("b", with_loop("b"))]
        stuck += run_threads(bodies, SeededChooser(seed), focus=FOCUS).errors.values()
    # Whenever one thread's loop found the lock held by the other, it could only wait forever.
    assert stuck and all("deadlock" in str(e) for e in stuck)


def test_a_failing_chooser_unwinds_every_thread() -> None:
    class Exploding(ReplayChooser):
        def choose(self, n: int, kind: str = "schedule", keys: object = ()) -> int:
            if len(self.choices) == 3:
                raise KeyboardInterrupt("chooser gave up")
            return super().choose(n, kind)

    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        bag_scenario(Exploding())
    assert threading.active_count() == before


def test_opcode_switch_points_split_a_line_that_line_switch_points_keep_whole() -> None:
    class Counter:
        def __init__(self) -> None:
            self.value = 0

        def increment(self) -> None:
            self.value += 1  # one line, four bytecodes: load, add, store

    def lost(opcodes: bool) -> int:
        count = 0
        for seed in range(60):
            counter = Counter()
            bodies = [("a", counter.increment), ("b", counter.increment)]
            run_threads(bodies, SeededChooser(seed, fault_rate=0.3), focus=FOCUS, opcodes=opcodes)
            count += counter.value != 2
        return count

    assert lost(opcodes=False) == 0
    assert lost(opcodes=True) > 0


def bag_bodies() -> list[tuple[str, Callable[[], object]]]:
    bag = LockedBag()
    return [("w0", lambda: bag.write("stt")), ("w1", lambda: bag.write("stt"))]


def both_attempts_acknowledged(result: ThreadRunResult) -> None:
    assert sorted(result.values.values()) == [1, 2], f"acknowledged {result.values}"  # type: ignore[type-var]


def test_exhaustive_exploration_proves_the_locked_bag_and_finds_the_planted_race(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = explore_threads(
        bag_bodies, both_attempts_acknowledged, focus=FOCUS, preemption_bound=2
    )
    assert report.complete and not report.violations, report.summary()
    assert report.schedules_explored > 10
    monkeypatch.setattr(LockedBag, "write", write_without_lock)
    report = explore_threads(
        bag_bodies, both_attempts_acknowledged, focus=FOCUS, preemption_bound=1
    )
    assert report.complete and report.violations, report.summary()
    replayed = run_threads(bag_bodies(), ReplayChooser(report.violations[0].choices), focus=FOCUS)
    with pytest.raises(AssertionError):
        both_attempts_acknowledged(replayed)
    print(report.summary())
