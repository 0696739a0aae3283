"""What ``PipelineRunner.run`` (helpers/run_utils.py) hands back, run after run, and what it
leaves behind: a pure prediction built on :mod:`models.run_lifecycle`.

- ``RunResult`` (its docstring): "success: Whether the pipeline completed successfully",
  "stages: Dict of stage name to output data", "cancelled: Whether pipeline was cancelled by a
  stage", "cancel_reason", "error_type: Exception type name if failed", "events: Captured
  events from the run". A run a stage cancels is a success with the partial stages
  (``run`` returns ``success=True, cancelled=True``); a failed run has no stages.
- Events captured are the run's own, those the lifecycle model predicts for its sink
  (only ``stage.X.skipped`` while SF-LIFE-02 is adopted), and they stay the run's own.
- Reasonable expectation (PipelineRunner: "Automatic event sink setup"; docs/api/helpers.md:6
  "helper-managed event capture"): the helper's sink serves its run only; the caller's global
  sink is the same after ``run`` as before, and a later plain run's events reach it, not an
  earlier RunResult. SF-LIFE-05 (adopted while it reproduces): ``run`` calls
  ``set_event_sink`` and never restores it, so the caller's global sink stays the last
  runner's, and every later plain run's events land in that RunResult's ``events``.
"""

from __future__ import annotations

from dataclasses import dataclass

from stageflow_verify.models.run_lifecycle import LifeGraph, output_of, predict, schedule

RUNNER_KEEPS_GLOBAL_SINK = "SF-LIFE-05"


@dataclass(frozen=True)
class RunnerResult:
    success: bool
    stages: tuple[tuple[str, object], ...]  # (name, typed data items)
    cancelled: bool
    cancel_reason: str | None
    error_type: str | None
    events: tuple[str, ...]  # event types, in the order captured


def own_events(graph: LifeGraph, deviations: frozenset[str]) -> tuple[str, ...]:
    return tuple(e[1] for e in predict(graph, deviations).events)


def predict_result(graph: LifeGraph, deviations: frozenset[str]) -> RunnerResult:
    seen = predict(graph, deviations)
    starts, stop = schedule(graph, deviations)
    done = [s for s in graph.stages if s.name in starts and starts[s.name] + s.work <= stop]
    stages = tuple(sorted((s.name, output_of(s)[1]) for s in done))
    failed = seen.outcome == "failed"
    cancelled = seen.outcome == "cancelled"
    return RunnerResult(
        success=not failed,
        stages=() if failed else stages,
        cancelled=cancelled,
        cancel_reason=f"{seen.stage} cancels" if cancelled else None,
        error_type="UnifiedStageExecutionError" if failed else None,
        events=own_events(graph, deviations),
    )


def predict_sequence(
    graph: LifeGraph,
    kinds: tuple[str, ...],
    deviations: frozenset[str],
    global_sink_default: bool = True,
) -> tuple[tuple[RunnerResult, ...], bool]:
    """The RunResults of the runner runs among ``kinds`` (``runner``, ``runner_pipeline`` or
    ``plain``), as they read after the whole sequence, and whether the caller's global sink is
    still its own. ``global_sink_default``: a plain run's context, naming no sink, sends its
    events to the global one (a PipelineContext; before 0.9.5 a root StageContext sends none)."""
    results: list[RunnerResult] = []
    leaks = RUNNER_KEEPS_GLOBAL_SINK in deviations
    for kind in kinds:
        if kind.startswith("runner"):
            results.append(predict_result(graph, deviations))
        elif leaks and results and global_sink_default:
            # A plain run's context takes the global sink: the last runner's capture.
            last = results[-1]
            extra = own_events(graph, deviations)
            results[-1] = RunnerResult(**{**last.__dict__, "events": last.events + extra})
    return tuple(results), not (leaks and results)
