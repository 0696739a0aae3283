"""Known findings about graph runs (``Pipeline.build()`` / ``UnifiedStageGraph.run``).

Every reproducer is plain Stageflow code given the imported ``stageflow`` package as ``sf``,
runs its own ``asyncio.run``, and returns True while the violation is there. None waits on the
clock: an interleaving is forced with ``asyncio.Event``s (and a few ``asyncio.sleep(0)`` yields
to let a stage that should have been stopped run to its end), so the answer is the same on any
machine, however loaded. (RetryInterceptor's own 1 ms backoff is slept, but no answer depends
on its length.) ``stateful/graph_machine.py`` adopts the ones that still reproduce as
deviations of its model (``models/graph_run.py`` names the rule each one breaks), except
SF-RUN-09, which the machine sidesteps by never passing an empty interceptor list.

The reproducers run on 0.5.1 too: :func:`_context` builds the root context a graph of that
version runs on, and stages are declared with ``StageKind`` members (0.5.1 logs
``kind.value``, so a plain string fails every stage there). A finding about a concept 0.5.1
lacks is N/A there (``applies``): RetryInterceptor (SF-RUN-01, 03) and an interceptor stack in
built graphs (SF-RUN-09, 11; 0.5.1's ``UnifiedStageGraph`` runs none; 0.9.x ships
RetryInterceptor but its ``build()`` takes no interceptors until 0.9.6). SF-RUN-08 is shown
there through the legacy ``StageGraph``, which runs the default interceptors on every release.
SF-RUN-02 reproduces on 0.5.1 without a retrier (there is none): a RETRY output is still not a
failure. SF-RUN-10 does not reproduce before 0.8.0, whose graph raised a FAIL output from inside
the stage task and so cancelled the siblings; 0.8.0's guard-retry loop returns the FAIL output
from the task and raises UnifiedStageExecutionError from the loop, leaving the siblings running.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
from types import ModuleType
from typing import Any

import stageflow_verify.core.sut.graphs  # noqa: F401  (silences Stageflow's per-stage error logs)
from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases
from stageflow_verify.models import graph_run as model

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

    async def main() -> None:
        started, release = asyncio.Event(), asyncio.Event()

        async def work(ctx: Any) -> Any:
            started.set()
            await release.wait()  # a stage the run's cancellation should stop here
            finished.append(1)

        graph = sf.Pipeline().with_stage("a", work, sf.StageKind.TRANSFORM).build()
        run = asyncio.create_task(graph.run(_context(sf)))
        await started.wait()
        run.cancel()  # as asyncio.wait_for does on a timeout, or a cancelled parent task
        with contextlib.suppress(asyncio.CancelledError):
            await run
        release.set()  # the run is over: a stage it stopped cannot get past its wait now
        for _ in range(10):  # let a stage that was not stopped run to its end
            await asyncio.sleep(0)

    asyncio.run(main())
    return finished == [1]


def failed_output_leaves_siblings_running(sf: ModuleType) -> bool:
    finished = []

    async def main() -> bool:
        sibling_started, release = asyncio.Event(), asyncio.Event()

        async def fails(ctx: Any) -> Any:
            await sibling_started.wait()
            return sf.StageOutput.fail(error="invalid")

        async def sibling(ctx: Any) -> Any:
            sibling_started.set()
            await release.wait()  # a stage the run's failure should stop here
            finished.append(1)

        graph = (
            sf.Pipeline()
            .with_stage("check", fails, sf.StageKind.TRANSFORM)
            .with_stage("work", sibling, sf.StageKind.TRANSFORM)
            .build()
        )
        try:
            await graph.run(_context(sf))
        except sf.pipeline.dag.UnifiedStageExecutionError:
            release.set()  # the run has failed: a sibling it stopped cannot finish now
            for _ in range(10):
                await asyncio.sleep(0)
            return finished == [1]
        return False

    return asyncio.run(main())


def failing_run_cancels_concurrent_run(sf: ModuleType) -> bool:
    async def main() -> Any:
        good_started, failing, good_over = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def quick(ctx: Any) -> Any:
            if ctx.snapshot.input_text == "bad":
                await good_started.wait()  # both runs are under way
                raise ValueError("bad input")
            good_started.set()
            await failing.wait()  # finishes while the failed run is still ending

        async def slow(ctx: Any) -> Any:
            if ctx.snapshot.input_text == "good":
                await failing.wait()
                return
            try:
                await asyncio.Event().wait()  # until its own run's failure cancels it
            finally:  # closing a stream, say: while it does, the failed run is still ending
                failing.set()
                await good_over.wait()

        async def after(ctx: Any) -> Any:
            pass

        graph = (
            sf.Pipeline()
            .with_stage("quick", quick, sf.StageKind.TRANSFORM)
            .with_stage("slow", slow, sf.StageKind.TRANSFORM)
            .with_stage("after", after, sf.StageKind.TRANSFORM, dependencies=("quick",))
            .build()
        )

        async def one(text: str) -> Any:
            try:
                return await graph.run(_context(sf, input_text=text))
            except Exception as exc:
                return exc
            finally:
                if text == "good":
                    good_over.set()

        return await asyncio.gather(one("bad"), one("good"))

    _, good = asyncio.run(main())
    # 1.2.0 stops it with UnifiedPipelineCancelled; 0.5.1 may also reset the shared token to None
    # while the stopped run still reads the token's reason, which raises AttributeError.
    crashed = isinstance(good, AttributeError) and "attribute 'reason'" in str(good)
    return type(good).__name__ == "UnifiedPipelineCancelled" or crashed


def cleanup_runs_at_the_other_runs_end(sf: ModuleType) -> bool:
    events: list[str] = []
    holder: dict[str, Any] = {}

    async def main() -> None:
        b_registered, a_ended = asyncio.Event(), asyncio.Event()

        async def stage(ctx: Any) -> Any:
            label = ctx.snapshot.input_text

            async def cleanup() -> None:
                events.append(f"cleanup {label}")

            holder["graph"].register_cleanup(cleanup)
            if label == "A":
                await b_registered.wait()  # both runs have registered their cleanup
            else:
                b_registered.set()
                await a_ended.wait()  # run B is still working when run A ends

        holder["graph"] = sf.Pipeline().with_stage("s", stage, sf.StageKind.TRANSFORM).build()

        async def one(label: str) -> None:
            await holder["graph"].run(_context(sf, input_text=label))
            events.append(f"end {label}")
            if label == "A":
                a_ended.set()

        await asyncio.gather(one("A"), one("B"))

    asyncio.run(main())
    return "cleanup B" in events and events.index("cleanup B") < events.index("end A")


def concurrent_runs_share_run_state(sf: ModuleType) -> bool:
    symptoms = [failing_run_cancels_concurrent_run, cleanup_runs_at_the_other_runs_end]
    return any([symptom(sf) for symptom in symptoms])  # each one runs, whatever the first says


def stage_changes_what_its_sibling_receives(sf: ModuleType) -> bool:
    received = {}

    async def main() -> Any:
        mutated = asyncio.Event()

        async def produce(ctx: Any) -> Any:
            return sf.StageOutput.ok(items=[1])

        async def mutate(ctx: Any) -> Any:
            ctx.inputs.get_output("p").data["items"].append(2)
            mutated.set()

        async def read(ctx: Any) -> Any:
            await mutated.wait()  # its sibling has done its work
            received["items"] = list(ctx.inputs.get_output("p").data["items"])

        graph = (
            sf.Pipeline()
            .with_stage("p", produce, sf.StageKind.TRANSFORM)
            .with_stage("m", mutate, sf.StageKind.TRANSFORM, dependencies=("p",))
            .with_stage("r", read, sf.StageKind.TRANSFORM, dependencies=("p",))
            .build()
        )
        return await graph.run(_context(sf))

    results = asyncio.run(main())
    return received.get("items") == [1, 2] and results["p"].data["items"] == [1, 2]


def read_data_writes_bag(sf: ModuleType) -> bool:
    # (was SF-BAG-02) OutputBag hands out the stored StageOutput, whose data is the stored dict.
    bag = sf.context.OutputBag()
    bag.write_sync("stt", sf.StageOutput.ok({"transcript": "hello"}))
    bag.get_output("stt").data["transcript"] = "tampered"
    return bool(bag.get_value("stt", "transcript") == "tampered")


def readers_share_stored_outputs(sf: ModuleType) -> bool:
    symptoms = [stage_changes_what_its_sibling_receives, read_data_writes_bag]
    return any([symptom(sf) for symptom in symptoms])  # each one runs, whatever the first says


def _failing_stage(sf: ModuleType, calls: list[int]) -> Any:
    async def broken(ctx: Any) -> Any:
        calls.append(1)
        raise ValueError("down")

    return sf.Pipeline().with_stage("a", broken, sf.StageKind.TRANSFORM)


def _has_a_breaker(sf: ModuleType) -> str | None:
    if _needs_interceptor_stack(sf) is None or hasattr(sf.pipeline.dag, "StageGraph"):
        return None
    return "neither a built graph nor a legacy StageGraph runs interceptors here"


def _failing_stage_graph(sf: ModuleType, calls: list[int]) -> Any:
    """A legacy StageGraph of one failing stage: it runs the default interceptors on every
    release that ships it (0.5.1's built graph runs none). Runners are classes: 0.5.1's
    StageGraph instantiates each one."""

    class Broken:
        async def execute(self, ctx: Any) -> Any:
            calls.append(1)
            raise ValueError("down")

    return sf.pipeline.dag.StageGraph([sf.pipeline.dag.StageSpec(name="a", runner=Broken)])


def _legacy_run(sf: ModuleType, graph: Any) -> Any:
    ids = dict.fromkeys(("request_id", "session_id", "user_id", "org_id", "interaction_id"))
    return asyncio.run(graph.run(sf.PipelineContext(pipeline_run_id=None, **ids)))


def open_breaker_through_stage_graph(sf: ModuleType) -> bool:
    """SF-RUN-08 through the legacy StageGraph (where built graphs run no interceptors)."""
    calls: list[int] = []
    graph = _failing_stage_graph(sf, calls)
    for _ in range(10):  # fail until the breaker opens, however many failures that takes
        before = len(calls)
        results = _legacy_run(sf, graph)
        if len(calls) == before:  # the stage was not called: the breaker is open
            return bool(results["a"].status == "completed")
    return False


def open_breaker_reports_success(sf: ModuleType) -> bool:
    if _needs_interceptor_stack(sf) is not None:
        return open_breaker_through_stage_graph(sf)
    calls: list[int] = []
    graph = _failing_stage(sf, calls).build()  # the default stack has a circuit breaker
    for _ in range(10):  # fail until the breaker opens, however many failures that takes
        before = len(calls)
        outcome = _outcome(sf, graph)
        if len(calls) == before:  # the stage was not called: the breaker is open
            return not isinstance(outcome, Exception) and outcome["a"].status == "ok"
    return False


def breaker_counts_each_failure_twice(sf: ModuleType) -> bool:
    calls: list[int] = []
    # A built graph where it runs interceptors, else the legacy StageGraph, which always does.
    built = _needs_interceptor_stack(sf) is None
    graph = _failing_stage(sf, calls).build() if built else _failing_stage_graph(sf, calls)
    for _ in range(6):
        before = len(calls)
        if built:
            _outcome(sf, graph)
        else:
            _legacy_run(sf, graph)
        if len(calls) == before:  # the breaker is open
            break
    return len(calls) < 5  # documented: "After 5 failures, circuit opens"


def empty_interceptor_list_installs_defaults(sf: ModuleType) -> bool:
    calls: list[int] = []
    graph = _failing_stage(sf, calls).build(interceptors=[])
    for _ in range(6):  # more failures than the default circuit breaker allows
        _outcome(sf, graph)
    return len(calls) < 6  # with no interceptor, nothing skips the stage: every run calls it


def _finding(
    id: str, title: str, promise: str, observed: str, reproduce: Any, *,
    versions: tuple[str, ...], applies: Any = None, **kw: Any,
) -> Finding:  # fmt: skip
    extra = {} if applies is None else {"applies": applies}
    return Finding(id, title, versions, CHECK, promise, observed, reproduce, **extra, **kw)


_INTERCEPTORS = "stageflow/pipeline/interceptors.py"
_DAG = "stageflow/pipeline/dag.py"

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
        versions=releases("0.9.6"),
        applies=_needs_retry,
        basis=documented(
            (
                "max_attempts: Maximum retry attempts (including initial)",
                "stageflow/pipeline/retry.py:85",
            ),
            ("max_attempts=5,", "stageflow/pipeline/retry.py:50"),
        ),
        severity=Severity(
            "high",
            "the retry feature gives up after one retry whatever it is configured to do, so "
            "transient outages it was set up to absorb fail the run",
        ),
        fix="run_with_interceptors (stageflow/pipeline/interceptors.py:517): loop while "
        "on_error answers RETRY (asking it again with each new exception), instead of one "
        "bare `await stage_run()`.",
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
        versions=releases(),
        basis=documented(
            (
                'RETRY = "retry"  # Stage failed but is retryable',
                "stageflow/core/stage_enums.py:28",
            ),
            (
                "retry_on_status: StageResult status values that trigger retry",
                "stageflow/pipeline/retry.py:91",
            ),
            (
                "Stages can signal retry eligibility via `StageOutput.retry()`:",
                "docs/advanced/retry-backoff.md:381",
            ),
        ),
        severity=Severity(
            "high",
            "silent: a stage that reports a failure the documented way is treated as a "
            "success, and its dependents run on the failed stage's data",
        ),
        fix="UnifiedStageGraph._stage_output_to_result (stageflow/pipeline/dag.py:1073): map "
        "RETRY to status 'retry' (so RetryInterceptor.after sees it), and treat a RETRY that is "
        "not retried as a failure of the run.",
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
        versions=releases("0.9.6"),
        applies=_needs_retry,
        basis=documented(
            (
                "retryable_errors: Exception types that trigger retry",
                "stageflow/pipeline/retry.py:90",
            ),
            ("DEFAULT_RETRYABLE = (", "stageflow/pipeline/retry.py:65"),
            ("TimeoutError,", "stageflow/pipeline/retry.py:66"),
            (
                "| Network timeout | ✅ Yes | Transient connectivity issue |",
                "docs/advanced/retry-backoff.md:11",
            ),
        ),
        severity=Severity(
            "high",
            "timeouts, the commonest transient failure, are never retried, and a stage's own "
            "TimeoutError is misreported as the 30 s stage timeout",
        ),
        fix="run_with_interceptors (stageflow/pipeline/interceptors.py:489): route "
        "TimeoutError through the ERROR phase (on_error) like any exception, and word the "
        "message 'timed out' only for the wait_for timeout itself.",
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
        tags=("interleaving",),
        versions=releases(),
        basis=documented(
            ("Uses structured cancellation to ensure proper resource cleanup", f"{_DAG}:458"),
            ("when the pipeline is cancelled or encounters an error.", f"{_DAG}:459"),
            ("- Cancellation support with structured cleanup", f"{_DAG}:370"),
        ),
        severity=Severity(
            "high",
            "asyncio.wait_for(graph.run(...)) is the ordinary way to bound a run, and its "
            "stages keep calling services and writing after the caller has moved on",
        ),
        fix="UnifiedStageGraph.run (stageflow/pipeline/dag.py:592): on CancelledError (and in "
        "the finally) cancel and await every task in active_tasks before re-raising.",
    ),
    _finding(
        model.SHARED_CANCEL_TOKEN,
        "Concurrent runs of one built graph share its cancellation token and cleanup registry",
        "Nothing documents that a built graph runs once at a time; a user expects two runs with "
        "two contexts to be independent (Pipeline.run builds per call, build() is for reuse), "
        "and register_cleanup registers 'for the current execution'.",
        "run() keeps its CancellationToken and CleanupRegistry on the graph (self._cancel_token, "
        "self._cleanup_registry): a run started later replaces both. When the earlier run fails "
        "it cancels the later run's token, which then stops with "
        "UnifiedPipelineCancelled('<external>', 'Stage failed'); when the earlier run ends it "
        "runs the later run's cleanups while that run still works, and sets both to None, so "
        "the later run's further cleanups are dropped. (0.5.1 can also raise AttributeError "
        "reading None.reason.)",
        concurrent_runs_share_run_state,
        tags=("interleaving",),
        versions=releases(),
        basis=expected(
            "A graph from build() is an object a server builds once and runs per request, each "
            "run with its own context; nothing says a built graph runs one at a time, and "
            "register_cleanup is 'for the current execution', which with two runs going can "
            "only mean the caller's.",
            ("Register a cleanup callback for the current execution.", f"{_DAG}:414"),
        ),
        severity=Severity(
            "high",
            "with a graph reused across requests, one request's failure cancels another, and "
            "one request's end closes resources another still uses",
        ),
        symptoms=(
            "a failing run cancels a concurrent run of the same graph (UnifiedPipelineCancelled "
            "'Stage failed')",
            "the run that ends first runs the other run's cleanups while it still works, and "
            "the other's later cleanups never run (was SF-RUN-06)",
        ),
        merged=("SF-RUN-06",),
        fix="UnifiedStageGraph.run (stageflow/pipeline/dag.py:492-493): keep the token and the "
        "registry in run()'s locals (or a per-run object handed to stages through the context); "
        "register_cleanup then needs the run it belongs to, e.g. from the StageContext.",
    ),
    _finding(
        model.SHARED_OUTPUTS,
        "Readers share the stored StageOutput: a stage can change what its siblings receive, "
        "the run's results, and an OutputBag's contents",
        "StageInputs: 'Immutable: frozen=True prevents accidental mutation'; 'This replaces the "
        "mutable shared state pattern'; OutputBag is 'append-only with explicit overwrite for "
        "retries'.",
        "prior_outputs hold the producing stage's own StageOutput, whose data dict is shared: a "
        "dependent's in-place change shows in every other dependent and in PipelineResults. "
        "OutputBag's get / get_output / entries / outputs / to_dict hand out the stored data "
        "dict the same way: bag.get_output(stage).data['k'] = v changes what every later "
        "reader sees, without an attempt.",
        readers_share_stored_outputs,
        tags=("interleaving",),
        versions=releases(),
        basis=documented(
            (
                "- Immutable: frozen=True prevents accidental mutation",
                "stageflow/stages/inputs.py:8",
            ),
            (
                'This replaces the mutable shared state pattern (ctx.config["data"]).',
                "stageflow/stages/inputs.py:5",
            ),
            (
                "`OutputBag` is append-only with explicit overwrite for retries.",
                "docs/api/context-submodules.md:68",
            ),
        ),
        severity=Severity(
            "high",
            "silent and schedule-dependent: appending to a list received from a dependency, an "
            "everyday thing to do, changes a sibling's input and the run's results",
        ),
        symptoms=(
            "in a graph run, a dependent's in-place change to ctx.inputs.get_output(dep).data "
            "shows in its siblings' inputs and in PipelineResults",
            "OutputBag.get_output(stage).data['k'] = v (likewise get, entries, outputs, "
            "to_dict) rewrites the stored output without an attempt (was SF-BAG-02)",
        ),
        merged=("SF-BAG-02",),
        fix="StageOutput (stageflow/core/stage_output.py:35): hold data as a read-only mapping "
        "(types.MappingProxyType over a private copy, frozen all the way down), so no reader "
        "can write it; or copy on the way out, in _execute_node's prior_outputs "
        "(stageflow/pipeline/dag.py:846) and in OutputBag's readers.",
    ),
    _finding(
        model.OPEN_BREAKER_OK,
        "An open circuit breaker reports a stage that never ran as OK, with empty data",
        "InterceptorResult: 'If stage_ran is False, the stage is skipped and result is used'; "
        "the guides: 'After 5 failures, circuit opens for 30 seconds'. An open breaker fails "
        "fast; a user expects a stage that did not run not to be reported as a success.",
        "run_with_interceptors turns the short-circuit into status 'completed' ('Interceptor "
        "result is treated as success'), dropping its error: the run in which the breaker is "
        "open succeeds with StageOutput.ok({}) for the stage it skipped, its dependents run on "
        "that empty output, and after() sees a success and closes the breaker at once. Where "
        "built graphs run no interceptors (0.5.1), the legacy StageGraph shows it: the run in "
        "which the breaker skips the stage reports its StageResult 'completed'.",
        open_breaker_reports_success,
        versions=releases(),
        applies=_has_a_breaker,
        basis=documented(
            ("# After 5 failures, circuit opens for 30 seconds", "docs/guides/interceptors.md:52"),
            (
                "If stage_ran is False, the stage is skipped and result is used.",
                f"{_INTERCEPTORS}:38",
            ),
            argument="The breaker's own short-circuit carries an error ('Circuit breaker open "
            "for a'); reporting it as a success hides the outage it detected, and the success "
            "resets the breaker, so it is not open for 30 seconds but for one run.",
        ),
        severity=Severity(
            "high",
            "silent: exactly when a dependency is down, the run succeeds with empty data for "
            "the stage that could not run",
        ),
        fix="run_with_interceptors (stageflow/pipeline/interceptors.py:467): give a "
        "short-circuit that carries an error the status 'failed' (or a distinct 'skipped' the "
        "graph fails on); CircuitBreakerInterceptor.after then must not reset on it.",
    ),
    _finding(
        "SF-RUN-09",
        "build(interceptors=[]) silently installs the default interceptors",
        "Pipeline.build: 'interceptors: Optional interceptor stack. If omitted, defaults from "
        "get_default_interceptors() are used.' An empty stack is not an omitted one.",
        "UnifiedStageGraph uses `interceptors or get_default_interceptors()`: an empty list "
        "gets timeouts, the circuit breaker and idempotency all the same, so a stage failing "
        "six times in a row is skipped by a breaker nobody installed.",
        empty_interceptor_list_installs_defaults,
        versions=releases("0.9.6"),
        applies=_needs_interceptor_stack,
        basis=documented(
            (
                "interceptors: Optional interceptor stack. If omitted, defaults",
                "stageflow/pipeline/pipeline.py:259",
            ),
        ),
        severity=Severity(
            "medium",
            "a caller who opts out of interceptors gets timeouts and a circuit breaker anyway, "
            "with no way to run a graph bare",
        ),
        fix="UnifiedStageGraph.__init__ (stageflow/pipeline/dag.py:389): "
        "`get_default_interceptors() if interceptors is None else interceptors`.",
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
        versions=releases("0.8.0"),
        tags=("interleaving",),
        basis=documented(
            ("Uses structured cancellation to ensure proper resource cleanup", f"{_DAG}:458"),
            ("when the pipeline is cancelled or encounters an error.", f"{_DAG}:459"),
            ('FAIL = "fail"  # Stage failed (error)', "stageflow/core/stage_enums.py:27"),
            argument="A stage that raises has its siblings cancelled ('# Cancel remaining "
            "tasks', stageflow/pipeline/dag.py:598); the documented way to fail, "
            "StageOutput.fail(), does not. 0.5.1 cancels them on both paths.",
        ),
        severity=Severity(
            "medium",
            "a failed run's sibling stages keep working unobserved after the caller has the "
            "failure; new with 1.2.0 (0.5.1 cancelled them)",
        ),
        fix="UnifiedStageGraph.run (stageflow/pipeline/dag.py:746): before raising "
        "UnifiedStageExecutionError for a FAIL output (and for a timeout or an exhausted "
        "guard), cancel and await active_tasks as the exception path at :598 does. A finally "
        "that cancels leftover tasks would fix this and SF-RUN-04 together.",
    ),
    _finding(
        model.DOUBLE_COUNTED,
        "The circuit breaker counts a raised failure twice: it opens after 3 failing runs, not 5",
        "The guides: 'After 5 failures, circuit opens for 30 seconds'; the API reference: "
        "'Threshold: 5 failures'.",
        "CircuitBreakerInterceptor records a failure in on_error and again in after() (the "
        "result is 'failed'): a stage that raises counts 2 per run and the breaker opens after "
        "3 runs; a stage that returns StageOutput.fail() counts 1 per run and opens after 5.",
        breaker_counts_each_failure_twice,
        versions=releases(),
        applies=_has_a_breaker,
        basis=documented(
            ("# After 5 failures, circuit opens for 30 seconds", "docs/guides/interceptors.md:52"),
            ("**Threshold:** 5 failures", "docs/api/interceptors.md:165"),
        ),
        severity=Severity(
            "low",
            "the breaker trips early (3 raised failures) and the threshold depends on how a "
            "stage fails; it fails safe, not open",
        ),
        fix="CircuitBreakerInterceptor (stageflow/pipeline/interceptors.py:316): record the "
        "failure in one place only (after(), which sees every failed result), and drop the "
        "_record_failure in on_error.",
    ),
]
