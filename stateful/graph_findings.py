"""Known findings about graph runs (``Pipeline.build()`` / ``UnifiedStageGraph.run``).

Every reproducer is plain Stageflow code given the imported ``stageflow`` package as ``sf``,
runs its own ``asyncio.run`` with sleeps of a few milliseconds, and returns True while the
violation is there. ``stateful/graph_machine.py`` adopts the ones that still reproduce as
deviations of its model (``models/graph_run.py`` names the rule each one breaks), except
SF-RUN-09, which the machine sidesteps by never passing an empty interceptor list.

The reproducers run on 0.5.1 too: :func:`_context` builds the root context a graph of that
version runs on, and stages are declared with ``StageKind`` members (0.5.1 logs
``kind.value``, so a plain string fails every stage there). A finding about a concept 0.5.1
lacks is N/A there (``applies``): RetryInterceptor (SF-RUN-01, 03) and an interceptor stack in
built graphs (SF-RUN-09; 0.5.1's ``UnifiedStageGraph`` runs none; 0.9.x ships RetryInterceptor
but its ``build()`` takes no interceptors until 0.9.6). SF-RUN-08 is shown there through the
legacy ``StageGraph``, which runs the default interceptors on every release. SF-RUN-02
reproduces on 0.5.1 without a retrier (there is none): a RETRY output is still not a failure.
SF-RUN-10 does not reproduce before 0.8.0, whose graph raised a FAIL output from inside the
stage task and so cancelled the siblings; 0.8.0's guard-retry loop returns the FAIL output from
the task and raises UnifiedStageExecutionError from the loop, leaving the siblings running.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
from types import ModuleType
from typing import Any

import core.sut.graphs  # noqa: F401  (silences Stageflow's per-stage error logs)
from core.run.checks import Finding
from models import graph_run as model

CHECK = "graphs.run_dag"


def _needs_interceptor_stack(sf: ModuleType) -> str | None:
    if "interceptors" not in inspect.signature(sf.Pipeline.build).parameters:
        return "Pipeline.build() takes no interceptors: this stageflow's built graph runs none"
    return None


def _needs_retry(sf: ModuleType) -> str | None:
    # 0.9.x ships stageflow.pipeline.retry while its built graph takes no interceptors: the
    # reproducers install a RetryInterceptor in a built graph, so they need both.
    if importlib.util.find_spec("stageflow.pipeline.retry") is None:
        return "this stageflow has no RetryInterceptor (no stageflow.pipeline.retry)"
    return _needs_interceptor_stack(sf)


def _context(sf: ModuleType, **fields: Any) -> Any:
    """The root context of one run: ``PipelineContext.create`` where it exists; 0.5.1 runs a
    built graph on a root StageContext, made as its own PipelineRunner makes one."""
    if hasattr(sf.PipelineContext, "create"):
        return sf.PipelineContext.create(**fields)
    if hasattr(sf.PipelineContext, "derive_root_stage_context"):
        # 0.9.5 and 0.9.6 run a graph on a PipelineContext but have no create(): build what
        # create() builds, data included (SF-RUN-09's _timeout_ms must reach the interceptor).
        ids = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id")
        unset: dict[str, Any] = dict.fromkeys((*ids, "interaction_id"))
        return sf.PipelineContext(**{**unset, **fields})
    snapshot = sf.context.ContextSnapshot(input_text=fields.get("input_text"))
    root = "__pipeline_root__"
    inputs = sf.create_stage_inputs(snapshot, prior_outputs={}, declared_deps=(), stage_name=root)
    return sf.StageContext(
        snapshot=snapshot, inputs=inputs, stage_name=root, timer=sf.PipelineTimer()
    )


def _retry(sf: ModuleType, attempts: int) -> Any:
    from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

    return RetryInterceptor(
        max_attempts=attempts, base_delay_ms=1, jitter_strategy=JitterStrategy.NONE
    )


def _outcome(sf: ModuleType, graph: Any, **data: Any) -> Any:
    async def main() -> Any:
        try:
            return await graph.run(_context(sf, data=data))
        except Exception as exc:
            return exc

    return asyncio.run(main())


def retry_stops_after_two_attempts(sf: ModuleType) -> bool:
    calls = []

    async def flaky(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("transient")
        return sf.StageOutput.ok()

    graph = (
        sf.Pipeline()
        .with_stage("a", flaky, sf.StageKind.TRANSFORM)
        .build(interceptors=[_retry(sf, 5)])
    )
    return isinstance(_outcome(sf, graph), Exception) and len(calls) == 2


def retry_output_is_a_success(sf: ModuleType) -> bool:
    ran = []

    async def asks(ctx: Any) -> Any:
        return sf.StageOutput.retry("try again")

    async def after(ctx: Any) -> Any:
        ran.append(1)

    pipeline = (
        sf.Pipeline()
        .with_stage("a", asks, sf.StageKind.TRANSFORM)
        .with_stage("b", after, sf.StageKind.TRANSFORM, dependencies=("a",))
    )
    # With a RetryInterceptor where there is one; 0.5.1 has none (nor any interceptor in a
    # built graph), and an unretried RETRY is still "Stage failed".
    retrier = _needs_retry(sf) is None
    graph = pipeline.build(interceptors=[_retry(sf, 3)]) if retrier else pipeline.build()
    results = _outcome(sf, graph)
    return not isinstance(results, Exception) and results["a"].status == "retry" and ran == [1]


def timeout_error_is_not_retried(sf: ModuleType) -> bool:
    calls = []

    async def slow_upstream(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("upstream timed out")
        return sf.StageOutput.ok()

    stage = sf.Pipeline().with_stage("a", slow_upstream, sf.StageKind.TRANSFORM)
    outcome = _outcome(sf, stage.build(interceptors=[_retry(sf, 3)]))
    return isinstance(outcome, Exception) and len(calls) == 1


def cancelled_run_keeps_running(sf: ModuleType) -> bool:
    finished = []

    async def work(ctx: Any) -> Any:
        await asyncio.sleep(0.05)
        finished.append(1)

    async def main() -> None:
        graph = sf.Pipeline().with_stage("a", work, sf.StageKind.TRANSFORM).build()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(graph.run(_context(sf)), 0.01)
        await asyncio.sleep(0.1)  # the run is over; nothing of it may still be working

    asyncio.run(main())
    return finished == [1]


def failed_output_leaves_siblings_running(sf: ModuleType) -> bool:
    finished = []

    async def fails(ctx: Any) -> Any:
        await asyncio.sleep(0.01)
        return sf.StageOutput.fail(error="invalid")

    async def sibling(ctx: Any) -> Any:
        await asyncio.sleep(0.05)
        finished.append(1)

    async def main() -> bool:
        graph = (
            sf.Pipeline()
            .with_stage("check", fails, sf.StageKind.TRANSFORM)
            .with_stage("work", sibling, sf.StageKind.TRANSFORM)
            .build()
        )
        try:
            await graph.run(_context(sf))
        except sf.pipeline.dag.UnifiedStageExecutionError:
            await asyncio.sleep(0.1)  # the run has failed; its sibling must not finish now
            return finished == [1]
        return False

    return asyncio.run(main())


def failing_run_cancels_concurrent_run(sf: ModuleType) -> bool:
    async def quick(ctx: Any) -> Any:
        await asyncio.sleep(0.01 if ctx.snapshot.input_text == "bad" else 0.03)
        if ctx.snapshot.input_text == "bad":
            raise ValueError("bad input")

    async def slow(ctx: Any) -> Any:
        try:
            await asyncio.sleep(0.1)
        finally:  # closing a stream, say: while it does, the failed run is still ending
            await asyncio.sleep(0.04)

    async def main() -> Any:
        graph = (
            sf.Pipeline()
            .with_stage("quick", quick, sf.StageKind.TRANSFORM)
            .with_stage("slow", slow, sf.StageKind.TRANSFORM)
            .build()
        )

        async def one(text: str) -> Any:
            try:
                return await graph.run(_context(sf, input_text=text))
            except Exception as exc:
                return exc

        return await asyncio.gather(one("bad"), one("good"))

    _, good = asyncio.run(main())
    # 1.2.0 stops it with UnifiedPipelineCancelled; 0.5.1 resets the shared token to None when
    # the failed run ends, so the stopped run, reading the token's reason, raises AttributeError.
    crashed = isinstance(good, AttributeError) and "attribute 'reason'" in str(good)
    return type(good).__name__ == "UnifiedPipelineCancelled" or crashed


def cleanup_runs_at_the_other_runs_end(sf: ModuleType) -> bool:
    events: list[str] = []
    holder: dict[str, Any] = {}

    async def stage(ctx: Any) -> Any:
        label = ctx.snapshot.input_text

        async def cleanup() -> None:
            events.append(f"cleanup {label}")

        holder["graph"].register_cleanup(cleanup)
        await asyncio.sleep(0.01 if label == "A" else 0.04)

    async def main() -> None:
        holder["graph"] = sf.Pipeline().with_stage("s", stage, sf.StageKind.TRANSFORM).build()

        async def one(label: str) -> None:
            await holder["graph"].run(_context(sf, input_text=label))
            events.append(f"end {label}")

        await asyncio.gather(one("A"), one("B"))

    asyncio.run(main())
    return events.index("cleanup B") < events.index("end A") < events.index("end B")


def stage_changes_what_its_sibling_receives(sf: ModuleType) -> bool:
    received = {}

    async def produce(ctx: Any) -> Any:
        return sf.StageOutput.ok(items=[1])

    async def mutate(ctx: Any) -> Any:
        ctx.inputs.get_output("p").data["items"].append(2)

    async def read(ctx: Any) -> Any:
        await asyncio.sleep(0.01)
        received["items"] = list(ctx.inputs.get_output("p").data["items"])

    graph = (
        sf.Pipeline()
        .with_stage("p", produce, sf.StageKind.TRANSFORM)
        .with_stage("m", mutate, sf.StageKind.TRANSFORM, dependencies=("p",))
        .with_stage("r", read, sf.StageKind.TRANSFORM, dependencies=("p",))
        .build()
    )
    results = _outcome(sf, graph)
    return received["items"] == [1, 2] and results["p"].data["items"] == [1, 2]


def _has_a_breaker(sf: ModuleType) -> str | None:
    if _needs_interceptor_stack(sf) is None or hasattr(sf.pipeline.dag, "StageGraph"):
        return None
    return "neither a built graph nor a legacy StageGraph runs interceptors here"


def open_breaker_through_stage_graph(sf: ModuleType) -> bool:
    """SF-RUN-08 through the legacy StageGraph, which runs the default interceptors on every
    release that ships it (0.5.1's built graph runs none). Runners are classes: 0.5.1's
    StageGraph instantiates each one."""
    ran = []

    class Broken:
        async def execute(self, ctx: Any) -> Any:
            ran.append(1)
            raise ValueError("down")

    graph = sf.pipeline.dag.StageGraph([sf.pipeline.dag.StageSpec(name="a", runner=Broken)])
    ids = dict.fromkeys(("request_id", "session_id", "user_id", "org_id", "interaction_id"))
    results = [
        asyncio.run(graph.run(sf.PipelineContext(pipeline_run_id=None, **ids))) for _ in range(4)
    ]
    opened = [r["a"].status for r in results[:3]] == ["failed"] * 3 and len(ran) == 3
    return opened and results[3]["a"].status == "completed"


def open_breaker_reports_success(sf: ModuleType) -> bool:
    if _needs_interceptor_stack(sf) is not None:
        return open_breaker_through_stage_graph(sf)
    ran = []

    async def broken(ctx: Any) -> Any:
        ran.append(1)
        raise ValueError("down")

    graph = sf.Pipeline().with_stage("a", broken, sf.StageKind.TRANSFORM).build()
    outcomes = [_outcome(sf, graph) for _ in range(3)]  # two failures each: the breaker opens
    fourth = _outcome(sf, graph)
    opened = all(isinstance(o, Exception) for o in outcomes) and len(ran) == 3
    return opened and not isinstance(fourth, Exception) and fourth["a"].status == "ok"


def empty_interceptor_list_installs_defaults(sf: ModuleType) -> bool:
    async def work(ctx: Any) -> Any:
        await asyncio.sleep(0.05)

    graph = sf.Pipeline().with_stage("a", work, sf.StageKind.TRANSFORM).build(interceptors=[])
    # Only TimeoutInterceptor reads _timeout_ms: with no interceptors the stage cannot time out.
    return isinstance(_outcome(sf, graph, _timeout_ms=10), Exception)


def _finding(
    id: str, title: str, promise: str, observed: str, reproduce: Any, *,
    versions: tuple[str, ...] = ("1.2.0",), applies: Any = None,
) -> Finding:  # fmt: skip
    extra = {} if applies is None else {"applies": applies}
    return Finding(id, title, versions, CHECK, promise, observed, reproduce, **extra)


FINDINGS = [
    _finding(
        model.RETRY_ONCE,
        "RetryInterceptor makes at most two attempts, whatever max_attempts says",
        "RetryInterceptor: 'max_attempts: Maximum retry attempts (including initial)'; its "
        "example configures max_attempts=5.",
        "run_with_interceptors acts on ErrorAction.RETRY once ('Simple retry - could add backoff "
        "in future'): the retried attempt's exception becomes a failed result and on_error is "
        "never asked again, so a stage failing twice fails the run with max_attempts=5.",
        retry_stops_after_two_attempts,
        applies=_needs_retry,
    ),
    _finding(
        model.RETRY_STATUS_IGNORED,
        "StageOutput.retry() is neither retried nor a failure: the run goes on as if it was OK",
        "StageStatus.RETRY: 'Stage failed but is retryable'; RetryInterceptor: 'retry_on_status: "
        "StageResult status values that trigger retry' (default ('retry',)).",
        "_stage_output_to_result maps every status but FAIL to 'completed', so no StageResult "
        "ever has status 'retry': the stage runs once, its dependents run on its output, and "
        "the results hold a RETRY output in a successful run.",
        retry_output_is_a_success,
        versions=("0.5.1", "1.2.0"),
    ),
    _finding(
        model.TIMEOUT_NOT_RETRIED,
        "TimeoutError, listed as retryable, is never retried (raised by a stage or a timeout)",
        "RetryInterceptor.DEFAULT_RETRYABLE = (TimeoutError, ConnectionError, OSError, "
        "asyncio.TimeoutError); 'retryable_errors: Exception types that trigger retry'.",
        "run_with_interceptors catches TimeoutError before the error phase and reports 'Stage "
        "timed out after 30000ms' (even when the stage raised it itself); on_error is never "
        "called, so neither a stage's TimeoutError nor a TimeoutInterceptor timeout is retried.",
        timeout_error_is_not_retried,
        applies=_needs_retry,
    ),
    _finding(
        model.ORPHANED_STAGES,
        "A cancelled or timed-out run leaves its stages running after it has ended",
        "UnifiedStageGraph: 'Cancellation support with structured cleanup'; run(): 'Uses "
        "structured cancellation to ensure proper resource cleanup when the pipeline is "
        "cancelled'. A user expects a cancelled run to stop its work.",
        "run() awaits asyncio.wait(active_tasks); cancelling it (task.cancel, wait_for, a parent "
        "stage that spawned the graph being cancelled) never cancels the stage tasks: they "
        "finish, retry and update the circuit breaker after the run is over, unobserved.",
        cancelled_run_keeps_running,
        versions=("0.5.1", "1.2.0"),
    ),
    _finding(
        model.SHARED_CANCEL_TOKEN,
        "A failing run cancels a concurrent run of the same built graph",
        "Nothing documents that a built graph runs once at a time; a user expects two runs with "
        "two contexts to be independent (Pipeline.run builds per call, build() is for reuse).",
        "run() keeps its CancellationToken in self._cancel_token: a run started later replaces "
        "it, and when the earlier run fails it cancels the later run's token, which then stops "
        "with UnifiedPipelineCancelled('<external>', 'Stage failed'). 0.5.1 also sets "
        "self._cancel_token = None when the failed run ends: a stopped run still cancelling its "
        "stages then reads None.reason and raises AttributeError instead.",
        failing_run_cancels_concurrent_run,
        versions=("0.5.1", "1.2.0"),
    ),
    _finding(
        model.SHARED_CLEANUP,
        "Concurrent runs share one cleanup registry: one run's end runs the other's cleanups",
        "register_cleanup: 'Register a cleanup callback for the current execution'; run(): "
        "'Always run cleanup, even on success' (at the end of that run).",
        "The registry is self._cleanup_registry, replaced by each run and set to None by the "
        "first run to end: the other run's cleanups run while it is still working, and the ones "
        "it registers afterwards are silently dropped.",
        cleanup_runs_at_the_other_runs_end,
        versions=("0.5.1", "1.2.0"),
    ),
    _finding(
        model.SHARED_OUTPUTS,
        "A stage can change what its sibling stages receive, and the run's results",
        "StageInputs: 'Immutable: frozen=True prevents accidental mutation'; 'Only declared "
        "dependency outputs are accessible'.",
        "prior_outputs hold the producing stage's own StageOutput, whose data dict is shared: a "
        "dependent's in-place change shows in every other dependent and in PipelineResults.",
        stage_changes_what_its_sibling_receives,
        versions=("0.5.1", "1.2.0"),
    ),
    _finding(
        model.OPEN_BREAKER_OK,
        "An open circuit breaker reports a stage that never ran as OK, with empty data",
        "InterceptorResult: 'If stage_ran is False, the stage is skipped'; a circuit breaker "
        "fails fast. A user expects a stage that did not run not to be reported as a success.",
        "run_with_interceptors turns the short-circuit into status 'completed' ('Interceptor "
        "result is treated as success'), dropping its error: after three failed runs (each "
        "failure counts twice) the fourth run succeeds with StageOutput.ok({}) and resets it. "
        "Where built graphs run no interceptors (0.5.1), the legacy StageGraph shows it: the "
        "fourth run's StageResult is 'completed'.",
        open_breaker_reports_success,
        versions=("0.5.1", "1.2.0"),
        applies=_has_a_breaker,
    ),
    _finding(
        "SF-RUN-09",
        "build(interceptors=[]) silently installs the default interceptors",
        "Pipeline.build: 'interceptors: Optional interceptor stack. If omitted, defaults from "
        "get_default_interceptors() are used.' An empty stack is not an omitted one.",
        "UnifiedStageGraph uses `interceptors or get_default_interceptors()`: an empty list "
        "gets timeouts, the circuit breaker and idempotency all the same.",
        empty_interceptor_list_installs_defaults,
        applies=_needs_interceptor_stack,
    ),
    _finding(
        model.ORPHANED_ON_FAIL,
        "A stage returning StageOutput.fail() (or timing out) fails the run but not its siblings",
        "StageStatus.FAIL: 'Stage failed (error)'; run() cancels the remaining tasks when a "
        "stage fails ('Cancel remaining tasks'), and a failed run stops its work.",
        "Only a stage that raises takes the cancelling path: a FAIL output, a TimeoutInterceptor "
        "timeout and an exhausted guard raise UnifiedStageExecutionError straight from the loop, "
        "leaving the other running stages to finish, retry and count in the breaker unobserved.",
        failed_output_leaves_siblings_running,
    ),
]
