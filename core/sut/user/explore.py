"""Explore runs of a user's own pipeline under the deterministic scheduler.

A run is built from two factories: ``context()`` makes the ``PipelineContext`` one run gets, and
``pipeline(ctx)`` makes the ``Pipeline`` (or the built graph) for it; it receives the context so
that stages can close over per-run state, as real stages close over their services. The run goes
on a :class:`~core.sched.DeterministicLoop`: every interleaving of its tasks and every fault at a
suspension point (an awaited operation raises, a task is cancelled, a timer expires early) is a
choice drawn from Hypothesis, so a failing run shrinks to few deviations from stock asyncio and
replays exactly. After ``graph.run`` ends the run lingers in virtual time (``linger`` seconds) so
that whatever it left behind shows its effects, then the built-in invariants
(:mod:`core.sut.user.invariants`) and the user's own are checked. A violation raises
:class:`PipelineInvariantError` (an ``AssertionError``) listing every violated claim, with the
swimlane of the run and the ``replay_pipeline_run`` call that repeats it attached as notes.

Three ways in, from the most composable:

- :func:`check_pipeline_run` runs one explored run inside the caller's own ``@given`` test, from
  its ``st.data()``: the test can draw the pipeline's parameters too, and Hypothesis's
  ``@reproduce_failure`` then names a function the user owns;
- :func:`explore_pipeline` is the whole search in one call (a ``@given`` of its own);
- :func:`replay_pipeline_run` repeats one run from the printed choices, outside Hypothesis.

For example::

    @given(data=st.data())
    def test_fan_out_keeps_every_tag(data):
        run = check_pipeline_run(data, fan_out_pipeline, make_context,
                                 invariants=[every_tag_merged])
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from stageflow_verify.core.sched import Chooser, FaultPlan, HypothesisChooser, ReplayChooser, run
from stageflow_verify.core.sched.choosers import DEFAULT_FAULT_RATE
from stageflow_verify.core.sched.trace import render_swimlane
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.core.sut.user.invariants import (
    BUILT_IN,
    TENANT_FIELDS,
    Invariant,
    PipelineRun,
    no_task_left_running,
)
from stageflow_verify.core.sut.user.observe import RunRecorder

# A stage raises (the operation it awaits fails), is cancelled, or times out (a timer it
# guards with fires first): the three faults of issue 20, at most one per run by default so a
# counterexample stays readable.
DEFAULT_FAULTS = FaultPlan(
    exceptions=(ConnectionError,), cancel=True, expire_timers=True, max_faults=1
)
DEFAULT_LINGER = 60.0
# Loggers quiet() leaves alone that user pipelines reach: the spawner logs every failed or
# cancelled child at ERROR, which would bury Hypothesis's report under hundreds of lines.
_EXTRA_LOGGERS = ("stageflow.subpipeline",)

PipelineFactory = Callable[[Any], Any]
ContextFactory = Callable[[], Any]


class PipelineInvariantError(AssertionError):
    """An explored run of a user's pipeline broke a built-in or a user invariant."""


def check_pipeline_run(
    data: st.DataObject,
    pipeline: PipelineFactory,
    context: ContextFactory,
    *,
    invariants: Sequence[Invariant] = (),
    faults: FaultPlan | None = DEFAULT_FAULTS,
    fault_rate: float = DEFAULT_FAULT_RATE,
    linger: float = DEFAULT_LINGER,
    max_steps: int = 20_000,
    excuse_known: bool = True,
) -> PipelineRun:
    """Run the pipeline once, schedule and faults drawn from ``data``; check every invariant.

    Call it from a ``@given(data=st.data())`` test. ``faults=None`` explores interleavings
    only. ``excuse_known=False`` also fails on Stageflow's own registered findings (see
    :func:`~core.sut.user.invariants.no_task_left_running`). Returns the run when it holds.

    For example::

        @given(n=st.integers(1, 4), data=st.data())
        def test_fan_out(n, data):
            check_pipeline_run(data, lambda ctx: fan_out(n), make_context)
    """
    chooser = HypothesisChooser(data, fault_rate=fault_rate)
    return _checked_run(
        chooser, pipeline, context, invariants, faults, linger, max_steps, excuse_known
    )


def replay_pipeline_run(
    pipeline: PipelineFactory,
    context: ContextFactory,
    choices: Sequence[int],
    *,
    invariants: Sequence[Invariant] = (),
    faults: FaultPlan | None = DEFAULT_FAULTS,
    linger: float = DEFAULT_LINGER,
    max_steps: int = 20_000,
    excuse_known: bool = True,
) -> PipelineRun:
    """Repeat the run a failure printed (``choices`` from its ``ReplayChooser([...])``)."""
    chooser = ReplayChooser(choices)
    return _checked_run(
        chooser, pipeline, context, invariants, faults, linger, max_steps, excuse_known
    )


def explore_pipeline(
    pipeline: PipelineFactory,
    context: ContextFactory,
    *,
    invariants: Sequence[Invariant] = (),
    faults: FaultPlan | None = DEFAULT_FAULTS,
    fault_rate: float = DEFAULT_FAULT_RATE,
    max_examples: int | None = None,
    linger: float = DEFAULT_LINGER,
    excuse_known: bool = True,
) -> None:
    """Search runs of the pipeline under the current Hypothesis profile; raise on a violation.

    ``max_examples`` overrides the profile's. The error Hypothesis raises carries the shrunk
    run's swimlane and its ``replay_pipeline_run`` call.

    For example::

        def test_payments_charge_once():
            explore_pipeline(payment_pipeline, make_context, invariants=[charged_once])
    """

    @given(data=st.data())
    def explored(data: st.DataObject) -> None:
        check_pipeline_run(
            data,
            pipeline,
            context,
            invariants=invariants,
            faults=faults,
            fault_rate=fault_rate,
            linger=linger,
            excuse_known=excuse_known,
        )

    if max_examples is not None:
        explored = settings(max_examples=max_examples)(explored)
    explored()


def _checked_run(
    chooser: Chooser,
    pipeline: PipelineFactory,
    context: ContextFactory,
    invariants: Sequence[Invariant],
    faults: FaultPlan | None,
    linger: float,
    max_steps: int,
    excuse_known: bool,
) -> PipelineRun:
    recorder = RunRecorder()
    with quiet(), _silenced(_EXTRA_LOGGERS):
        result = run(
            lambda: _one_run(pipeline, context, recorder, linger),
            chooser,
            max_steps=max_steps,
            faults=faults,
        )
    explored = result.value
    violations = _violations(explored, invariants, excuse_known)
    for excuse in explored.excused:
        _tell(f"excused (a registered Stageflow finding): {excuse}")
    if violations:
        error = PipelineInvariantError(
            "the pipeline broke "
            + ("an invariant" if len(violations) == 1 else f"{len(violations)} invariants")
            + ":\n"
            + "\n".join(f"  - {v}" for v in violations)
        )
        if not currently_in_test_context():
            # Inside Hypothesis the loop notes the swimlane of the final example itself.
            error.add_note(render_swimlane(result.trace))
        error.add_note(
            f"Replay: replay_pipeline_run(pipeline, context, {_trimmed(chooser.choices)})"
        )
        raise error
    return explored


async def _one_run(
    pipeline: PipelineFactory, context: ContextFactory, recorder: RunRecorder, linger: float
) -> PipelineRun:
    ctx = context()
    graph = _built(pipeline(ctx))
    explored = PipelineRun(
        ctx, graph, tenant_then={f: getattr(ctx, f, None) for f in TENANT_FIELDS}
    )
    me = asyncio.current_task()
    with recorder.recording(graph) as record:
        explored.record = record
        try:
            explored.results = dict(await graph.run(ctx))
        except (asyncio.CancelledError, TimeoutError) as exc:
            explored.outcome, explored.error = "cancelled", exc
        except Exception as exc:
            explored.outcome, explored.error = "failed", exc
        explored.leftover = [
            task
            for task in record.creator
            if task is not me and not task.done() and task.cancelling() == 0
        ]
        explored.cleanups_at_end = dict(record.cleanups)
    # Whatever the run left behind gets time to act, so user invariants see its effects.
    await asyncio.sleep(linger)
    return explored


def _built(made: Any) -> Any:
    # A Pipeline also has run() (it builds a fresh graph per call), which the recorder could
    # not see into: build it here, with its default interceptors, as Pipeline.run would.
    if isinstance(made, stageflow_module().Pipeline):
        return made.build()
    if not hasattr(made, "run"):
        raise TypeError(
            f"the pipeline factory returned {type(made).__name__}, not a stageflow Pipeline or "
            "built graph; return `Pipeline(...).with_stage(...)` or its `.build(...)`"
        )
    return made


def _violations(
    explored: PipelineRun, invariants: Sequence[Invariant], excuse_known: bool
) -> list[str]:
    found: list[str] = []
    for name, check in BUILT_IN:
        if check is no_task_left_running:
            messages: list[str] | None = no_task_left_running(explored, excuse_known=excuse_known)
        else:
            messages = check(explored)
        found += [f"{name}: {m}" for m in messages or ()]
    for check in invariants:
        messages = check(explored)
        label = getattr(check, "__name__", repr(check))
        found += [f"{label}: {m}" for m in messages or ()]
    return found


@contextlib.contextmanager
def _silenced(names: Sequence[str]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    saved = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, was in zip(loggers, saved, strict=True):
            lg.disabled = was


def _trimmed(choices: Sequence[int]) -> list[int]:
    # Zeros past the end are what a replay chooses anyway: shorter to paste, the same run.
    end = len(choices)
    while end and choices[end - 1] == 0:
        end -= 1
    return list(choices[:end])


def _tell(message: str) -> None:
    if currently_in_test_context():
        note(message)
