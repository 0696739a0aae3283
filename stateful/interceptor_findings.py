"""Known findings about interceptor stacks: what Stageflow promises and what 1.2.0 does.

The reproducers are in ``stateful/interceptor_reproducers.py``. ``interceptors.stack``
(``stateful/interceptor_machine.py``) adopts every one that still reproduces, with the graph
findings about the same stack (:data:`SAME_STACK`: SF-RUN-01, 02, 03, 08, 09, registered by
``stateful/graph_findings.py`` and not repeated here), as named deviations of its model
(``models/interceptor_stack.py`` and ``interceptor_state.py`` name the rule each one breaks).
"""

from __future__ import annotations

from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, releases
from stageflow_verify.models import interceptor_stack as stack
from stageflow_verify.models import interceptor_state as state
from stageflow_verify.stateful import graph_findings
from stageflow_verify.stateful import idempotency_legacy as legacy
from stageflow_verify.stateful import interceptor_reproducers as r

CHECK = "interceptors.stack"
# SF-RUN-11 is the breaker's double count this machine first registered as SF-INT-01: one root
# cause (on_error and after() both count a raise), so one finding; the id SF-INT-01 is retired.
SAME_STACK = ("SF-RUN-01", "SF-RUN-02", "SF-RUN-03", "SF-RUN-08", "SF-RUN-09", "SF-RUN-11")
# Measured on 2026-12-02 (verify, ci): each reproduces on these. 0.9.6 is the first release
# whose built graph takes interceptors (it has no PipelineContext.create: the context is
# spelled out, see graph_runs._context); before it they are N/A, but for the idempotency
# findings the legacy StageGraph shows (THROUGH_STAGE_GRAPH).
MEASURED = releases("0.9.6")
# The idempotency findings a legacy StageGraph shows where built graphs run no interceptors
# (stateful/idempotency_legacy.py): its default interceptors hold one from 0.8.0 on.
THROUGH_STAGE_GRAPH = releases("0.8.0")


def _finding(
    id: str, title: str, promise: str, observed: str, reproduce: Any, **strength: Any
) -> Finding:
    """A finding of this check; ``strength`` holds its basis, severity and fix."""
    versions = strength.pop("versions", MEASURED)
    applies = strength.pop("applies", r.needs_stack)
    return Finding(id, title, versions, CHECK, promise, observed, reproduce, applies, **strength)


FINDINGS = [
    _finding(
        stack.EVENTS_LOST,
        "RetryInterceptor's stage.retry_scheduled/retry_exhausted events never reach the sink",
        "docs/advanced/retry-backoff.md:417-418 lists the events 'stage.retry_scheduled' and "
        "'stage.retry_exhausted' with their fields; EventSink.try_emit(*, type, data).",
        "_handle_retry calls ctx.event_sink.try_emit('stage.retry_scheduled', {...}) with "
        "positional arguments; every EventSink (the protocol, NoOp, Logging, Backpressure) "
        "takes keyword arguments only, and the TypeError is swallowed by "
        "contextlib.suppress(Exception): the stage is retried and no event is emitted.",
        r.retry_events_never_reach_the_sink,
        basis=documented(
            (
                "| `stage.retry_scheduled` | Retry scheduled after failure |",
                "docs/advanced/retry-backoff.md:417",
            ),
        ),
        severity=Severity(
            "medium",
            "silent: retry monitoring built on the documented events "
            "receives nothing, and the TypeError is suppressed",
        ),
        fix="RetryInterceptor._handle_retry (stageflow/pipeline/retry.py): call "
        "try_emit(type=..., data=...) with keywords.",
    ),
    _finding(
        stack.NO_TOTAL_TIME,
        "stage.retry_exhausted has no total_time_ms field",
        "docs/advanced/retry-backoff.md:418: 'stage.retry_exhausted | All retries failed | "
        "stage, attempts, total_time_ms, error'.",
        "The event's data is {stage, attempts, error} (seen by a sink that accepts the "
        "positional call, see SF-INT-02): total_time_ms is never computed.",
        r.exhausted_event_has_no_total_time,
        basis=documented(
            (
                "| `stage.retry_exhausted` | All retries failed | `stage`, `attempts`, "
                "`total_time_ms`, `error` |",
                "docs/advanced/retry-backoff.md:418",
            ),
        ),
        severity=Severity(
            "low",
            "one documented field missing from an event (that SF-INT-02 "
            "keeps from being delivered at all)",
        ),
        fix="RetryInterceptor (stageflow/pipeline/retry.py): measure from the first attempt "
        "and add total_time_ms to the retry_exhausted data.",
    ),
    _finding(
        stack.RETRY_UNTIMED,
        "A retried attempt runs with no timeout: _timeout_ms bounds the first attempt only",
        "TimeoutInterceptor: 'Enforces per-stage timeouts'; docs/guides/interceptors.md:32 "
        "'Enforces per-stage execution timeouts' and :155 'Lower priority interceptors wrap "
        "higher priority ones' (timeout 5 wraps retry 15). A user expects no attempt of the "
        "stage to outlive _timeout_ms.",
        "run_with_interceptors wraps only the first stage_run() in asyncio.wait_for; the "
        "back-off sleep (inside on_error) and the retried stage_run() are awaited bare: with "
        "_timeout_ms=20 a retried attempt runs its full 300 ms and the stage succeeds.",
        r.retried_attempt_has_no_timeout,
        basis=documented(
            (
                "Enforces per-stage timeouts using asyncio.wait_for.",
                "stageflow/pipeline/interceptors.py:339",
            ),
            (
                "Lower priority interceptors wrap higher priority ones",
                "docs/guides/interceptors.md:155",
            ),
        ),
        severity=Severity(
            "high",
            "silent: a retried attempt and its back-off outlive the "
            "stage's timeout on an ordinary retry path",
        ),
        fix="run_with_interceptors (stageflow/pipeline/interceptors.py): wrap every attempt "
        "(and the back-off) in the stage's deadline, not only the first stage_run().",
    ),
    _finding(
        state.EVERY_KIND,
        "IdempotencyInterceptor deduplicates every stage, not only WORK stages",
        "IdempotencyInterceptor: 'Interceptor that enforces idempotency for WORK stages'; "
        "get_default_interceptors: 'include_idempotency: Whether to enforce idempotency for "
        "WORK stages'.",
        "before() never looks at the stage's kind: with ctx.data['idempotency_key'] set, a "
        "TRANSFORM stage runs once and later runs replay its first output.",
        r.transform_stage_is_deduplicated,
        applies=legacy.built_graphs_only,
        basis=documented(
            (
                "Interceptor that enforces idempotency for WORK stages.",
                "stageflow/pipeline/idempotency.py:111",
            ),
            (
                "include_idempotency: Whether to enforce idempotency for WORK stages",
                "stageflow/pipeline/interceptors.py:373",
            ),
        ),
        severity=Severity(
            "medium",
            "silent: a TRANSFORM stage under a request's key stops "
            "running and replays stale output",
        ),
        fix="IdempotencyInterceptor.before (stageflow/pipeline/idempotency.py): return None "
        "unless the stage's kind is WORK.",
    ),
    _finding(
        state.KEY_PER_RUN,
        "With an idempotency key, a later stage returns an earlier stage's output as its own",
        "docs/advanced/idempotency.md:18 'every WORK stage that mutates external state should "
        "set an idempotency key'; :97 'duplicate requests collapsed per stage'. A user expects "
        "the key to deduplicate each stage's own work, never to hand one stage's result to "
        "another.",
        "The store is keyed by the key alone: 'charge' stores its result under 'order-1', and "
        "'email' (the next WORK stage) finds it, never runs, and reports {'charged': True}.",
        legacy.later_stage_replays_earlier_stage,
        applies=legacy.legacy_idempotency,
        versions=THROUGH_STAGE_GRAPH,
        basis=documented(
            ("Count of duplicate requests collapsed per stage.", "docs/advanced/idempotency.md:97"),
            (
                "every WORK stage that mutates external state should set an",
                "docs/advanced/idempotency.md:18",
            ),
        ),
        severity=Severity(
            "high",
            "silent wrong results: a second WORK stage never runs and "
            "reports the first stage's output as its own",
        ),
        fix="IdempotencyInterceptor (stageflow/pipeline/idempotency.py): key the store and "
        "the locks by (idempotency_key, stage name).",
    ),
    _finding(
        state.STORES_UNSUCCESSFUL,
        "A StageOutput.cancel() (or retry()) result is stored and replayed as OK",
        'docs/advanced/idempotency.md:90 \'"Stored idempotent result" when a stage completes '
        "successfully'; StageStatus.CANCEL 'cancel pipeline without error'.",
        "after() stores every StageResult whose status is 'completed', and the DAG maps every "
        "status but FAIL to 'completed': the first run is cancelled by the stage, the repeat "
        "skips the stage and succeeds with StageOutput.ok({'cancel_reason': ...}).",
        r.cancel_output_is_replayed_as_ok,
        applies=legacy.built_graphs_only,
        basis=documented(
            (
                '"Stored idempotent result"` when a stage completes successfully.',
                "docs/advanced/idempotency.md:90",
            ),
        ),
        severity=Severity(
            "medium",
            "a request that was cancelled once succeeds on every repeat without running its stage",
        ),
        fix="IdempotencyInterceptor.after (stageflow/pipeline/idempotency.py): store only "
        "results whose output status is OK.",
    ),
    _finding(
        state.LOCK_LEAKS,
        "A stage cancelled while holding its idempotency key's lock keeps it: later runs hang",
        "docs/advanced/idempotency.md:47-51: per-key locks so 'only the first in-flight "
        "request executes'; a duplicate 'Waits on the per-key lock while the first request "
        "runs'. A user expects the lock to end with the request holding it.",
        "The lock is released in after() and on_error(), neither of which runs for "
        "CancelledError (run() cancels the stages still working when one fails or cancels): "
        "every later run with that key on the graph blocks in before() forever, outside any "
        "timeout.",
        legacy.cancelled_stage_keeps_the_key_locked,
        applies=legacy.legacy_idempotency,
        versions=THROUGH_STAGE_GRAPH,
        basis=documented(
            (
                "Waits on the per-key lock while the first request runs.",
                "docs/advanced/idempotency.md:50",
            ),
        ),
        severity=Severity(
            "high",
            "every later run with that key hangs forever, outside any "
            "timeout, after one ordinary cancellation",
        ),
        fix="IdempotencyInterceptor (stageflow/pipeline/idempotency.py): release the per-key "
        "lock in a finally around the stage, or from run_with_interceptors on cancel.",
    ),
    _finding(
        state.LOCK_LEAKS_ON_ABORT,
        "A CriticalInterceptorError inside the idempotency interceptor leaves its key locked",
        "CriticalInterceptorError: 'Interceptor error that should abort stage execution "
        "immediately'; docs/advanced/idempotency.md:50 a duplicate 'Waits on the per-key lock "
        "while the first request runs'. A user expects an aborted stage to free the key.",
        "run_with_interceptors re-raises a CriticalInterceptorError from before() at once: the "
        "after() hooks never run, so the lock IdempotencyInterceptor (priority 4) took is never "
        "released, and every later run with that key hangs in before(), outside any timeout.",
        legacy.aborted_stage_keeps_the_key_locked,
        applies=legacy.legacy_idempotency,
        versions=THROUGH_STAGE_GRAPH,
        basis=documented(
            (
                "Interceptor error that should abort stage execution immediately.",
                "stageflow/pipeline/interceptors.py:55",
            ),
            (
                "Waits on the per-key lock while the first request runs.",
                "docs/advanced/idempotency.md:50",
            ),
        ),
        severity=Severity(
            "medium", "a hang as in SF-INT-08, but only after a critical interceptor error"
        ),
        fix="run_with_interceptors (stageflow/pipeline/interceptors.py): run the after/on_error "
        "hooks of the interceptors whose before() ran when a later one aborts.",
    ),
    _finding(
        "SF-INT-11",
        "get_observation never returns what another interceptor added",
        "InterceptorContext.add_observation: 'Interceptors can add observations for other "
        "interceptors'; get_observation: 'Get an observation added by a previous interceptor' "
        "(docs/api/interceptors.md:130, :134; docs/guides/interceptors.md:254 'Interceptors can "
        "add data for other interceptors').",
        "Both methods key the data by the calling interceptor's own name "
        "(ctx.data['_interceptor.<name>']): 'metrics' asking for the 'start_time' that 'timing' "
        "added gets None. Reproducer only: the machine draws no interceptors that share "
        "observations.",
        r.observation_is_invisible_to_other_interceptors,
        # The API exists on every release (the legacy StageGraph runs interceptors on it):
        # make verify-all measured it KNOWN on all 13 (2026-12-02), not N/A before 0.9.6.
        versions=releases(),
        applies=r.has_observations,
        basis=documented(
            (
                "Interceptors can add observations for other interceptors.",
                "stageflow/pipeline/interceptors.py:113",
            ),
            (
                "Get an observation added by a previous interceptor.",
                "stageflow/pipeline/interceptors.py:120",
            ),
        ),
        severity=Severity(
            "low",
            "a custom-interceptor API that cannot do what it says; no "
            "built-in interceptor relies on it",
        ),
        fix="InterceptorContext.add_observation/get_observation "
        "(stageflow/pipeline/interceptors.py:112-121): key observations by the key alone.",
    ),
    _finding(
        stack.REPLAY_NESTS,
        "From the second repeat on, an idempotent replay returns empty data",
        "stageflow.pipeline.idempotency: 'concurrent duplicates return the previously computed "
        "StageResult'; docs/advanced/idempotency.md:51 'Receives the cached StageResult'.",
        "after() stores the replay's own StageResult, whose data is the cached StageResult, "
        "under the key; the next replay unwraps one level (_coerce_result_data) and finds a "
        "StageResult, not a dict: the third request gets StageOutput.ok({}).",
        legacy.third_request_gets_empty_data,
        applies=legacy.legacy_idempotency,
        versions=THROUGH_STAGE_GRAPH,
        basis=documented(
            (
                "Receives the cached `StageResult` once the lock owner stores the result.",
                "docs/advanced/idempotency.md:51",
            ),
        ),
        severity=Severity(
            "high",
            "silent wrong results: from the third request on, a "
            "deduplicated stage returns empty data",
        ),
        fix="IdempotencyInterceptor.after (stageflow/pipeline/idempotency.py): do not store "
        "a replayed result again (or store the unwrapped original).",
    ),
    _finding(
        "SF-INT-12",
        "RetryInterceptor(retry_on_status=...) announces a retry, waits, and never retries",
        "RetryInterceptor: 'Interceptor that automatically retries failed stages'; "
        "'retry_on_status: StageResult status values that trigger retry'.",
        "after() sees a listed status and calls _handle_retry, which emits "
        "stage.retry_scheduled, sleeps the back-off and counts the attempt, and returns RETRY; "
        "after() drops the answer and run_with_interceptors never re-runs a stage from its "
        "after phase: the stage ran once and the run fails (with retry_on_status=('failed',): "
        "one call, UnifiedStageExecutionError). Distinct from SF-RUN-02, whose fix (report "
        "RETRY as 'retry') would land here. The machine draws retry_on_status=('retry', "
        "'failed') and adopts it (models/interceptor_attempts.py after_status_retry).",
        r.failed_status_retry_never_runs,
        basis=documented(
            (
                "retry_on_status: StageResult status values that trigger retry",
                "stageflow/pipeline/retry.py:91",
            ),
        ),
        severity=Severity(
            "medium",
            "wrong behaviour of a documented setting: the stage is not retried, yet "
            "monitoring is told a retry was scheduled and the run waits for it",
        ),
        fix="RetryInterceptor.after / run_with_interceptors (stageflow/pipeline/retry.py:117, "
        "pipeline/interceptors.py:540): re-run the stage when an after hook asks for a retry "
        "(as the error phase does for on_error's RETRY), or decide status retries before the "
        "after phase.",
    ),
]


# Reported by its reproducer alone: the machine draws nothing it is about.
REPRODUCER_ONLY = ("SF-INT-11",)


def adopted_findings() -> list[Finding]:
    """The findings the machine may adopt: these (but the reproducer-only ones), and the graph
    findings about the same stack."""
    own = [f for f in FINDINGS if f.id not in REPRODUCER_ONLY]
    return [*own, *(f for f in graph_findings.FINDINGS if f.id in SAME_STACK)]
