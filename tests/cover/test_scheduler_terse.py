"""The cheap paths of the loop: terse exploration, the step log, the ready queue.

These exist for speed (`make bench`), so each is held to the behaviour of the slow path it
replaces: a terse run makes the same decisions as a described one, the step log reads back as
the steps it was given, the two-list ready queue pops what an age-sorted list would, and a
failure reported by Hypothesis is still drawn in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import dis
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from stageflow_verify.core.sched._ready import LaneHandle, ReadyQueue
from stageflow_verify.core.sched.choosers import HypothesisChooser, SeededChooser
from stageflow_verify.core.sched.exhaustive import explore
from stageflow_verify.core.sched.scheduler import NOTE_HEADER, DeterministicLoop, run
from stageflow_verify.core.sched.trace import Step, StepLog, Trace, render_swimlane
from tests.cover.test_scheduler_counter import two_increments_must_both_count
from tests.cover.test_scheduler_loop import primitives_workout

QUIET = settings(
    database=None,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


def test_a_terse_run_makes_the_same_decisions_as_a_described_one() -> None:
    terse = run(primitives_workout, SeededChooser(5), detail=False)
    described = run(primitives_workout, SeededChooser(5), detail=True)
    assert terse.choices == described.choices
    assert terse.trace.lanes == described.trace.lanes
    strip = [s._replace(resumed="", outcome="") for s in described.trace.steps]
    assert list(terse.trace.steps) == strip
    assert any(s.outcome for s in described.trace.steps)


def test_outside_hypothesis_every_step_is_described() -> None:
    assert DeterministicLoop().detail is True


def test_inside_hypothesis_only_the_reported_replay_is_described() -> None:
    seen: list[bool] = []

    @settings(QUIET, max_examples=5)
    @given(st.data())
    def explores(data: st.DataObject) -> None:
        data.draw(st.integers(0, 100))  # a space of examples, so five of them run
        loop = DeterministicLoop(HypothesisChooser(data))
        seen.append(loop.detail)
        loop.close()

    explores()
    assert seen == [False] * 5


def test_a_failure_found_by_hypothesis_is_drawn_in_full() -> None:
    @settings(QUIET, max_examples=50)
    @given(st.data())
    def counts_both(data: st.DataObject) -> None:
        run(two_increments_must_both_count, HypothesisChooser(data))

    with pytest.raises(AssertionError, match="lost update") as caught:
        counts_both()
    swimlane = next(n for n in caught.value.__notes__ if n.startswith(NOTE_HEADER))
    assert "await sleep" in swimlane  # where the task suspended: only a described run says so


def test_an_exhaustive_violation_is_replayed_with_its_steps_described() -> None:
    report = explore(two_increments_must_both_count, delay_bound=1, stop_on_violation=True)
    notes = report.violations[0].error.__notes__
    assert any(n.startswith(NOTE_HEADER) and "await sleep" in n for n in notes)


def test_a_deadlock_in_a_terse_run_still_says_where_each_task_waits() -> None:
    async def waits_forever() -> None:
        await asyncio.Event().wait()

    with pytest.raises(Exception, match=r"T0 waits_forever at waits_forever:\d+ await wait"):
        run(waits_forever, detail=False)


STEPS = [
    Step(0, 0, 0.0, None, 1, "task", "start", "main:3 await sleep"),
    Step(1, -1, 0.5, 1, 2, "callback", "Future.set_result", ""),
    Step(2, 1, 0.5, None, 3, "fault", "", "cancel T1"),
]


def test_the_step_log_reads_back_the_steps_it_was_given() -> None:
    log = StepLog(STEPS)
    assert (len(log), list(log), log[-1], log[1:]) == (3, STEPS, STEPS[2], STEPS[1:])
    assert log == StepLog(STEPS) and log == STEPS and log != STEPS[:2]
    with pytest.raises(IndexError):
        log[3]
    assert Trace({0: "T0 main"}, log) == Trace({0: "T0 main"}, list(STEPS))
    assert render_swimlane(Trace({}, log)) == render_swimlane(Trace({}, STEPS))


@dataclass
class _Push:
    lane: int


@given(st.lists(st.one_of(st.builds(_Push, st.integers(0, 4)), st.integers(0, 9)), max_size=60))
def test_the_ready_queue_pops_what_an_age_sorted_list_would(ops: list[_Push | int]) -> None:
    """Reference: every handle in one list by age; the options are the lanes' oldest handles."""
    queue, reference = ReadyQueue(), list[LaneHandle]()
    loop = asyncio.new_event_loop()
    try:
        for op in ops:
            if isinstance(op, _Push):
                handle = LaneHandle(print, (), loop, None, op.lane, False)
                queue.push(handle)
                reference.append(handle)
                continue
            heads = [
                h
                for i, h in enumerate(reference)
                if h._lane not in {g._lane for g in reference[:i]}
            ]
            assert list(queue) == [h._lane for h in heads]
            if heads:
                picked = heads[op % len(heads)]
                assert queue.pop(op % len(heads)) is picked
                reference.remove(picked)
    finally:
        loop.close()


def test_a_callback_added_behind_call_soon_still_runs() -> None:
    ran: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop._add_callback(asyncio.Handle(ran.append, ("added",), loop))  # type: ignore[attr-defined]
        await asyncio.sleep(0)

    run(main)
    assert ran == ["added"]


def test_the_step_loop_jumps_back_unconditionally_so_cpython_specializes_it() -> None:
    # CPython 3.11 specializes bytecode after 8 calls or 8 plain backward jumps; a loop that
    # only jumps back conditionally (`while not self._stopping`) stays generic for its whole
    # single call, about 1.5x slower per step.
    ops = {i.opname for i in dis.get_instructions(DeterministicLoop._run_once)}
    assert "JUMP_BACKWARD" in ops
    assert not {"POP_JUMP_BACKWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_TRUE"} & ops


OPS = st.sampled_from(["yield", "soon", "later", "locked", "set", "spawn", "cancel"])


def _program(plan: list[list[str]]) -> tuple[list[str], object]:
    """A workload that logs every step it takes, and the coroutine function that runs it."""
    log: list[str] = []

    async def main() -> None:
        lock, event = asyncio.Lock(), asyncio.Event()
        loop = asyncio.get_running_loop()

        async def worker(name: str, ops: list[str]) -> None:
            for i, op in enumerate(ops):
                log.append(f"{name}.{i} {op}")
                if op == "yield":
                    await asyncio.sleep(0)
                elif op == "soon":
                    loop.call_soon(log.append, f"{name}.{i} soon ran")
                elif op == "later":
                    loop.call_later(0, log.append, f"{name}.{i} later ran")
                elif op == "locked":
                    async with lock:
                        await asyncio.sleep(0)
                elif op == "set":
                    event.set()
                elif op == "spawn":
                    await asyncio.gather(worker(f"{name}.{i}", ["yield", "soon"]))
                else:
                    doomed = asyncio.ensure_future(worker(f"{name}.{i}", ["yield"] * 3))
                    await asyncio.sleep(0)
                    doomed.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await doomed

        await asyncio.gather(*(worker(f"w{n}", ops) for n, ops in enumerate(plan)))
        log.append(f"event {event.is_set()}")

    return log, main


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(OPS, max_size=6), min_size=1, max_size=4))
def test_choice_zero_runs_every_step_where_a_stock_loop_does(plan: list[list[str]]) -> None:
    stock_log, stock_main = _program(plan)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(stock_main())  # type: ignore[operator]
    finally:
        loop.close()
    our_log, our_main = _program(plan)
    run(our_main, detail=False)  # type: ignore[arg-type]
    assert our_log == stock_log
