"""What one run of a Stageflow pipeline shows its stages and its caller, as a pure simulation.

Where :mod:`models.graph_run` follows attempts, retries and timeouts, this model follows the
run's lifecycle as the user meets it: what each stage may read through ``ctx.inputs``, what the
results API answers afterwards, which cleanups run and when, how an outside cancel or timeout
ends the run, and which events reach which sink. A :class:`LifeGraph` is plain data; every
stage works ``work`` virtual seconds (distinct sums, as in the graph machine, so no two events
tie) and returns one status with ``{"v": value}``. Each rule quotes the promise it encodes:

- Inputs. docs/guides/dependencies.md:7: "When a stage tries to access output from another
  stage that isn't declared as a dependency, you'll get an ``UndeclaredDependencyError``";
  docs/api/inputs.md:59: ``prior_outputs`` holds "Outputs from declared dependency stages
  only"; ``get_from``/``get_output``/``has_output`` validate (docs/guides/dependencies.md:85-89),
  ``get`` searches "all prior_outputs in insertion order" (stages/inputs.py ``get``), which is
  the order the dependencies finished. Falsy values are values: ``get_from`` returns the
  default only "if stage not found or key not present" (docs/api/inputs.md:97);
  ``require_from`` raises KeyError "If stage has no output or key is not in output.data"; an
  empty key is a ValueError before anything else (docs/api/inputs.md:113).
- Results. ``PipelineResults`` (pipeline/results.py): ``require`` raises KeyError for an
  absent stage, ``require_ok`` raises RuntimeError naming the status "when [it did not
  finish] with OK status", ``ok`` is True only for OK, ``failed()`` lists FAIL stages. A run a
  stage cancels raises ``UnifiedPipelineCancelled`` whose ``results`` are the partial results
  (docs/guides/pipelines.md:458-468); a failing or raising stage fails the run. Before 1.0.0
  ``run`` "Returns: Dict mapping stage name to StageOutput" (0.8.0 pipeline/dag.py:409-410)
  and the cancel's ``results`` is that dict: what it holds is compared, name by name.
- Cleanup. ``UnifiedStageGraph.run``: "Uses structured cancellation to ensure proper resource
  cleanup when the pipeline is cancelled or encounters an error" and "Always run cleanup, even
  on success"; ``CleanupRegistry``: "executed in LIFO order". Every cleanup a started stage
  registered runs exactly once, one after another, from the instant the run stops its stages.
  A cancel or timeout that lands on a cleanup interrupts that one cleanup (asyncio delivers
  it there) and the rest still run; the run then ends cancelled (or timed out) as any
  cancelled task does: a reasonable expectation, not a Stageflow sentence.
- Events. docs/api/events.md:141-143 and 175-178 (docs/guides/observability.md:124-126,
  182-184): ``stage.{name}.started``, ``.completed``, ``.failed`` and ``pipeline.started``,
  ``.completed``, ``.failed``, ``.cancelled``; a SKIP output emits ``stage.{name}.skipped``
  (pipeline/dag.py, ``_run_stage``). They go to the context's sink, which is the global sink
  when the context names none (``event_sink`` defaults to ``get_event_sink()``), and carry the
  run's ``pipeline_run_id`` and ``request_id``. A root ``StageContext`` (the run's context
  before 0.9.5) has an "optional event_sink" (0.8.0 core/stage_context.py:5) that defaults to
  None: naming none, it sends nothing anywhere.

Known findings that still reproduce are adopted by id (``deviations``) and switch one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stageflow_verify.models.graph_run import RETRY_STATUS_IGNORED, t7

UNCHECKED_WITHOUT_DEPS = "SF-LIFE-01"  # a stage with no dependencies may read any stage
LIFECYCLE_EVENTS_MISSING = "SF-LIFE-02"  # only stage.X.skipped is ever emitted
CANCEL_IN_CLEANUP_SWALLOWED = "SF-LIFE-03"  # a cancel during cleanup leaves the run's outcome

STATUSES = ("ok", "skip", "cancel", "fail", "retry", "raise")
CLEANUP_WORK = 0.25  # virtual seconds each cleanup callback takes
ABSENT = "zz"  # a stage name no graph has
KEYED = ("get", "get_from", "require_from")  # the reads that validate their key first
Typed = tuple[str, str]  # a value as (type name, repr): 0, False and 0.0 stay apart
# What PipelineResults.data(absent, {"d": 0}) and .output(absent, "default") answer.
DEFAULTS = ((("d", ("int", "0")),), "default")


def typed(value: Any) -> Typed:
    return (type(value).__name__, repr(value))


@dataclass(frozen=True)
class LifeStage:
    name: str
    deps: tuple[str, ...]
    status: str  # one of STATUSES
    work: float
    value: Any  # written under "v": falsy values (0, False, "", []) are drawn on purpose
    reads: tuple[tuple[str, str, str], ...]  # (method, stage read, key) made on starting


@dataclass(frozen=True)
class LifeGraph:
    stages: tuple[LifeStage, ...]
    named_sink: bool  # the context names its own event sink (else the global one serves)

    def stage(self, name: str) -> LifeStage:
        return next(s for s in self.stages if s.name == name)


@dataclass(frozen=True)
class LifeObservation:
    """``outcome``: ok, failed, cancelled (by a stage), cancelled_outside or timeout."""

    outcome: str
    stage: str | None  # the stage that failed or cancelled the run
    stopped: float  # when the run stopped its stages (a terminal stage's end, or the cancel)
    end: float  # when run() returned or raised
    started: tuple[tuple[str, float], ...]
    reads: tuple[tuple[str, str, str, str, Any], ...]  # (stage, method, target, key, answer)
    results: tuple[Any, ...] | None  # accessor answers; None when no results reach the caller
    cleanups: tuple[tuple[float, float | None], ...]  # (start, end or None if interrupted)
    events: tuple[tuple[str, str, str | None, str | None, float], ...]  # sink, type, ids, t


def output_of(stage: LifeStage) -> tuple[str, tuple[tuple[str, Typed], ...], str | None]:
    """The StageOutput a stage returns, as (status, typed data items, error)."""
    data: dict[str, Any] = {"v": stage.value}
    error = None
    if stage.status == "skip":
        data = {"reason": f"{stage.name} skips", **data}
    elif stage.status == "cancel":
        data = {"cancel_reason": f"{stage.name} cancels", **data}
    elif stage.status in ("fail", "retry"):
        error = f"{stage.name} {stage.status}s"
    status = "ok" if stage.status == "raise" else stage.status
    return status, tuple(sorted((k, typed(v)) for k, v in data.items())), error


def results_answers(present: dict[str, LifeStage], names: tuple[str, ...]) -> tuple[Any, ...]:
    """What ``PipelineResults`` answers for every name, given the outputs it holds."""
    answers: list[Any] = []
    for name in (*names, ABSENT):
        stage = present.get(name)
        if stage is None:
            # data(name, default) and output(name, default) hand back the default given
            # (pipeline/results.py signatures; "Return a stage output if present").
            answers.append((name, "KeyError", None, "KeyError", False, "KeyError", DEFAULTS))
            continue
        out = output_of(stage)
        status, data, error = out
        # require_ok's detail: "output.error or data['reason'] or data['cancel_reason']"
        words = {"skip": "skips", "cancel": "cancels"}.get(stage.status)
        detail = error or (f"{name} {words}" if words else None)
        require_ok = "ok" if status == "ok" else ("RuntimeError", status, detail)
        answers.append((name, out, out, data, status == "ok", require_ok, (data, out)))
    failed = tuple(sorted(n for n, s in present.items() if output_of(s)[0] == "fail"))
    return (*answers, ("failed()", failed))


def dict_answers(present: dict[str, LifeStage], names: tuple[str, ...]) -> tuple[Any, ...]:
    """What the dict a run returns before 1.0.0 holds for every name, and its keys."""
    held = tuple((n, output_of(present[n]) if n in present else None) for n in (*names, ABSENT))
    return (*held, ("keys", tuple(sorted(present))))


def terminal(stage: LifeStage, deviations: frozenset[str]) -> bool:
    """Does this stage's end end the run? Unretried, RETRY is a failure (models.graph_run)."""
    if stage.status == "retry":
        return RETRY_STATUS_IGNORED not in deviations
    return stage.status in ("cancel", "fail", "raise")


def schedule(graph: LifeGraph, deviations: frozenset[str]) -> tuple[dict[str, float], float]:
    """Start instants of the stages that start, and when a terminal stage ends the run."""
    ends: dict[str, float] = {}
    starts: dict[str, float] = {}
    for stage in graph.stages:  # stages come in dependency order (earlier names only)
        if all(d in ends for d in stage.deps):
            starts[stage.name] = max((ends[d] for d in stage.deps), default=0.0)
            ends[stage.name] = starts[stage.name] + stage.work
    stop = min(
        (ends[s.name] for s in graph.stages if s.name in ends and terminal(s, deviations)),
        default=max(ends.values()),
    )
    # A stage whose dependencies finish after the run stopped never starts.
    return {n: t for n, t in starts.items() if t < stop}, stop


def answer(
    stage: LifeStage,
    graph: LifeGraph,
    ends: dict[str, float],
    read: tuple[str, str, str],
    deviations: frozenset[str],
) -> Any:
    method, target, key = read
    deps = stage.deps
    if method == "prior_outputs":
        return tuple(sorted(deps))
    if key == "" and method in KEYED:
        return "ValueError"  # docs/api/inputs.md:113: 'ValueError: StageInputs key cannot be empty'
    if method == "get":
        firsts = sorted(deps, key=lambda d: ends[d])
        return next((typed(graph.stage(d).value) for d in firsts if key == "v"), "default")
    unchecked = not deps and UNCHECKED_WITHOUT_DEPS in deviations
    if target not in deps and not unchecked:
        return "UndeclaredDependencyError"
    if target not in deps:  # SF-LIFE-01: not checked, and nothing there
        missing = {"get_from": "default", "get_output": None, "has_output": False}
        return missing.get(method, "KeyError")  # require_from: 'KeyError: If stage has no output'
    if method == "has_output":
        return True
    if method == "get_output":
        return output_of(graph.stage(target))
    if key == "v":
        return typed(graph.stage(target).value)
    return "KeyError" if method == "require_from" else "default"


def predict(
    graph: LifeGraph,
    deviations: frozenset[str],
    cancel_at: float | None = None,
    how: str = "cancel",
    run_ids: tuple[str, str] = ("", ""),
    cleanups_registered: bool = True,
    results_api: bool = True,
    global_sink_default: bool = True,
) -> LifeObservation:
    """``results_api``: run() returns PipelineResults (else a dict, before 1.0.0);
    ``global_sink_default``: a context naming no sink uses the global one (else none)."""
    starts, natural = schedule(graph, deviations)
    ends = {n: t + graph.stage(n).work for n, t in starts.items()}
    outside = cancel_at is not None and cancel_at < natural
    stopped = cancel_at if outside and cancel_at is not None else natural
    started = {n: t for n, t in starts.items() if t < stopped}
    ender = next(
        (s for s in graph.stages if ends.get(s.name) == natural and terminal(s, deviations)), None
    )
    outcome, who = "ok", None
    if outside:
        outcome = "timeout" if how == "wait_for" else "cancelled_outside"
    elif ender is not None:
        outcome = "cancelled" if ender.status == "cancel" else "failed"
        who = ender.name
    # Cleanups: one per started stage, back to back from `stopped`; a pending cancel cuts one.
    cleanups: list[tuple[float, float | None]] = []
    t, pending = stopped, cancel_at if not outside else None
    for _ in started if cleanups_registered else ():
        if pending is not None and t < pending < t + CLEANUP_WORK:
            cleanups.append((t7(t), None))
            t, pending = pending, None
            if CANCEL_IN_CLEANUP_SWALLOWED not in deviations:
                outcome, who = ("timeout" if how == "wait_for" else "cancelled_outside"), None
        else:
            cleanups.append((t7(t), t7(t + CLEANUP_WORK)))
            t += CLEANUP_WORK
    reads = tuple(
        sorted(
            (n, m, tg, k, answer(graph.stage(n), graph, ends, (m, tg, k), deviations))
            for n in started
            for m, tg, k in graph.stage(n).reads
        )
    )
    done = {s.name: s for s in graph.stages if s.name in ends and ends[s.name] <= stopped}
    names = tuple(s.name for s in graph.stages)
    # A failed run raises; a run a stage cancelled hands its partial results in the exception.
    answers = results_answers if results_api else dict_answers
    results = answers(done, names) if outcome in ("ok", "cancelled") else None
    silent = not graph.named_sink and not global_sink_default
    return LifeObservation(
        outcome,
        who,
        t7(stopped),
        t7(t),
        tuple(sorted((n, t7(s)) for n, s in started.items())),
        reads,
        results,
        tuple(cleanups),
        () if silent else events(graph, started, ends, stopped, outcome, deviations, run_ids),
    )


def events(
    graph: LifeGraph,
    started: dict[str, float],
    ends: dict[str, float],
    stopped: float,
    outcome: str,
    deviations: frozenset[str],
    ids: tuple[str, str],
) -> tuple[tuple[str, str, str | None, str | None, float], ...]:
    """Events emitted up to the instant the run stopped its stages (later ones come from
    stages the run left running, SF-RUN-04/10, which the graph machine follows)."""
    sink = "ctx" if graph.named_sink else "global"
    kinds = {
        "ok": "completed",
        "skip": "skipped",
        "cancel": "completed",  # "cancel() -- Stop the pipeline (not an error)": stages.md:720
        "fail": "failed",
        "raise": "failed",
        "retry": "completed" if RETRY_STATUS_IGNORED in deviations else "failed",
    }
    out: list[tuple[str, str, str | None, str | None, float]] = []
    for name, start in started.items():
        stage = graph.stage(name)
        done = ends[name] <= stopped
        if LIFECYCLE_EVENTS_MISSING in deviations:
            if done and stage.status == "skip":
                out.append((sink, f"stage.{name}.skipped", *ids, t7(ends[name])))
            continue
        out.append((sink, f"stage.{name}.started", *ids, t7(start)))
        if done:
            out.append((sink, f"stage.{name}.{kinds[stage.status]}", *ids, t7(ends[name])))
    if LIFECYCLE_EVENTS_MISSING not in deviations:
        last = {"ok": "completed", "failed": "failed"}.get(outcome, "cancelled")
        out += [
            (sink, "pipeline.started", *ids, 0.0),
            (sink, f"pipeline.{last}", *ids, t7(stopped)),
        ]
    return tuple(sorted(out, key=lambda e: (e[4], e[1])))
