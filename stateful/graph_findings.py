"""Known findings about graph runs (``Pipeline.build()`` / ``UnifiedStageGraph.run``).

This module declares them; their reproducers live beside it, grouped by what they are about:
``stateful/graph_interceptor_reproducers.py`` (SF-RUN-01, 02, 03, 08, 09, 11: what a built
graph's interceptor stack does to a failing or retrying stage) and
``stateful/graph_interleaving_reproducers.py`` (SF-RUN-04, 05, 07, 10: what a run does to its
stages, its siblings and other runs), both starting their runs from ``stateful/graph_runs.py``.
``stateful/graph_machine.py`` adopts the ones that still reproduce as deviations of its model
(``models/graph_run.py`` names the rule each one breaks), except SF-RUN-09, which the machine
sidesteps by never passing an empty interceptor list.

The reproducers run on 0.5.1 too: ``graph_runs._context`` builds the root context a graph of
that version runs on, and stages are declared with ``StageKind`` members (0.5.1 logs
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

from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases
from stageflow_verify.models import graph_run as model
from stageflow_verify.stateful.graph_interceptor_reproducers import (
    _has_a_breaker,
    _needs_interceptor_stack,
    _needs_retry,
    breaker_counts_each_failure_twice,
    empty_interceptor_list_installs_defaults,
    open_breaker_reports_success,
    retry_output_is_a_success,
    retry_stops_after_two_attempts,
    timeout_error_is_not_retried,
)
from stageflow_verify.stateful.graph_interleaving_reproducers import (
    cancelled_run_keeps_running,
    concurrent_runs_share_run_state,
    failed_output_leaves_siblings_running,
    readers_share_stored_outputs,
)

CHECK = "graphs.run_dag"


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
