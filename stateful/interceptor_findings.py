"""Known findings about interceptor stacks: what Stageflow promises and what 1.2.0 does.

The reproducers are in ``stateful/interceptor_reproducers.py``. ``interceptors.stack``
(``stateful/interceptor_machine.py``) adopts every one that still reproduces, with the graph
findings about the same stack (:data:`SAME_STACK`: SF-RUN-01, 02, 03, 08, 09, registered by
``stateful/graph_findings.py`` and not repeated here), as named deviations of its model
(``models/interceptor_stack.py`` and ``interceptor_state.py`` name the rule each one breaks).
"""

from __future__ import annotations

from typing import Any

from core.run.checks import Finding
from models import interceptor_stack as stack
from models import interceptor_state as state
from stateful import graph_findings
from stateful import interceptor_reproducers as r

CHECK = "interceptors.stack"
SAME_STACK = ("SF-RUN-01", "SF-RUN-02", "SF-RUN-03", "SF-RUN-08", "SF-RUN-09")
# Measured on 2026-12-02 (verify, ci): each reproduces on these; 0.9.x is N/A (its graphs run
# on a StageContext, not adapted), and releases before 0.9.0 have no RetryInterceptor.
MEASURED = ("1.0.0", "1.1.0", "1.2.0")


def _finding(id: str, title: str, promise: str, observed: str, reproduce: Any) -> Finding:
    return Finding(id, title, MEASURED, CHECK, promise, observed, reproduce, r.needs_stack)


FINDINGS = [
    _finding(
        state.COUNTS_TWICE,
        "The circuit breaker opens after 3 failures, not 5: a raised error counts twice",
        "docs/guides/interceptors.md:52 'After 5 failures, circuit opens for 30 seconds'; "
        "docs/api/interceptors.md:165 'Threshold: 5 failures'.",
        "A stage that raises is counted by CircuitBreakerInterceptor.on_error and again by its "
        "after() (the failed StageResult): three failing runs make 6 and the fourth run is "
        "short-circuited without calling the stage (a FAIL output or a timeout counts once).",
        r.breaker_opens_after_three_failures,
    ),
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
    ),
    _finding(
        stack.NO_TOTAL_TIME,
        "stage.retry_exhausted has no total_time_ms field",
        "docs/advanced/retry-backoff.md:418: 'stage.retry_exhausted | All retries failed | "
        "stage, attempts, total_time_ms, error'.",
        "The event's data is {stage, attempts, error} (seen by a sink that accepts the "
        "positional call, see SF-INT-02): total_time_ms is never computed.",
        r.exhausted_event_has_no_total_time,
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
        "_timeout_ms=1000 a retried attempt runs its full 60 s and the stage succeeds.",
        r.retried_attempt_has_no_timeout,
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
        r.later_stage_replays_earlier_stage,
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
        r.cancelled_stage_keeps_the_key_locked,
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
        r.aborted_stage_keeps_the_key_locked,
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
    ),
    _finding(
        stack.REPLAY_NESTS,
        "From the second repeat on, an idempotent replay returns empty data",
        "stageflow.pipeline.idempotency: 'concurrent duplicates return the previously computed "
        "StageResult'; docs/advanced/idempotency.md:51 'Receives the cached StageResult'.",
        "after() stores the replay's own StageResult, whose data is the cached StageResult, "
        "under the key; the next replay unwraps one level (_coerce_result_data) and finds a "
        "StageResult, not a dict: the third request gets StageOutput.ok({}).",
        r.third_request_gets_empty_data,
    ),
]


# Reported by their reproducer alone: the machine draws nothing they are about.
REPRODUCER_ONLY = ("SF-INT-11",)


def adopted_findings() -> list[Finding]:
    """The findings the machine may adopt: these (but the reproducer-only ones), and the graph
    findings about the same stack."""
    own = [f for f in FINDINGS if f.id not in REPRODUCER_ONLY]
    return [*own, *(f for f in graph_findings.FINDINGS if f.id in SAME_STACK)]
