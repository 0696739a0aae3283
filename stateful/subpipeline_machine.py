"""SubpipelineComparison: real spawners and trackers against the model, step by step and in races.

Each example builds a fresh harness (tracker, spawner, recording sinks, counted run ids) on its
own deterministic loop, and the model's initial state from the same
:class:`~models.subpipelines.Config` (roots, max_depth, a sink that fails on one event type or
is slow). Single rules run in stock asyncio order: spawn a chain of children from any live run
(up to and past max_depth), finish a child with an outcome, cancel a child's task mid-run,
``cancel_with_children``. ``race`` starts two or three such operations at once (spawns from one
or many parents, cancels racing spawns, finishes and task cancels) and hands every scheduling
choice to Hypothesis through :class:`~core.sched.choosers.HypothesisChooser`, so the interleaving
shrinks with the program; the batch passes when some order of it explains what Stageflow did
(:mod:`models.subpipeline_batches`). The invariants then compare the whole observation: the
tracker, the depths, the cancelled ids and contexts (and ``is_canceled`` of every run), every
context's data, every result and every event.

The findings that still reproduce become deviations of the model (see
:mod:`stateful.subpipeline_findings`); the invariants phrased as claims only skip what a
reproducing finding already explains.

On a Stageflow whose ``spawn`` takes no ``inherit_data`` (0.5.1) no spawn inherits parent data:
the drawn flag goes through :func:`~core.sut.subpipeline_roots.bridge_inherit`, so the model and the
harness see the same non-inheriting spawn, and a shrunk program prints ``inherit=False``.

For example::

    run_spawn_tree()  # raises with Hypothesis's shrunk program and the race's swimlane
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from stageflow_verify.core.run.checks import Check, count_example, reproducing_ids
from stageflow_verify.core.sched.choosers import Chooser, HypothesisChooser, ReplayChooser
from stageflow_verify.core.sched.scheduler import DeterministicLoop
from stageflow_verify.core.sut.subpipeline_driver import Driver
from stageflow_verify.core.sut.subpipeline_roots import bridge_inherit
from stageflow_verify.core.sut.subpipelines import SubpipelineHarness
from stageflow_verify.models.subpipeline_batches import linearize
from stageflow_verify.models.subpipeline_events import Outcome
from stageflow_verify.models.subpipelines import (
    RETAINS_CANCELED_IDS,
    SPAWN_IGNORES_CANCEL,
    Abort,
    Cancel,
    Config,
    Finish,
    IsCanceled,
    Op,
    Spawn,
    State,
    SubpipelineModel,
    ancestors,
    data_view,
    depths_view,
    events_view,
    results_view,
    subtree,
    tracker_view,
)
from stageflow_verify.stateful.subpipeline_findings import SUBPIPELINE_FINDINGS

FINDINGS = SUBPIPELINE_FINDINGS
T = TypeVar("T")
MAX_STEPS = 200_000  # the loop's whole life: every step of every rule of one example
PICK = st.integers(0, 7)  # an index into the runs a rule may act on; shrinks to the first
OUTCOME_KINDS = ("none", "dict", "value", "raise")
OUTCOMES = st.sampled_from(OUTCOME_KINDS)
# Mapped when drawn, so the version (and a planted spawn) is asked at run time: False where spawn
# cannot inherit parent data.
# None leaves inherit_data out of the call: spawn's default (False, "inherit_data: Whether to
# copy all parent data or selected keys", stageflow/pipeline/subpipeline.py:438) is part of the
# contract, and a changed default is seen only by a caller who omits it.
INHERIT = st.sampled_from([False, True, None]).map(lambda i: i if i is None else bridge_inherit(i))
# A move: what to do, which run (an index, as PICK) and an extra (outcome, inherit or contexts).
BATCH = st.lists(
    st.tuples(
        st.sampled_from(["spawn", "cancel", "finish", "abort", "is_canceled"]),
        PICK,
        st.sampled_from(["none", "inherit", "dict", "value", "raise"]),
    ),
    min_size=2,
    max_size=3,
)


class SubpipelineComparison(RuleBasedStateMachine):
    deviations: ClassVar[frozenset[str]] = frozenset()
    # How many roots (the first ones) have no pipeline_run_id, as PipelineContext.create()
    # makes them by default (stateful/subpipeline_parents_machine.py sets one).
    unidentified_roots: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        count_example()
        self.model = SubpipelineModel()
        self.state: State | None = None
        self.sut: Driver | None = None
        self.loop: DeterministicLoop | None = None
        self.spawned = 0
        self.observation: dict[str, Any] | None = None  # cached until the next rule runs

    @initialize(
        roots=st.integers(1, 3),
        max_depth=st.sampled_from([None, 1, 2, 3, 0]),
        failing_event=st.sampled_from([None, "spawned", "completed", "failed", "canceled"]),
        sink_delay=st.integers(0, 2),
    )
    def configure(
        self, roots: int, max_depth: int | None, failing_event: str | None, sink_delay: int
    ) -> None:
        labels = tuple(f"r{i}" for i in range(roots))
        unidentified = frozenset(labels[: self.unidentified_roots])
        config = Config(labels, max_depth, failing_event, self.deviations, unidentified)
        self.state = self.model.init(config)
        harness = SubpipelineHarness(labels, max_depth, failing_event, sink_delay, unidentified)
        # One deterministic loop per example: parked runs live across steps. Single-operation
        # rules run in stock asyncio order; `race` hands the loop a Hypothesis chooser.
        self.loop = DeterministicLoop(ReplayChooser(), max_steps=MAX_STEPS)
        self.sut = Driver(harness, self.loop)

    def teardown(self) -> None:
        if self.sut is not None:
            self.sut.close()

    # -- which runs a rule may act on, read from the model ---------------------------------
    def _runs(self, *, roots: bool, statuses: tuple[str, ...]) -> list[str]:
        s = self._s()
        return [
            r.label
            for r in s.runs
            if r.started
            and ((r.parent is None and roots) or (r.parent is not None and r.status in statuses))
        ]

    def _cancel_targets(self) -> list[str]:
        # cancel_with_children(run_id: UUID): a root without a run id cannot be named.
        unnamed = self._s().config.unidentified
        return [
            r for r in self._runs(roots=True, statuses=("live", "draining")) if r not in unnamed
        ]

    def _s(self) -> State:
        assert self.state is not None
        return self.state

    def _h(self) -> SubpipelineHarness:
        assert self.sut is not None
        return self.sut.harness

    def _stock(self, coro: Coroutine[Any, Any, T]) -> T:
        # A single operation runs in stock asyncio order: choice 0 at every step.
        assert self.sut is not None and self.loop is not None
        self.loop.chooser = ReplayChooser()
        return self.sut.run(coro)

    def _apply(self, op: Op, result: object) -> None:
        state = self._s()
        after = self.model.step(state, op, result)
        if after is None:
            expected = (
                ""
                if isinstance(op, Cancel)
                else f"\n  model allows: {self.model.expected(state, op)[1]!r}"
            )
            raise AssertionError(
                f"{self.model.describe_op(op)} returned {result!r}, which the model does not "
                f"allow{expected}\nmodel state before:\n{self.model.describe_state(state)}"
            )
        self.state = after
        self.observation = None

    # -- rules -----------------------------------------------------------------------------
    @precondition(lambda self: self.state is not None)
    @rule(parent=PICK, inherit=INHERIT, length=st.integers(1, 4))
    def spawn_child(self, parent: int, inherit: bool | None, length: int) -> None:
        """Spawn a chain: a child of ``parent``, its child, and so on, ``length`` levels deep
        (nesting up to and past max_depth in one rule); a refused spawn ends the chain."""
        parents = self._runs(roots=True, statuses=("live",))
        # Counted from the newest run: the index shrinks to 0, the deepest fresh chain.
        owner = parents[-1 - parent % len(parents)]
        for _ in range(length):
            self.spawned += 1
            op = Spawn(owner, f"c{self.spawned}", bool(inherit))
            result = self._stock(self._h().spawn(op.parent, op.child, inherit))
            self._apply(op, result)
            if result != ("spawned",):
                return
            owner = op.child

    @precondition(
        lambda self: self.state is not None and self._runs(roots=False, statuses=("live",))
    )
    @rule(run=PICK, outcome=OUTCOMES)
    def finish_child(self, run: int, outcome: str) -> None:
        live = self._runs(roots=False, statuses=("live",))
        op = Finish(live[run % len(live)], Outcome(outcome))  # type: ignore[arg-type]
        assert self.sut is not None
        self._apply(op, self._stock(self._h().finish(op.run, outcome)))

    @precondition(
        lambda self: (
            self.state is not None and self._runs(roots=False, statuses=("live", "draining"))
        )
    )
    @rule(run=PICK)
    def cancel_child_task(self, run: int) -> None:
        active = self._runs(roots=False, statuses=("live", "draining"))
        op = Abort(active[run % len(active)])
        assert self.sut is not None
        self._apply(op, self._stock(self._h().abort(op.run)))

    @precondition(lambda self: self.state is not None and self._cancel_targets())
    @rule(run=PICK, with_contexts=st.booleans())
    def cancel_with_children(self, run: int, with_contexts: bool) -> None:
        targets = self._cancel_targets()
        op = Cancel(targets[run % len(targets)], with_contexts)
        assert self.sut is not None
        self._apply(op, self._stock(self._h().cancel_with_children(op.run, with_contexts)))

    @precondition(lambda self: self.state is not None)
    @rule(moves=BATCH, data=st.data())
    def race(self, moves: list[tuple[str, int, str]], data: st.DataObject) -> None:
        """Start two or three operations at once; the scheduler chooses the interleaving."""
        self.race_ops(self._batch(moves), HypothesisChooser(data))

    def race_ops(self, ops: list[Op], chooser: Chooser) -> None:
        """Start ``ops`` at once under ``chooser`` and check that some order of them explains
        the outcome (a regression test replays a recorded race with a ``ReplayChooser``)."""
        assert self.sut is not None and self.loop is not None
        h = self._h()

        async def perform(op: Op) -> object:
            if isinstance(op, Spawn):
                await h.begin_spawn(op.parent, op.child, op.inherit)
            elif isinstance(op, Finish):
                h.release(op.run, op.outcome.kind)
            elif isinstance(op, Abort):
                h.cancel_task(op.run)
            elif isinstance(op, Cancel):
                return await h.cancel_cascade(op.run, op.with_contexts)
            else:
                return await h.is_canceled(op.run)
            return None

        async def batch() -> list[object]:
            tasks = [h.start(perform(op), name=self.model.describe_op(op)) for op in ops]
            results = list(await asyncio.gather(*tasks))
            await h.quiesce()
            return [
                h.spawn_outcome(op.child) if isinstance(op, Spawn) else r
                for op, r in zip(ops, results, strict=True)
            ]

        self.loop.chooser = chooser
        results = self.sut.run(batch(), name="race")
        self.observation = None
        found = linearize(
            self.model, self._s(), list(zip(ops, results, strict=True)), self._observed()
        )
        if found is None:
            pairs = zip(ops, results, strict=True)
            lines = [f"  {self.model.describe_op(o)} -> {r!r}" for o, r in pairs]
            raise AssertionError(
                "no order of this batch explains what Stageflow did (not linearizable):\n"
                + "\n".join(lines)
                + f"\nobserved after the batch: {self._observed()!r}\nmodel state before:\n"
                + self.model.describe_state(self._s())
            )
        self.state = found[0]

    def _batch(self, moves: list[tuple[str, int, str]]) -> list[Op]:
        # Resolve each move against the state before the batch, dropping moves a real program
        # could not make at once: two endings of one run, or an ending of a run that races a
        # spawn from inside its own subtree (its runner would already be gone).
        s, ended, spawning = self._s(), set[str](), set[str]()
        ops: list[Op] = []
        for kind, pick, extra in moves:
            if kind == "spawn":
                parents = [
                    p
                    for p in self._runs(roots=True, statuses=("live",))
                    if not (({p} | ancestors(s, p)) & ended)
                ]
                if parents:
                    self.spawned += 1
                    parent = parents[pick % len(parents)]
                    spawning |= {parent} | ancestors(s, parent)
                    inherit = bridge_inherit(extra == "inherit")
                    ops.append(Spawn(parent, f"c{self.spawned}", inherit))
            elif kind in ("finish", "abort"):
                statuses = ("live",) if kind == "finish" else ("live", "draining")
                runs = [
                    r
                    for r in self._runs(roots=False, statuses=statuses)
                    if r not in spawning
                    and not (({r} | ancestors(s, r) | set(subtree(s, r))) & ended)
                ]
                if runs:
                    run = runs[pick % len(runs)]
                    ended.add(run)
                    outcome = Outcome(extra if extra in OUTCOME_KINDS else "none")  # type: ignore[arg-type]
                    ops.append(Finish(run, outcome) if kind == "finish" else Abort(run))
            elif kind == "cancel":
                targets = self._cancel_targets()
                if targets:
                    ops.append(Cancel(targets[pick % len(targets)], extra == "inherit"))
            else:
                targets = self._runs(roots=True, statuses=("live", "draining"))
                ops.append(IsCanceled(targets[pick % len(targets)]))
        return ops

    # -- invariants ------------------------------------------------------------------------
    def _observed(self) -> dict[str, Any]:
        if self.observation is None:
            self.observation = self._h().observe()
        return self.observation

    def _agree(self, what: str, observed: object, expected: object) -> None:
        if observed != expected:
            raise AssertionError(
                f"{what} disagrees with the model\n  stageflow: {observed!r}\n  model:     "
                f"{expected!r}\nmodel state:\n{self.model.describe_state(self._s())}"
            )

    @precondition(lambda self: self.state is not None)
    @invariant()
    def tracker_holds_exactly_the_live_children(self) -> None:
        self._agree("ChildRunTracker", self._observed()["tracker"], tracker_view(self._s()))

    @precondition(lambda self: self.state is not None)
    @invariant()
    def no_chain_exceeds_max_depth(self) -> None:
        obs, limit = self._observed(), self._s().config.depth_limit
        parents = obs["tracker"]["parents"]
        for child in parents:
            hops, run = 0, child
            while run in parents:
                hops, run = hops + 1, parents[run]
            assert hops <= limit, f"{child} sits {hops} levels below a root; max_depth={limit}"
        self._agree("spawner depths", obs["depths"], depths_view(self._s()))

    @precondition(lambda self: self.state is not None)
    @invariant()
    def every_live_descendant_of_a_cancelled_run_is_cancelled(self) -> None:
        obs = self._observed()
        self._agree("cancelled ids", obs["canceled"], sorted(self._s().canceled))
        self._agree("cancelled contexts", obs["ctx_canceled"], sorted(self._s().marked))
        if SPAWN_IGNORES_CANCEL in self.deviations:
            return  # SF-SUB-02: the model above already says which children escaped
        parents, canceled = obs["tracker"]["parents"], set(obs["canceled"])
        for child in parents:
            run = child
            while run in parents:
                run = parents[run]
                assert run not in canceled or child in canceled, (
                    f"{child} is live under cancelled {run} but is_canceled({child}) is False"
                )

    @precondition(lambda self: self.state is not None)
    @invariant()
    def cancelled_runs_see_it(self) -> None:
        # is_canceled is read-only, so every run asks after every step instead of being a rule
        # of its own (as a rule it padded shrunk programs with calls that change nothing).
        for label in self._runs(roots=True, statuses=("live", "draining")):
            op = IsCanceled(label)
            self._apply(op, self._stock(self._h().is_canceled(label)))

    @precondition(lambda self: self.state is not None)
    @invariant()
    def nothing_is_left_behind_once_every_run_has_ended(self) -> None:
        s = self._s()
        if any(r.parent is not None and r.status != "ended" for r in s.runs):
            return
        retained = self._h().retained()
        leaked = len(depths_view(s))  # SF-SUB-03 leftovers, when the model adopted it
        assert retained["depths"] == leaked and retained["tracker_parents"] == leaked, retained
        roots = {r.label for r in s.runs if r.parent is None}
        if RETAINS_CANCELED_IDS not in self.deviations:
            stale = set(self._observed()["canceled"]) - roots
            assert not stale, f"every run ended, yet the spawner still holds {sorted(stale)}"

    @precondition(lambda self: self.state is not None)
    @invariant()
    def parent_data_unchanged_by_children(self) -> None:
        self._agree("ctx.data", self._observed()["data"], data_view(self._s()))

    @precondition(lambda self: self.state is not None)
    @invariant()
    def results_and_events_agree_with_the_model(self) -> None:
        obs = self._observed()
        self._agree("results", obs["results"], results_view(self._s()))
        self._agree("events", obs["events"], events_view(self._s()))
        unregistered = [r for r, ok in obs["registered_at_start"].items() if not ok]
        assert not unregistered, f"runners of {unregistered} started before registration"
        h = self._h()
        self._agree("child correlation fields", h.correlation_seen(), h.correlation_promised())

    @precondition(lambda self: self.state is not None)
    @invariant()
    def durations_are_each_childs_execution_time(self) -> None:
        # SubpipelineResult: "duration_ms: Execution time in milliseconds"
        # (stageflow/pipeline/subpipeline.py:147; docs/advanced/subpipelines.md:731), and the
        # completed/failed events carry the same duration (:498, :512).
        problems = self._h().duration_problems()
        assert not problems, "; ".join(problems)


def comparison_for(
    deviations: frozenset[str], unidentified_roots: int = 0
) -> type[SubpipelineComparison]:
    """A SubpipelineComparison whose model adopts ``deviations`` (finding ids), its first
    ``unidentified_roots`` roots without pipeline_run_id."""
    attributes = {"deviations": deviations, "unidentified_roots": unidentified_roots}
    return type("SubpipelineComparison", (SubpipelineComparison,), attributes)


def run_spawn_tree() -> None:
    machine = comparison_for(reproducing_ids(FINDINGS))
    # One shrunk failure, not one per distinct bug: shrinking each of several distinct
    # failures multiplied the failing run's time by five, and the first one names the bug.
    run_state_machine_as_test(
        machine, settings=settings(settings.default, report_multiple_bugs=False)
    )


CHECKS = [
    Check(
        name="subpipelines.spawn_tree",
        run=run_spawn_tree,
        summary="spawn, depth, cancel cascade, tracker cleanup, results and events vs model",
    ),
]
