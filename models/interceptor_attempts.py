"""A stage's attempts inside one execution: the timeout and the retry rules of the model.

Quoted in ``models/interceptor_stack.py`` (Timeout, Retry): every attempt is bounded by
``_timeout_ms`` (SF-INT-04: 1.2.0 bounds the first only), retryable errors and RETRY outputs are
retried up to ``max_attempts`` attempts in all with the back-off slept on the loop, and every
decision of ``RetryInterceptor._handle_retry`` emits its documented event.
"""

from __future__ import annotations

import random

from stageflow_verify.models import interceptor_state as S
from stageflow_verify.models.graph_run import RETRY_ONCE, RETRY_STATUS_IGNORED, TIMEOUT_NOT_RETRIED
from stageflow_verify.models.interceptor_config import (
    DEFAULT_TIMEOUT,
    EVENTS_LOST,
    EXHAUSTED,
    LOG_PRIORITY,
    NO_TOTAL_TIME,
    RATE_LIMITED,
    RETRY_UNTIMED,
    RETRYABLE,
    SCHEDULED,
    SLOW,
    STATUS_NOT_RERUN,
    Retry,
    RunData,
    Stack,
    StageRun,
    StageSpec,
    log_line,
)

# What each failing attempt's error says (str() of the exception, or the StageResult's error;
# StageOutput.fail(error="") says "Unknown error": stageflow/core/stage_output.py:111).
ERRORS = {"conn": "{} is unreachable", "raise": "{} raises", "timeout": "", "fail": "Unknown error"}
ERRORS |= {"retry": "{} asks again", RATE_LIMITED: "{} is rate limited"}


def retryable(retry: Retry, did: str) -> bool:
    """``isinstance(error, self.retryable_errors)``, on what the attempt raised."""
    return did in RETRYABLE or (did == RATE_LIMITED and retry.rate_limits)


def statuses_retried(retry: Retry, dev: frozenset[str]) -> tuple[str, ...]:
    """The outputs the retrier runs again: a RETRY output, and a failed one when
    ``retry_on_status`` names "failed" (never, under SF-INT-12: see ``after_status_retry``)."""
    return ("retry",) + (("fail",) if retry.on_failed and STATUS_NOT_RERUN not in dev else ())


def timeout_ms_of(layers: tuple[tuple[int, str], ...], data: RunData) -> int:
    ms = int(DEFAULT_TIMEOUT * 1000)
    if any(name == "timeout" for _, name in layers) and data.timeout_ms is not None:
        ms = data.timeout_ms
    return ms


def timeout_of(layers: tuple[tuple[int, str], ...], data: RunData) -> float:
    ms = timeout_ms_of(layers, data)
    return ms / 1000 if ms > 0 else float("inf")


def attempts(
    run: StageRun, spec: StageSpec, stack: Stack, layers: tuple[tuple[int, str], ...],
    data: RunData, t: float, dev: frozenset[str], state: S.StackState, rng: random.Random,
) -> None:  # fmt: skip
    bound = timeout_of(layers, data)
    retry = stack.retry if any(n == "retry" for _, n in layers) else None
    limit = retry.max_attempts if retry is not None else 1
    if RETRY_ONCE in dev:
        limit = min(limit, 2)
    emits = data.sink == "lenient" or EVENTS_LOST not in dev
    now, k, first = t, 0, t
    while True:
        k += 1
        did = spec.attempt(k)
        work = SLOW if did == "slow" else spec.work
        if did == "interrupted":
            run.end = now + work / 2
            run.attempts.append((k, now, run.end, "cancelled"))
            run.status = "interrupted"
            return
        if work > bound and not (k > 1 and RETRY_UNTIMED in dev):
            run.end, did, shown = now + bound, "timeout", "cancelled"
        else:
            did = "ok" if did == "slow" else did
            run.end, shown = now + work, {"conn": "raise", RATE_LIMITED: "raise"}.get(did, did)
        run.attempts.append((k, now, run.end, shown))
        output = (("attempt", k), ("stage", spec.name))
        if did in ("ok", "cancel") or (did == "retry" and RETRY_STATUS_IGNORED in dev):
            run.status = did
            run.data = ((("cancel_reason", "stop"),) if did == "cancel" else ()) + output
            run.data = tuple(sorted(run.data))
            return
        error = ERRORS[did].format(spec.name)
        delay: int | None = None
        consult = (spec, k, limit, error, first, emits, dev, state, rng)
        if retry is not None and did in statuses_retried(retry, dev):
            delay = _consult(run, retry, *consult)  # RetryInterceptor.after, retry_on_status
        elif did in ("conn", "raise", "timeout", RATE_LIMITED):
            # 1.2.0 asks on_error about the first attempt's exception only (SF-RUN-01), and
            # never about a TimeoutError (SF-RUN-03).
            asked = not (k > 1 and RETRY_ONCE in dev)
            asked = asked and not (did == "timeout" and TIMEOUT_NOT_RETRIED in dev)
            for prio, name in reversed(layers) if asked else ():
                if name == "probe":
                    run.hooks.append(("on_error", prio, run.end, None))
                elif name == "retry" and retry is not None and retryable(retry, did):
                    delay = _consult(run, retry, *consult)
                    if delay is not None:
                        break
                elif name == "breaker":
                    run.breaker_saw_error = True
                elif name == "idempotency":
                    run.lock_let_go = True
        if delay is None:
            run.status = "failed"
            run.result_error = error
            if did == "timeout":  # run_with_interceptors's own StageResult
                run.result_error = f"Stage timed out after {timeout_ms_of(layers, data)}ms"
            return
        now = run.end + delay / 1000


def _consult(
    run: StageRun, retry: Retry, spec: StageSpec, k: int, limit: int, error: str, first: float,
    emits: bool, dev: frozenset[str], state: S.StackState, rng: random.Random,
) -> int | None:  # fmt: skip
    """RetryInterceptor._handle_retry: the delay before attempt k + 1, or None when the
    budget is spent."""
    delay = None
    if k < limit:
        delay = retry.delay(k - 1, rng, state.previous_delay.get(spec.name))
        state.previous_delay[spec.name] = delay
        run.retries += 1
        fields: tuple[str, int, object, str] = (spec.name, k, delay, error)
        kind, names = "stage.retry_scheduled", SCHEDULED
        said = f"Retrying stage {spec.name} in {delay}ms (attempt {k + 1}/{retry.max_attempts})"
        line = log_line(said, stage=spec.name, attempt=k, delay_ms=delay, error=error)
    else:
        total: object = "<missing>" if NO_TOTAL_TIME in dev else int((run.end - first) * 1000)
        fields = (spec.name, k, total, error)
        kind, names = "stage.retry_exhausted", EXHAUSTED
        said = f"Stage {spec.name} exhausted {retry.max_attempts} attempts"
        line = log_line(said, stage=spec.name, attempts=k, error=error)
    # The record is written whatever the sink takes (docs/advanced/retry-backoff.md:238-259).
    run.hooks.append(("log", LOG_PRIORITY["stageflow.pipeline.retry"], run.end, line))
    if emits:
        run.events.append((kind, tuple(zip(names, fields, strict=True))))
    return delay


def after_status_retry(
    run: StageRun, spec: StageSpec, retry: Retry, data: RunData, now: float,
    dev: frozenset[str], state: S.StackState, rng: random.Random,
) -> float:  # fmt: skip
    """SF-INT-12, 1.2.0's ``RetryInterceptor.after`` on a failed StageResult that
    ``retry_on_status`` names: ``_handle_retry`` with the run's attempt counter announces a
    retry (or the exhausted budget), sleeps the back-off, and nothing re-runs the stage.
    Returns when the after hook is done."""
    run.end = now
    first = run.attempts[0][1] if run.attempts else now
    emits = data.sink == "lenient" or EVENTS_LOST not in dev
    error = run.result_error or "Retry requested"
    k = run.retries + 1
    delay = _consult(run, retry, spec, k, retry.max_attempts, error, first, emits, dev, state, rng)
    return now if delay is None else now + delay / 1000
