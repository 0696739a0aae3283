"""The thread findings' interleavings, drawn: a controlled schedule of real threads that shows each.

A thread finding's reproducer forces its interleaving with real threads and a hook (a pausing
``__hash__`` or ``__len__``, an event), which proves the bug but draws nothing: the OS decides
every other switch. Its bug report and the HTML report need the picture an asyncio finding gets
from its reproducer's own schedule, so each function here plays the reproducer's scenario, with
no hook, on the controlled thread scheduler (:mod:`core.sched.threads`: OS threads one at a
time, a switch point at every line of Stageflow's code) and tries every schedule with at most
:data:`PREEMPTIONS` preemptions, depth first, until one shows the violation. It returns that
schedule's trace: one lane per thread, one row per switch point. A Stageflow without the bug
has no such schedule, and the function raises :class:`NoViolatingSchedule` (the report then
says why the picture is missing, and ``tests/quality/test_planted_thread_schedules.py`` plants
each fix to hold them to that).

Two limits, said where they show. Each thread with an event loop runs the suite's
deterministic loop, which stops with ``DeadlockError`` the moment it has nothing to run; a real
loop would sleep in ``select()``. So the lost wakeups (SF-THR-02, 03, 06) are drawn up to the
wait that the other thread's release never ends: the picture shows where B waits while A holds
the lock, the reproducer shows that the wakeup never comes. And the standard library runs
between switch points (``asyncio.Lock`` included), as everywhere in the thread machines.

For example::

    [trace] = iteration_race_schedule(stageflow)
    print(render_swimlane(trace))   # T0 reader raised RuntimeError('dictionary changed size ...')
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from stageflow_verify.core.sched.choosers import ReplayChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sched.thread_explore import explore_threads
from stageflow_verify.core.sched.thread_reports import ThreadRunResult
from stageflow_verify.core.sched.threads import run_threads
from stageflow_verify.core.sched.trace import Trace
from stageflow_verify.core.sut.thread_bags import stageflow_focus, waits_for_a_lock_forever

Bodies = Sequence[tuple[str, Callable[[], object]]]
PREEMPTIONS = 2  # every violation below needs one; two leave room for a longer setup
MAX_SCHEDULES = 2_000  # measured: each is found within 50 schedules (0.2 s) on 1.2.0


class NoViolatingSchedule(Exception):
    """No schedule within the bound shows the violation: this Stageflow may not have it."""


def violating_schedule(
    make_bodies: Callable[[], Bodies], violated: Callable[[ThreadRunResult], bool]
) -> Trace:
    """The trace of the first schedule (depth first, fewest preemptions first in each branch)
    under which ``violated(result)`` holds, replayed once more to draw it."""
    focus = stageflow_focus()

    def check(result: ThreadRunResult) -> None:
        if violated(result):
            raise AssertionError("the finding's violation")

    report = explore_threads(
        make_bodies, check, focus=focus, preemption_bound=PREEMPTIONS,
        max_schedules=MAX_SCHEDULES, stop_on_violation=True,
    )  # fmt: skip
    if not report.violations:
        raise NoViolatingSchedule(f"no schedule shows it ({report.summary()})")
    chooser = ReplayChooser(list(report.violations[0].choices))
    replayed = run_threads(make_bodies(), chooser, focus=focus)
    if not violated(replayed):  # a scenario that is not a function of its choices
        raise NoViolatingSchedule(f"the violating schedule did not replay: {chooser.replay_hint()}")
    return replayed.trace


def _own_loop(script: Callable[[], Coroutine[Any, Any, object]]) -> Callable[[], object]:
    # A thread that calls asyncio.run: here on the suite's loop, whose steps run atomically.
    return lambda: run(script, detail=False, max_steps=1_000).value


def _lost_wakeup(result: ThreadRunResult) -> bool:
    # A finished and released the lock; B's loop was left waiting to acquire it.
    return "A" in result.values and waits_for_a_lock_forever(result.errors.get("B"))


def iteration_race_schedule(sf: ModuleType) -> list[Trace]:
    """SF-THR-01: to_dict() in one thread, a new stage written in another."""

    def make() -> Bodies:
        bag = sf.context.OutputBag()
        run(bag.write("stt", sf.StageOutput.ok({"text": "a"})), detail=False)
        output = sf.StageOutput.ok({"text": "hi"})
        return [("reader", bag.to_dict), ("writer", _own_loop(lambda: bag.write("llm", output)))]

    def raised(result: ThreadRunResult) -> bool:
        return "changed size during iteration" in str(result.errors.get("reader", ""))

    return [violating_schedule(make, raised)]


def output_lock_schedule(sf: ModuleType) -> list[Trace]:
    """SF-THR-02: two threads, each on its own loop, write one OutputBag."""

    def make() -> Bodies:
        bag = sf.context.OutputBag()
        output = sf.StageOutput.ok({"text": "hi"})

        def writes(key: str) -> Callable[[], object]:
            return _own_loop(lambda: bag.write(key, output))

        return [("A", writes("A")), ("B", writes("B"))]

    return [violating_schedule(make, _lost_wakeup)]


def _context_bag(sf: ModuleType) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ContextBag is deprecated in 1.x
        return sf.context.ContextBag()


def context_lock_schedule(sf: ModuleType) -> list[Trace]:
    """SF-THR-03: two threads, each on its own loop, write one ContextBag."""

    def make() -> Bodies:
        bag = _context_bag(sf)

        def writes(key: str) -> Callable[[], object]:
            return _own_loop(lambda: bag.write(key, "hi", f"stage_{key}"))

        return [("A", writes("A")), ("B", writes("B"))]

    return [violating_schedule(make, _lost_wakeup)]


def writer_lags_schedule(sf: ModuleType) -> list[Trace]:
    """SF-THR-04: a reader sees a ContextBag key's value while its writer is still None."""

    def make() -> Bodies:
        bag = _context_bag(sf)

        def read() -> object:
            return bag.read("route"), bag.get_writer("route")

        return [
            ("writer", _own_loop(lambda: bag.write("route", "fast", "router"))),
            ("reader", read),
        ]

    return [violating_schedule(make, lambda r: r.values.get("reader") == ("fast", None))]


@contextmanager
def _fresh_global_spawner(sf: ModuleType) -> Iterator[Any]:
    # As the reproducers do: start from no global spawner, put the process's own back after.
    # Each schedule starts from none (in each ``make``): clear_subpipeline_spawner() keeps the
    # global tracker, whose locks a loop of an earlier schedule may have bound, so a schedule
    # would depend on the ones before it and not replay.
    sub = sf.pipeline.subpipeline
    saved = vars(sub)["_spawner"], vars(sub)["_child_tracker"]
    try:
        yield sub
    finally:
        sub._spawner, sub._child_tracker = saved


def spawner_lock_schedule(sf: ModuleType) -> list[Trace]:
    """SF-THR-06: two threads, each on its own loop, cancel runs through the global spawner."""
    with _fresh_global_spawner(sf) as sub:

        def make() -> Bodies:
            sub._spawner, sub._child_tracker = None, None
            spawner = sub.get_subpipeline_spawner()

            def cancel(run_id: int) -> Callable[[], object]:
                return _own_loop(lambda: spawner.cancel_with_children(uuid.UUID(int=run_id)))

            return [("A", cancel(2)), ("B", cancel(3))]

        return [violating_schedule(make, _lost_wakeup)]


def global_spawner_schedule(sf: ModuleType) -> list[Trace]:
    """SF-THR-07: two threads' first get_subpipeline_spawner() calls."""
    with _fresh_global_spawner(sf) as sub:

        def make() -> Bodies:
            sub._spawner, sub._child_tracker = None, None

            def first() -> object:
                return sub.get_subpipeline_spawner()  # looked up at call time: a planted fix

            return [("A", first), ("B", first)]

        def two(result: ThreadRunResult) -> bool:
            return len(result.values) == 2 and result.values["A"] is not result.values["B"]

        return [violating_schedule(make, two)]
