"""Lost-update hunting: concurrent OutputBag and ContextBag tasks, checked for linearizability.

Each step of a machine runs one *batch*: up to three tasks, each a short script of bag
operations (writes, overwriting retries, ``write_sync``, every read path, and the aliasing moves
of ``models/bags.py``), with suspension points between operations. A task may fail part-way
(raise after some operations) and the scheduler may cancel one task at a suspension point. The
batch runs on the deterministic loop under :class:`~core.sched.choosers.HypothesisChooser`, so the
interleaving is part of the example and shrinks with it; every operation's call and return is
recorded, then a final ``to_dict()`` pins the state the batch left.

After each batch the invariants claim: the history is linearizable against the model, starting
from the state the previous batch left (and the model moves to the witness's final state); every
read path of the real bag equals the model's; no acknowledged write is lost (acknowledged
attempts of a stage are distinct, and, when no write was cancelled, are exactly 1..n with the
bag's attempt counter at n). A failing batch shows its history report (swimlane and
explanation) and the scheduler's swimlane with the ``ReplayChooser`` expression.

The models adopt the aliasing findings that still reproduce (``stateful/bag_findings.py``).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from stageflow_verify.core.check.history import HistoryRecorder, Model
from stageflow_verify.core.check.linearizability import Verdict, check_history_verbose
from stageflow_verify.core.run.checks import Check, count_example, reproducing_ids
from stageflow_verify.core.sched import timeline
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.faults import FaultPlan
from stageflow_verify.core.sched.scheduler import NOTE_HEADER, RunResult, run
from stageflow_verify.core.sched.trace import render_swimlane
from stageflow_verify.core.sut import bags as sut_bags
from stageflow_verify.core.sut.bags import ContextBagSut, OutputBagSut, pause
from stageflow_verify.models.bags import (
    BagInput,
    ContextBagModel,
    ContextInput,
    CRead,
    CView,
    CWrite,
    EntryView,
    Get,
    GetValue,
    MutateCopy,
    MutateRead,
    MutateWritten,
    Outcome,
    OutputBagModel,
    OutputView,
    Returned,
    View,
    Write,
)
from stageflow_verify.stateful.bag_findings import (
    CONTEXT_CHECK,
    FINDINGS,
    OUTPUT_CHECK,
    READ_DATA_WRITES_BAG,
    WRITTEN_DICT_SHOWS,
)

I = TypeVar("I")  # noqa: E741
STAGES = ("stt", "llm")
KEYS = ("profile", "route")
READS: tuple[BagInput, ...] = (
    *(Get(s, w) for s in STAGES for w in ("get", "get_output", "has", "get_attempt_count")),
    *(Get(s, "in") for s in STAGES),
    *(GetValue(s, k) for s in STAGES for k in ("w", "note")),
    *(View(w) for w in ("keys", "entries", "outputs", "to_dict", "get_retry_stages", "len")),
    View("repr"),
)
CONTEXT_READS: tuple[ContextInput, ...] = (
    *(CRead(k, w) for k in KEYS for w in ("read", "has", "get_writer")),
    CView("keys"),
    CView("to_dict"),
    CView("repr"),
)
FAULTS = FaultPlan(cancel=True, max_faults=1)


@dataclass(frozen=True)
class Move:
    """One drawn operation of a task script, made concrete when the batch runs."""

    kind: str
    target: int
    pick: int
    pause: bool


MOVES = st.builds(
    Move,
    st.sampled_from(["write", "retry", "read", "write_sync", "mutate_written", "mutate_read"]),
    st.integers(0, 1),
    st.integers(0, 15),
    st.booleans(),
)
SCRIPT = st.tuples(st.lists(MOVES, min_size=1, max_size=3), st.none() | st.integers(0, 2))
BATCH = st.lists(SCRIPT, min_size=1, max_size=3)


class BatchFailure(AssertionError):
    pass


class _Batches(Generic[I]):
    """What both machines share: the batch rule, its history check, the read-path comparison.

    A machine supplies ``script`` (a task's coroutine), ``reads`` (the read paths compared with
    the model after each batch) and ``final_view`` (the read recorded after every batch).
    """

    model: Model[Any, I, Outcome]
    state: Any
    recorder: HistoryRecorder[I, Outcome]
    sut: Any  # OutputBagSut or ContextBagSut: perform_sync, _sync, bag
    reads: tuple[I, ...]
    final_view: I
    last_run: RunResult[None] | None = None
    chooser: HypothesisChooser
    unchecked = False

    def script(
        self, name: str, moves: list[Move], fail_after: int | None
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        raise NotImplementedError

    @rule(batch=BATCH, data=st.data())
    def run_tasks(self, batch: list[tuple[list[Move], int | None]], data: st.DataObject) -> None:
        scripts = [self.script(f"task{i}", m, f) for i, (m, f) in enumerate(batch)]
        self.run_batch(scripts, data)
        self.sut.perform_sync("check", self.final_view)

    @invariant()
    def history_is_linearizable(self) -> None:
        self.check_batch()

    @invariant()
    def every_read_path_equals_the_model(self) -> None:
        self.check_batch()
        self.compare(self.reads, self.sut._sync)

    def run_batch(
        self, scripts: list[Callable[[], Coroutine[Any, Any, None]]], data: st.DataObject
    ) -> None:
        self.recorder.clear()

        async def main() -> None:
            loop: Any = asyncio.get_running_loop()
            self.recorder.clock = lambda: len(loop.trace.steps)
            tasks = [asyncio.create_task(s(), name=f"task{i}") for i, s in enumerate(scripts)]
            await asyncio.gather(*tasks, return_exceptions=True)

        self.chooser = HypothesisChooser(data)
        self.last_run = run(main, self.chooser, faults=FAULTS, max_steps=2_000)
        self.unchecked = True

    def check_batch(self) -> None:
        if not self.unchecked:
            return
        self.unchecked = False
        result = check_history_verbose(
            self.model, self.recorder.history(), initial=self.state, timeout=5.0
        )
        if result.verdict is not Verdict.OK:
            self.fail(result.report)
        self.state = result.final

    def fail(self, message: str) -> None:
        exc = BatchFailure(message)
        if self.last_run is not None:
            replay = f"Replay: run(main, {self.chooser.replay_hint()})"
            exc.add_note(f"{NOTE_HEADER}\n{render_swimlane(self.last_run.trace)}\n{replay}")
            timeline.attach(exc, self.last_run.trace)
        raise exc

    def compare(self, probes: tuple[I, ...], observe: Callable[[I], Outcome]) -> None:
        for probe in probes:
            _, expected = self.model.step(self.state, probe)
            actual = observe(probe)
            if expected != actual:
                self.fail(
                    f"after the batch, {self.model.describe_op(probe, None)} gives "
                    f"{self.model.describe_output(actual)}, the model "
                    f"{self.model.describe_output(expected)} (model state: "
                    f"{self.model.describe_state(self.state)})"
                )


async def _fail_part_way() -> None:
    raise RuntimeError("stage failed part-way")


class OutputBagComparison(_Batches[BagInput], RuleBasedStateMachine):
    reads = READS
    final_view = View("to_dict")

    def __init__(self) -> None:
        super().__init__()
        count_example()
        adopted = self.adopted_deviations()
        self.model = OutputBagModel(
            aliases_written=WRITTEN_DICT_SHOWS in adopted,
            aliases_reads=READ_DATA_WRITES_BAG in adopted,
        )
        self.state = self.model.init()
        self.recorder = HistoryRecorder()
        self.sut = OutputBagSut(self.recorder)
        self.next_id = 0
        self.acked: dict[str, list[int]] = defaultdict(list)
        self.cancelled: set[str] = set()

    def adopted_deviations(self) -> frozenset[str]:
        return reproducing_ids(FINDINGS)

    def concrete(self, move: Move) -> BagInput:
        stage = STAGES[move.target]
        if move.kind in ("write", "retry", "write_sync"):
            self.next_id += 1
            output = OutputView("ok", (("w", self.next_id),))
            overwrite = move.kind == "retry" or (move.kind == "write_sync" and move.pick % 2 == 1)
            return Write(stage, output, overwrite, move.kind == "write_sync", self.next_id)
        if move.kind == "mutate_written":
            return MutateWritten(1 + move.pick % max(1, self.next_id), "note", move.pick)
        if move.kind == "mutate_read":
            return MutateRead(stage, "note", move.pick)
        return READS[move.pick % len(READS)]

    def script(self, name: str, moves: list[Move], fail_after: int | None) -> Any:
        inputs = [self.concrete(m) for m in moves]

        async def body() -> None:
            for k, (move, inp) in enumerate(zip(moves, inputs, strict=True)):
                if fail_after == k:
                    await _fail_part_way()
                if move.pause:
                    await pause()
                try:
                    outcome = await self.sut.perform(name, inp)
                except asyncio.CancelledError:
                    if isinstance(inp, Write):
                        self.cancelled.add(inp.stage)
                    raise
                if isinstance(inp, Write) and isinstance(outcome, Returned):
                    assert isinstance(outcome.value, EntryView)
                    self.acked[inp.stage].append(outcome.value.attempt)

        body.__qualname__ = name  # the scheduler names lanes after the coroutine
        return body

    @invariant()
    def no_acknowledged_write_is_lost(self) -> None:
        self.check_batch()
        for stage, attempts in self.acked.items():
            counter = self.sut.bag.get_attempt_count(stage)
            if len(set(attempts)) != len(attempts) or (
                stage not in self.cancelled and sorted(attempts) != list(range(1, counter + 1))
            ):
                self.fail(
                    f"stage {stage!r}: writes were acknowledged with attempts {attempts}, and "
                    f"the bag's attempt counter is {counter}: an acknowledged write was lost "
                    "or counted twice"
                )


class ContextBagComparison(_Batches[ContextInput], RuleBasedStateMachine):
    reads = CONTEXT_READS
    final_view = CView("to_dict")

    def __init__(self) -> None:
        super().__init__()
        count_example()
        # No deviation to adopt: to_dict() is documented as a copy of the internal dictionary,
        # whose values are the bag's, and the model states that as its rule (SF-BAG-03 was
        # withdrawn). A to_dict that leaked the dict itself would still fail here.
        self.model = ContextBagModel()
        self.state = self.model.init()
        self.recorder = HistoryRecorder()
        self.sut = ContextBagSut(self.recorder)
        self.acked: dict[str, list[str]] = defaultdict(list)
        self._deprecation_points_at_caller()

    def _deprecation_points_at_caller(self) -> None:
        # ContextBag() warns "ContextBag is deprecated; use OutputBag ..." with stacklevel=2
        # (stageflow/context/bag.py:50-54): the warning names the code that built the bag.
        # Python shows a DeprecationWarning by default only when it is attributed to __main__,
        # so a warning that points inside stageflow (or past the caller) is one a user's script
        # never shows: it must point at the caller, here core/sut/bags.py. (Releases from
        # before the deprecation do not warn at all; nothing to check there.)
        where = self.sut.deprecations
        if any(filename != sut_bags.__file__ for filename in where):
            self.fail(
                f"ContextBag() warned of its deprecation from {where}, not from its caller "
                f"{sut_bags.__file__}: a user's script would not be shown the warning"
            )

    def concrete(self, move: Move, task: str) -> ContextInput:
        key = KEYS[move.target]
        if move.kind in ("write", "retry", "write_sync"):
            return CWrite(key, (("v", move.pick),), task)
        if move.kind in ("mutate_written", "mutate_read"):
            return MutateCopy(key, "v", move.pick)
        return CONTEXT_READS[move.pick % len(CONTEXT_READS)]

    def script(self, name: str, moves: list[Move], fail_after: int | None) -> Any:
        inputs = [self.concrete(m, name) for m in moves]

        async def body() -> None:
            for k, (move, inp) in enumerate(zip(moves, inputs, strict=True)):
                if fail_after == k:
                    await _fail_part_way()
                if move.pause:
                    await pause()
                outcome = await self.sut.perform(name, inp)
                if isinstance(inp, CWrite) and isinstance(outcome, Returned):
                    self.acked[inp.key].append(inp.stage)

        body.__qualname__ = name  # the scheduler names lanes after the coroutine
        return body

    @invariant()
    def no_acknowledged_write_is_lost(self) -> None:
        self.check_batch()
        for key, writers in self.acked.items():
            writer: Hashable = self.sut.bag.get_writer(key)
            if len(writers) != 1 or writer != writers[0]:
                self.fail(
                    f"key {key!r}: writes by {writers} were acknowledged and get_writer says "
                    f"{writer!r}: exactly one write per key may succeed, and it names its writer"
                )


def bounded_settings() -> settings:
    # A step is a whole batch of concurrent tasks: 25 of them per example mostly re-check what
    # 12 already did. 60 x 12 keeps each machine at a few seconds under ci and still finds
    # every planted bug (tests/quality/test_planted_bags.py).
    # The explain phase re-runs a failing example ~1000 times to list "lines only failing runs
    # ran"; with a scheduler under every step that costs minutes and says less than the report.
    default = settings()  # the loaded profile's values
    return settings(
        parent=default,
        max_examples=min(default.max_examples, 60),
        stateful_step_count=min(default.stateful_step_count, 12),
        phases=[p for p in default.phases if p is not Phase.explain],
    )


def run_output_bag() -> None:
    run_state_machine_as_test(OutputBagComparison, settings=bounded_settings())


def run_context_bag() -> None:
    run_state_machine_as_test(ContextBagComparison, settings=bounded_settings())


CHECKS = [
    Check(
        OUTPUT_CHECK,
        run_output_bag,
        "concurrent OutputBag writes/retries/reads/cancels: linearizable, attempts count "
        "acknowledged writes, every read path equals the model",
    ),
    Check(
        CONTEXT_CHECK,
        run_context_bag,
        "concurrent ContextBag writes/reads: linearizable, one write per key wins and names "
        "its writer, every read path equals the model",
    ),
]
