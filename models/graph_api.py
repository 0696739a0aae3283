"""What a graph built straight from its specs must do on the paths a ``Pipeline`` rarely takes:
``UnifiedStageGraph`` and the legacy ``StageGraph`` (stageflow/pipeline/dag.py) given a chain
``a -> b -> c`` whose stages return what the stage types allow, skip as conditional stages,
request cancellation, deadlock, or emit wide events. A :class:`GraphScenario` is plain data and
:func:`predict` the observation the graph must give. The rules, with the words they encode:

- Construction. A graph of no stage is refused (a ``ValueError``: there is nothing to run);
  ``stage_specs`` lists the specs given, in order ("Get list of stage specs").
  ``cleanup_registry``/``cancel_token`` are "for the current execution": set while a run
  executes, ``None`` before and after it.
- Returns. A stage returns ``StageReturn = StageOutput | dict[str, Any] | None``
  (core/stage_output.py:161): ``None`` is an OK output with no data, a dict an OK output with
  that data; anything else is not a stage's answer and fails the run at that stage (an error
  naming the type returned, inside ``UnifiedStageExecutionError``); later stages never start. The
  legacy ``StageGraph`` takes ``StageResult | dict | None`` (``StageRunner``, dag.py:44) and a
  StageOutput; a stage that raises or returns anything else gets a ``failed`` result with no
  data and the run goes on: "Failed stages still 'complete'" (docs/guides/dependencies.md:291).
- Entry. ``run`` takes a PipelineContext or a StageContext, which "remains supported for
  backwards compatibility" (``UnifiedStageGraph.run``): the same outputs either way.
- Conditional stages. A conditional stage is skipped when a dependency's output carries a
  ``skip_reason`` ("Check prior_outputs from dependencies for skip_reason", dag.py:914): its
  runner never runs, its output is SKIP with that reason, and a ``stage.<name>.skipped`` event
  ("Emit stage.skipped event for observability", :925) carries the stage, the reason and the
  run's ids. A stage that is not conditional runs whatever its inputs say.
- Cancellation requests. "These helpers raise ``StageCancellationRequested``, which the unified
  runtime converts into pipeline cancellation rather than a hard stage failure"
  (docs/guides/context.md:115-116); ``PipelineContext`` "is also the runtime cancellation
  boundary for a pipeline run" (:100): a stage raising it, a before-stage hook marking the
  context cancelled, or a stage marking it, all end the run with ``UnifiedPipelineCancelled``
  carrying the reason and the outputs so far; no later stage starts.
- Deadlock. A graph whose stages wait on a stage that never comes (a missing dependency or a
  cycle) raises a ``RuntimeError`` naming the stuck stages once nothing runs, rather than hang
  (expected: a run that can never finish must say so).
- Wide events. ``emit_stage_wide_events``/``emit_pipeline_wide_event`` (docs/api/pipeline.md:74-75,
  docs/api/wide-events.md:118-119) send one ``stage.wide`` per finished stage and one
  ``pipeline.wide`` per run ("completed" or "failed", the payload's status,
  docs/api/wide-events.md) through the context's sink, with a ``WideEventEmitter`` made for
  the graph when none is given; neither flag, none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stageflow_verify.models.run_lifecycle import typed

CHAIN = ("a", "b", "c")
VALUE = 0  # every stage writes {"v": 0}: a falsy value is a value


@dataclass(frozen=True)
class GraphScenario:
    kind: str  # returns | conditional | cancel_request | deadlock | wide | legacy | empty
    returns: tuple[str, ...]  # per stage of the chain: none | dict | output | bad | result | raise
    entry: str = "pipeline"  # pipeline | stage
    skip_reason: str | None = None  # conditional: what a's output carries
    conditional: bool = False  # conditional: whether b is
    how: str = "raise"  # cancel_request: raise | hook | mark
    at: int = 0  # cancel_request: the stage (index) that requests it
    cycle: bool = False  # deadlock: a cycle (else a missing dependency)
    flags: tuple[bool, bool, bool] = (False, False, False)  # wide: stage, pipeline, emitter


def _data(kind: str) -> tuple[tuple[str, Any], ...]:
    return () if kind == "none" else (("v", typed(VALUE)),)


def predict(s: GraphScenario) -> tuple[Any, ...]:
    """(outcome, runners that ran, events, stage_specs, registry during and after)."""
    names = CHAIN[: len(s.returns)]
    if s.kind == "empty":
        return (("ValueError", "ValueError"), (), (), (), None)
    if s.kind == "deadlock":
        stuck = ("b", "c") if s.cycle else ("b",)
        return (("RuntimeError", stuck), ("a",), (), ("a", *stuck), (True, True))
    legacy = s.kind == "legacy"
    ran: list[str] = []
    outputs: list[tuple[str, str, tuple[tuple[str, Any], ...]]] = []
    outcome: tuple[Any, ...] | None = None
    events: list[tuple[Any, ...]] = []
    for i, name in enumerate(names):
        kind = s.returns[i]
        # A stage marking the context as the last one ends leaves nothing to cancel: the run
        # has finished, and returns.
        last_mark = s.how == "mark" and i == len(names) - 1
        if s.kind == "cancel_request" and i == s.at and not last_mark:
            if s.how != "hook":
                ran.append(name)
            if s.how == "mark":
                outputs.append((name, "ok", _data(kind)))
            else:
                outputs.append((name, "cancel", (("cancel_reason", typed("stop")),)))
            outcome = ("cancelled", "stop", tuple(outputs))
            break
        if s.kind == "conditional" and name == "b" and s.conditional and s.skip_reason:
            outputs.append((name, "skip", (("reason", typed(s.skip_reason)),)))
            events.append(("stage.b.skipped", "b", s.skip_reason))
            continue
        ran.append(name)
        if legacy and kind in ("bad", "raise"):
            # "Failed stages still 'complete'" (docs/guides/dependencies.md:291): a failed
            # result with no data, and the run goes on (as models.legacy_graph says).
            outputs.append((name, "failed", ()))
            continue
        if kind in ("bad", "raise"):
            # What fails the run is the stage's own error; for a value no stage may return,
            # an error that names the type returned (its class is not a promise: the
            # interceptors report it as a failed result, which the graph raises as such).
            error = "names int" if kind == "bad" else "ValueError"
            outcome = ("failed", name, "StageExecutionError" if legacy else "", error)
            break
        status = "completed" if legacy else "ok"
        data = _data(kind)
        if s.kind == "conditional" and name == "a" and s.skip_reason:
            data = (("skip_reason", typed(s.skip_reason)), *data)
        outputs.append((name, status, data))
    if outcome is None:
        outcome = ("ok", tuple(outputs))
    if s.kind == "wide":
        stage_flag, pipeline_flag, _ = s.flags
        if stage_flag:
            events += [("stage.wide", n) for n in ran]
        if pipeline_flag:
            events.append(("pipeline.wide", "failed" if outcome[0] == "failed" else "completed"))
    during = None if legacy else (True, True)
    return (outcome, tuple(ran), tuple(events), names, during)
