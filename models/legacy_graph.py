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
"""

from __future__ import annotations

from dataclasses import dataclass

from models.graph_run import RETRY_STATUS_IGNORED, t7
from models.run_lifecycle import LifeGraph, Typed, typed

Event = tuple[str, str | None, str | None, float]  # type, pipeline_run_id, request_id, time


@dataclass(frozen=True)
class LegacyObservation:
    results: tuple[tuple[str, str, tuple[tuple[str, Typed], ...], str | None], ...]
    started: tuple[tuple[str, float], ...]
    events: tuple[Event, ...]


def legacy_result(
    status: str, name: str, value: object, deviations: frozenset[str]
) -> tuple[str, tuple[tuple[str, Typed], ...], str | None]:
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
    graph: LifeGraph, flag: str | None, deviations: frozenset[str], ids: tuple[str, str]
) -> LegacyObservation:
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for stage in graph.stages:  # dependency order; every stage runs, failed or not
        starts[stage.name] = max((ends[d] for d in stage.deps), default=0.0)
        ends[stage.name] = starts[stage.name] + stage.work
    stop = ends[flag] if flag is not None else max(ends.values())
    results = []
    events: list[Event] = []
    for stage in graph.stages:
        name = stage.name
        if starts[name] < stop:
            events.append((f"stage.{name}.started", *ids, t7(starts[name])))
        if ends[name] <= stop:
            status, data, error = legacy_result(stage.status, name, stage.value, deviations)
            events.append((f"stage.{name}.{status}", *ids, t7(ends[name])))
            results.append((name, status, data, error))
        else:
            results.append((name, "failed", (), "Pipeline canceled"))
    started = tuple(sorted((n, t7(t)) for n, t in starts.items() if t < stop))
    return LegacyObservation(
        tuple(sorted(results)), started, tuple(sorted(events, key=lambda e: (e[3], e[0])))
    )
