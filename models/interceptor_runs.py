"""Runs of a built graph whose stages go through one interceptor stack, as plain data.

A :class:`Graph` is a chain of one or two stages (``b`` depends on ``a``): within a run the
stages run one after the other, so every interleaving that matters is between runs, and the
stack's shared state (:class:`~models.interceptor_state.StackState`) is what runs share. A run
stops at the first stage that fails (``UnifiedStageExecutionError``), cancels the run
(``StageOutput.cancel``: ``UnifiedPipelineCancelled``), is interrupted (its task cancelled: the
run raises ``CancelledError``), raises ``IdempotencyParamMismatch`` or hangs on a lock; a hung
run is given up by the caller after :data:`HANG` virtual seconds.

Times in an observation are relative to the run's start; the state keeps absolute virtual time
(``epoch``), the clock the breaker and the store read.

For example::

    graph = Graph((StageSpec("a", "work", "ok", 1.0),), Stack("omitted", frozenset()))
    seen = predict_run(graph, RunData(key="k"), StackState(), 0.0, frozenset())
    assert seen.outcome == "ok" and seen.stages[0].attempts == ((1, 0.0, 1.0, "ok"),)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from stageflow_verify.models.interceptor_stack import (
    Attempt,
    Event,
    Hook,
    RunData,
    Stack,
    StageRun,
    StageSpec,
    deduplicates,
    execute,
    t7,
)
from stageflow_verify.models.interceptor_state import Data, StackState

HANG = 600.0  # virtual seconds the caller waits for a run before giving up on it
STOPS = {"failed": "failed", "mismatch": "mismatch", "cancel": "cancelled"}
STOPS |= {"interrupted": "interrupted", "hung": "hung", "aborted": "aborted"}


@dataclass(frozen=True)
class Graph:
    stages: tuple[StageSpec, ...]
    stack: Stack


@dataclass(frozen=True)
class StageSeen:
    """One stage of one run: ``status`` is the reported StageOutput status in a run that
    succeeded, the reason the run stopped at the stage that stopped it, ``done`` for a stage
    that finished before another stopped the run; ``data`` only where results are returned."""

    stage: str
    status: str
    data: Data | None
    attempts: tuple[Attempt, ...]
    hooks: tuple[Hook, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True)
class RunObservation:
    outcome: str  # ok failed mismatch cancelled interrupted hung
    stopped_at: str | None
    stages: tuple[StageSeen, ...]
    end: float


def run_random(seed: int, label: str) -> random.Random:
    """The generator one run's retry jitter draws from: one per run (the harness gives Stageflow
    the same), so what a run draws does not depend on how two runs at once interleave."""
    return random.Random(f"{seed}/{label}")


def predict_run(
    graph: Graph, data: RunData, state: StackState, epoch: float, dev: frozenset[str],
    rng: random.Random | None = None,
) -> RunObservation:  # fmt: skip
    """One run from ``epoch``; changes ``state`` as the stack would. ``rng``: the generator
    the retrier's jitter draws from (seeded as the harness seeds Stageflow's)."""
    rng = rng or random.Random(0)
    done: list[StageRun] = []
    t = epoch
    for spec in graph.stages:
        run = execute(spec, graph.stack, data, state, t, dev, rng)
        done.append(run)
        if run.status in STOPS:
            break
        t = run.end
    return observe(done, epoch)


def observe(done: list[StageRun], epoch: float) -> RunObservation:
    last = done[-1]
    outcome = STOPS.get(last.status, "ok")
    stages = []
    noted: dict[int, float] = {}  # each probe's observation in this run's context
    for run in done:
        status = run.status if outcome == "ok" or run is last else "done"
        status = STOPS.get(status, status)
        stages.append(
            StageSeen(
                run.stage,
                status,
                run.data if outcome == "ok" else None,
                tuple((k, t7(s - epoch), t7(e - epoch), how) for k, s, e, how in run.attempts),
                _with_observations(run.hooks, epoch, noted),
                tuple(run.events),
            )
        )
    end = HANG if outcome == "hung" else last.end - epoch
    return RunObservation(outcome, None if outcome == "ok" else last.stage, tuple(stages), t7(end))


def _with_observations(
    hooks: list[Hook], epoch: float, noted: dict[int, float]
) -> tuple[Hook, ...]:
    """The hooks, each probe's ``after`` followed by what it reads back with
    ``get_observation``: the instant its ``before`` added with ``add_observation`` (the
    pattern of docs/guides/interceptors.md:257-270), the latest in this run's context. The
    namespace is the interceptor's, not the stage's, so an ``after`` whose ``before`` never
    ran (a short-circuited stage) reads an earlier stage's note, or None (1.2.0's
    ``InterceptorContext``; no document scopes observations to a stage)."""
    out: list[Hook] = []
    for hook, prio, when, status in hooks:
        at = t7(when - epoch)
        out.append((hook, prio, at, status))
        if hook == "before":
            noted[prio] = at
        elif hook == "after":
            seen = noted.get(prio)
            out.append(("observed", prio, at, None if seen is None else repr(seen)))
    return tuple(out)


def key_guards(graph: Graph, data: RunData, dev: frozenset[str]) -> bool:
    """Whether ``data``'s key makes a second run wait for the first and replay: only with an
    idempotency interceptor in the stack, and a stage of a kind it deduplicates (SF-INT-05;
    :func:`~models.interceptor_stack.deduplicates`, which ``execute`` asks too). Otherwise the
    key is plain data and both runs execute: a default stack with ``include_idempotency=False``
    and a key met decorrelated jitter, where the two runs raced for the retrier's previous
    delay and the model had one of them wait."""
    layers = graph.stack.layers(dev)
    return bool(data.key) and any(deduplicates(layers, spec, dev) for spec in graph.stages)


def duplicates_predictable(graph: Graph, data: RunData, state: StackState, epoch: float,
                           dev: frozenset[str]) -> bool:  # fmt: skip
    """Whether two runs at once with ``data`` have one outcome whatever the schedule.

    They must succeed alone (a failing or cancelling run stops the other through the graph's
    shared token: SF-RUN-05), the breaker must be quiet (two runs cannot open it, so the order
    of their updates does not matter), and a key must be fresh and guard one stage: then one
    run executes and the other waits on the lock and replays (the documented "concurrent
    duplicates"); with an entry already there, two replays at one instant race to re-store it
    (SF-INT-09), and a second stage's replays would race the first stage's.
    """
    retry = graph.stack.retry
    if not state.quiet():
        return False
    guarded = key_guards(graph, data, dev)
    if retry is not None and retry.jitter == "decorrelated" and not guarded:
        # Both runs execute and race for the jitter's state: decorrelated jitter keeps the
        # previous delay per stage name on the retrier they share (_previous_delays). With a
        # key only the lock's owner executes; which run that is (and so whose draws the
        # result carries) is the schedule's choice, which predict_duplicates leaves open.
        return False
    alone = predict_run(graph, data, state.fork(), epoch, dev)
    if alone.outcome != "ok":
        return False
    if not guarded:
        return True
    return len(graph.stages) == 1 and not state.store and not state.held


def pair_predictable(graph: Graph, a: RunData, b: RunData, state: StackState, epoch: float,
                     dev: frozenset[str]) -> bool:  # fmt: skip
    """Whether two runs at once, with data ``a`` and ``b``, have one outcome whatever the
    schedule: duplicates as :func:`duplicates_predictable` says; otherwise runs that share
    nothing the schedule could order (no common key, no decorrelated jitter, a quiet breaker) and
    succeed alone (a failing run would stop the other through the shared token: SF-RUN-05)."""
    if a == b:
        return duplicates_predictable(graph, a, state, epoch, dev)
    retry = graph.stack.retry
    if not state.quiet() or (retry is not None and retry.jitter == "decorrelated"):
        return False  # each run draws from its own generator; decorrelated shares a delay
    if a.key is not None and a.key == b.key:
        return False
    alone = [predict_run(graph, d, state.fork(), epoch, dev).outcome for d in (a, b)]
    return alone == ["ok", "ok"]


def predict_pair(
    graph: Graph, a: RunData, b: RunData, state: StackState, epoch: float, dev: frozenset[str],
    rngs: tuple[random.Random, random.Random],
) -> tuple[RunObservation, RunObservation]:  # fmt: skip
    """Two runs at once (see :func:`pair_predictable`): as alone, one after the other."""
    if a == b:
        return predict_duplicates(graph, a, state, epoch, dev, rngs)
    return (
        predict_run(graph, a, state, epoch, dev, rngs[0]),
        predict_run(graph, b, state, epoch, dev, rngs[1]),
    )


def predict_duplicates(
    graph: Graph, data: RunData, state: StackState, epoch: float, dev: frozenset[str],
    rngs: tuple[random.Random, random.Random],
) -> tuple[RunObservation, RunObservation]:  # fmt: skip
    """Two runs of ``graph`` with ``data`` started together (see
    :func:`duplicates_predictable`): the lock owner's run, then the other's. The owner draws
    its jitter from ``rngs[0]``: with a key, which run owns the lock is the schedule's choice,
    so the caller asks for both orders and accepts either (:func:`owner_orders`)."""
    spec = graph.stages[0]
    if not key_guards(graph, data, dev):  # nothing couples them: two runs as alone, in turn
        return (
            predict_run(graph, data, state, epoch, dev, rngs[0]),
            predict_run(graph, data, state, epoch, dev, rngs[1]),
        )
    owner = execute(spec, graph.stack, data, state, epoch, dev, rngs[0])
    waiter = execute(spec, graph.stack, data, state, epoch, dev, rngs[1], acquired=owner.end)
    return observe([owner], epoch), observe([waiter], epoch)


def owner_orders(
    a: RunData, b: RunData, rngs: tuple[random.Random, random.Random]
) -> list[tuple[random.Random, random.Random]]:
    """The generators of two runs at once in every order the schedule may give them: both
    orders for duplicates with a key (either may own the lock and draw the jitter), else the
    runs' own."""
    if a == b and a.key is not None:
        return [rngs, (rngs[1], rngs[0])]
    return [rngs]
