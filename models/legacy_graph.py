"""What one run of the legacy ``StageGraph`` (pipeline/dag.py, deprecated, still shipped) must
do, under the lifecycle model's rules where its promises are the same and its own where not.

The graph is a :class:`~models.run_lifecycle.LifeGraph` (reads are ignored: a legacy runner
gets the ``PipelineContext``, not ``StageInputs``) and optionally one stage that sets
``ctx.canceled`` as it ends. Rules, each with where it comes from:

- Same as the unified graph: a stage starts when its last dependency ends ("Executes stages
  as soon as their dependencies are met, allowing for maximum parallelism").
- Same events promise, and here kept: docs/api/events.md:141-143 ``stage.{name}.started`` when
  a stage begins, ``.completed`` when it finished, ``.failed`` when it "failed with error",
  carrying the run's ``pipeline_run_id`` and ``request_id``, to the context's sink.
- Its own, documented: a failed stage does not stop the run; its dependents run
  (docs/guides/dependencies.md:291: "Failed stages still 'complete'"). Results are
  ``StageResult``s, status ``completed`` or ``failed`` (``_normalize_result``); an exception a
  stage raises becomes a ``failed`` result with the exception's text and no data.
- Its own, undocumented either way (a legacy deviation, not a finding): SKIP and CANCEL outputs
  are ``completed`` and a CANCEL output does not stop the run (docs/guides/pipelines.md:458
  describes ``Pipeline.run``; StageGraph's docstring promises only the ``canceled`` flag).
- "Supports cancellation via PipelineContext.canceled flag": once a stage that set it ends,
  the stages still working are cancelled (no end event), those never started do not start,
  and every stage without a result gets ``failed`` / "Pipeline canceled".
- A RETRY output is a failure unless SF-RUN-02 (neither retried nor a failure) is adopted.
- Run again and again, one StageGraph keeps its interceptors, so its circuit breaker counts
  across runs ("After 5 failures, circuit opens", docs/guides/interceptors.md:52: a failed
  stage counts once, anything else resets; five open it). A raise counts twice (on_error and
  after()) while SF-RUN-11 is adopted, as in :mod:`models.graph_run`. An open breaker answers
  at once without running the stage; a user expects that to be a failure, but it is
  ``completed`` while SF-RUN-08 is adopted (and that success closes the breaker again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stageflow_verify.models.graph_run import (
    BREAKER_THRESHOLD,
    DOUBLE_COUNTED,
    OPEN_BREAKER_OK,
    RETRY_STATUS_IGNORED,
    Breaker,
    t7,
)
from stageflow_verify.models.run_lifecycle import LifeGraph, Typed, typed

LegacyResult = tuple[str, tuple[tuple[str, Typed], ...], str | None]  # status, data, error
Event = tuple[str, str | None, str | None, float]  # type, pipeline_run_id, request_id, time


@dataclass(frozen=True)
class LegacyObservation:
    results: tuple[tuple[str, str, tuple[tuple[str, Typed], ...], str | None], ...]
    started: tuple[tuple[str, float], ...]
    events: tuple[Event, ...]


def legacy_result(
    status: str, name: str, value: object, deviations: frozenset[str]
) -> LegacyResult:
    """(status, typed data, error) of the StageResult a stage's output becomes."""
    data: dict[str, object] = {"v": value}
    if status == "raise":
        return "failed", (), f"{name} raises"
    if status == "skip":
        data = {"reason": f"{name} skips", **data}
    if status == "cancel":
        data = {"cancel_reason": f"{name} cancels", **data}
    error = f"{name} {status}s" if status in ("fail", "retry") else None
    failed = status == "fail" or (status == "retry" and RETRY_STATUS_IGNORED not in deviations)
    items = tuple(sorted((k, typed(v)) for k, v in data.items()))
    return ("failed" if failed else "completed"), items, error


def predict_legacy(
    graph: LifeGraph,
    flag: str | None,
    deviations: frozenset[str],
    ids: tuple[str, str],
    breaker: Breaker,
) -> tuple[LegacyObservation, Breaker]:
    """One run of a StageGraph built once and run again and again: ``breaker`` is what its
    circuit breaker counted in the earlier runs; the counts after this run come back."""
    counts = dict(breaker)
    is_open = {s.name for s in graph.stages if counts.get(s.name, 0) >= BREAKER_THRESHOLD}
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for stage in graph.stages:  # dependency order; every stage runs, failed or not
        starts[stage.name] = max((ends[d] for d in stage.deps), default=0.0)
        # An open breaker answers at once, without running the stage.
        ends[stage.name] = starts[stage.name] + (0.0 if stage.name in is_open else stage.work)
    stop = ends[flag] if flag is not None and flag not in is_open else math.inf
    results: list[tuple[str, str, tuple[tuple[str, Typed], ...], str | None]] = []
    events: list[Event] = []
    for stage in graph.stages:
        name = stage.name
        if starts[name] < stop:
            events.append((f"stage.{name}.started", *ids, t7(starts[name])))
        if ends[name] > stop:
            results.append((name, "failed", (), "Pipeline canceled"))
            continue  # cancelled while it worked: CancelledError reaches no interceptor
        if name in is_open:
            # SF-RUN-08: reported completed, which after() takes for a success and resets.
            adopted = OPEN_BREAKER_OK in deviations
            outcome: LegacyResult = (
                ("completed" if adopted else "failed"),
                (),
                f"Circuit breaker open for {name}",
            )
            status, data, error = outcome
            if adopted:
                counts[name] = 0
        else:
            outcome = legacy_result(stage.status, name, stage.value, deviations)
            status, data, error = outcome
            # CircuitBreakerInterceptor: after() counts a failed result once and resets on
            # anything else; under SF-RUN-11 on_error counts a raise a second time.
            twice = stage.status == "raise" and DOUBLE_COUNTED in deviations
            bump = 2 if twice else 1 if status == "failed" else None
            counts[name] = 0 if bump is None else counts.get(name, 0) + bump
        events.append((f"stage.{name}.{status}", *ids, t7(ends[name])))
        results.append((name, status, data, error))
    started = tuple(sorted((n, t7(t)) for n, t in starts.items() if t < stop and n not in is_open))
    seen = LegacyObservation(
        tuple(sorted(results)), started, tuple(sorted(events, key=lambda e: (e[3], e[0])))
    )
    return seen, {k: v for k, v in counts.items() if v}
