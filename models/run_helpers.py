"""The run helpers of ``stageflow.helpers.run_utils`` as a pure model: what ``PipelineRunner``
(and ``run_simple_pipeline``) hand back for a chain of stages, and what a reader of the
``RunResult``, its ``to_dict`` and the printed output may rely on.

A :class:`HelperRun` is a chain ``s0 -> s1 -> ...``, each stage returning data, raising or
cancelling the run, run once through the helper chosen. Every rule quotes its basis
(``stageflow/helpers/run_utils.py``):

- ``RunResult`` (287-299): "success: Whether the pipeline completed successfully", "stages:
  Dict of stage name to output data", "error_type: Exception type name if failed",
  "cancelled: Whether pipeline was cancelled by a stage", "cancel_reason", "pipeline_run_id:
  The pipeline run identifier". A run a stage cancels completed: it is a success with the
  outputs produced up to and including the cancelling stage; a failed run has no stages.
- ``to_dict`` (311 "Convert to dictionary."): success, stages and duration always; error and
  error_type when it failed; cancelled and cancel_reason when cancelled; the run id as text.
- ``get_stage_data(stage, key, default)`` (328 "Get data from a specific stage's output").
- ``capture`` (164 "Store events for later access"), ``verbose`` (376 "Print events during
  execution"), ``colorize`` (377 "Use ANSI colors in output"): nothing is printed unless
  verbose; no ANSI escape is printed unless colorize.
- ``create_snapshot`` (417-433): each id "(default: new UUID)" unless given; ``org_id`` has no
  default; "channel: Channel identifier" is kept in the snapshot's metadata.
- ``run(pipeline_ctx=..., snapshot=...)`` with both is refused (ValueError, 488-489).
- ``run_simple_pipeline`` (675 "metadata: Optional metadata dict to include in snapshot"):
  the metadata reaches the snapshot. SF-HELP-01 (adopted while it reproduces): any metadata
  raises TypeError, and so does ``run(metadata=...)`` (run's "**snapshot_kwargs: Additional
  snapshot creation args", 473).
- The instruments watch a run and leave its result alone (``enable_memory_tracker: Enable
  memory growth tracking``, 380). SF-HELP-02 (adopted while it reproduces): with
  ``memory_tracker_auto_start=False`` (382 "Whether to auto-start the memory tracker") every
  run raises RuntimeError, and nothing public starts the runner's tracker. SF-HELP-04 (adopted
  while it reproduces): where a built graph has no interceptor stack (before 0.9.6), either
  hardening option (383-384) makes every run raise AttributeError.
- Hardening is the runner's ("enable_immutability_check: Enable deep context immutability
  validation", 383), and run() says so of the graph it is given (535 "Create a new list to
  avoid mutating the graph's defaults", 547 "We must monkey-patch the graph instance for this
  run"): a built graph reused across runs is checked only by the runs of a hardened runner, once
  each. SF-HELP-05 (adopted while it reproduces): each hardened run prepends its interceptors to
  the graph for good, so a later run logs one violation per hardened run before it, hardened
  or not.
"""

from __future__ import annotations

from dataclasses import dataclass

BEHAVIOURS = ("ok", "raise", "cancel")
METADATA_REFUSED = "SF-HELP-01"
IDLE_TRACKER_RAISES = "SF-HELP-02"
STAGE_EVENTS_BY_SUBSTRING = "SF-HELP-03"
HARDENING_CRASHES = "SF-HELP-04"
HARDENING_STAYS = "SF-HELP-05"
HARDENINGS = ("none", "immutability", "size", "both")  # the runner's hardening options
CANCEL_REASON = "enough"


@dataclass(frozen=True)
class HelperRun:
    stages: tuple[str, ...]  # BEHAVIOURS, one per stage of the chain s0 -> s1 -> ...
    verbose: bool
    colorize: bool
    capture: bool
    pipeline_as: str  # "pipeline" | "graph" | "specs"
    context_as: str  # "kwargs" | "ids" | "snapshot" | "pipeline_ctx" | "both" | "metadata"
    simple: bool  # through run_simple_pipeline (which always captures, quiet unless verbose)
    long_text: bool
    # "none", or a UUID monitor, a memory tracker and the hardening interceptors, the tracker
    # "started" by the runner (memory_tracker_auto_start=True) or left "idle" (False)
    instruments: str


@dataclass(frozen=True)
class HelperResult:
    raised: str | None  # the exception class that left the helper, if one did
    success: bool
    stages: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]
    error_type: str | None
    cancelled: bool
    cancel_reason: str | None
    to_dict_keys: tuple[str, ...]


def stage_name(index: int) -> str:
    return f"s{index}"


def output_data(index: int, behaviour: str) -> tuple[tuple[str, object], ...]:
    if behaviour == "cancel":
        return (("cancel_reason", CANCEL_REASON),)  # StageOutput.cancel(reason=...)'s data
    return (("index", index), ("zero", 0))  # a falsy value is data too


def predict(run: HelperRun, deviations: frozenset[str]) -> HelperResult:
    if run.context_as == "both":
        return HelperResult("ValueError", False, (), None, False, None, ())
    if (run.context_as == "metadata" or (run.simple and run.context_as == "ids")) and (
        METADATA_REFUSED in deviations
    ):
        return HelperResult("TypeError", False, (), None, False, None, ())
    if run.instruments == "idle" and IDLE_TRACKER_RAISES in deviations:
        return HelperResult("RuntimeError", False, (), None, False, None, ())
    if run.instruments == "started" and HARDENING_CRASHES in deviations:
        return HelperResult("AttributeError", False, (), None, False, None, ())
    done: list[tuple[str, tuple[tuple[str, object], ...]]] = []
    for i, behaviour in enumerate(run.stages):
        if behaviour == "raise":
            keys = ("success", "stages", "duration_ms", "error", "error_type", "pipeline_run_id")
            return HelperResult(None, False, (), "UnifiedStageExecutionError", False, None, keys)
        done.append((stage_name(i), output_data(i, behaviour)))
        if behaviour == "cancel":
            keys = (
                "success",
                "stages",
                "duration_ms",
                "cancelled",
                "cancel_reason",
                "pipeline_run_id",
            )
            return HelperResult(None, True, tuple(done), None, True, CANCEL_REASON, keys)
    plain: tuple[str, ...] = ("success", "stages", "duration_ms", "pipeline_run_id")
    return HelperResult(None, True, tuple(done), None, False, None, plain)


def stage_events(
    kept: list[tuple[str, dict[str, object]]], stage: str, deviations: frozenset[str]
) -> list[str]:
    """``ObservableEventSink.get_stage_events(stage)`` (277 "Get events for a specific
    stage"): the events whose data names the stage, or whose type does as one of its dotted
    parts (``stage.{name}.completed``). SF-HELP-03 (adopted while it reproduces): any event
    whose type contains the name anywhere, so "a" matches ``stage.b.completed``."""
    if STAGE_EVENTS_BY_SUBSTRING in deviations:
        return [t for t, d in kept if d.get("stage") == stage or stage in t]
    return [t for t, d in kept if d.get("stage") == stage or stage in t.split(".")]


def printed_claims(run: HelperRun, printed: str, event_types: tuple[str, ...]) -> list[str]:
    """What is wrong with what the helper printed, as sentences (empty when nothing is)."""
    wrong = []
    verbose = run.verbose
    if not verbose and printed:
        wrong.append(f"printed while not verbose: {printed[:120]!r}")
    if verbose and not run.colorize and "\033[" in printed:
        wrong.append("printed ANSI escapes with colorize=False")
    if verbose:
        missing = [t for t in event_types if t not in printed]
        if missing:
            wrong.append(f"verbose, yet these captured events were not printed: {missing}")
    return wrong


@dataclass(frozen=True)
class ReuseRun:
    """One run of a graph the user keeps: through a runner with the hardening drawn ("none" is
    a plain runner), or through ``graph.run`` itself; its stage mutates the snapshot or not."""

    hardening: str  # HARDENINGS
    direct: bool  # graph.run(ctx), no runner (drawn with hardening "none" only)
    mutates: bool  # the stage appends to a list in the snapshot's extensions


def violations_logged(
    runs: tuple[ReuseRun, ...], reused: str, deviations: frozenset[str]
) -> list[int]:
    """How many "Immutability violation" records each run logs (run_with_interceptors logs an
    interceptor's after() error and the stage still succeeds, interceptors.py:551): one where a
    hardened runner checks immutability and the stage mutates, else none. ``reused`` is
    "graph" (one built graph given to every run) or "pipeline" (the runner builds it anew)."""
    checks = 0  # the ImmutabilityInterceptors on the reused graph
    logged = []
    for run in runs:
        checking = run.hardening in ("immutability", "both")
        if HARDENING_STAYS in deviations and reused == "graph":
            checks += checking
            now = checks
        else:
            now = int(checking)
        logged.append(now if run.mutates else 0)
    return logged
