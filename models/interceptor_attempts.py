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
    NO_TOTAL_TIME,
    RETRY_UNTIMED,
    RETRYABLE,
    SCHEDULED,
    SLOW,
    Retry,
    RunData,
    Stack,
    StageRun,
    StageSpec,
)


def timeout_of(layers: tuple[tuple[int, str], ...], data: RunData) -> float:
    ms = DEFAULT_TIMEOUT * 1000
    if any(name == "timeout" for _, name in layers) and data.timeout_ms is not None:
        ms = data.timeout_ms
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
            run.end, shown = now + work, {"conn": "raise"}.get(did, did)
        run.attempts.append((k, now, run.end, shown))
        output = (("attempt", k), ("stage", spec.name))
        if did in ("ok", "cancel") or (did == "retry" and RETRY_STATUS_IGNORED in dev):
            run.status = did
            run.data = ((("cancel_reason", "stop"),) if did == "cancel" else ()) + output
            run.data = tuple(sorted(run.data))
            return
        error = {"conn": f"{spec.name} is unreachable", "raise": f"{spec.name} raises",
                 "timeout": "", "retry": f"{spec.name} asks again", "fail": ""}[did]  # fmt: skip
        delay: int | None = None
        consult = (spec, k, limit, error, first, emits, dev, state, rng)
        if did == "retry" and retry is not None:  # RetryInterceptor.after, retry_on_status
            delay = _consult(run, retry, *consult)
        elif did in ("conn", "raise", "timeout"):
            # 1.2.0 asks on_error about the first attempt's exception only (SF-RUN-01), and
            # never about a TimeoutError (SF-RUN-03).
            asked = not (k > 1 and RETRY_ONCE in dev)
            asked = asked and not (did == "timeout" and TIMEOUT_NOT_RETRIED in dev)
            for prio, name in reversed(layers) if asked else ():
                if name == "probe":
                    run.hooks.append(("on_error", prio, run.end, None))
                elif name == "retry" and retry is not None and did in RETRYABLE:
                    delay = _consult(run, retry, *consult)
                    if delay is not None:
                        break
                elif name == "breaker":
                    run.breaker_saw_error = True
        if delay is None:
            run.status = "failed"
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
        fields: tuple[str, int, object, str] = (spec.name, k, delay, error)
        kind, names = "stage.retry_scheduled", SCHEDULED
    else:
        total: object = "<missing>" if NO_TOTAL_TIME in dev else int((run.end - first) * 1000)
        fields = (spec.name, k, total, error)
        kind, names = "stage.retry_exhausted", EXHAUSTED
    if emits:
        run.events.append((kind, tuple(zip(names, fields, strict=True))))
    return delay
