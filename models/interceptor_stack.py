"""One stage run through an interceptor stack, as Stageflow documents it, in virtual time.

:func:`execute` plays one execution of one stage (``run_with_interceptors``) and changes the
shared :class:`~models.interceptor_state.StackState`; ``models/interceptor_runs.py`` chains
stages into runs. Every rule quotes what it encodes; a finding that still reproduces is adopted
by name (``dev``) and switches its rule to what 1.2.0 does.

- Order: "Interceptors run in priority order (lower = runs first, outer wrapper)"
  (docs/guides/interceptors.md:142); "Lower priority interceptors wrap higher priority ones"
  (:155): ``before`` hooks ascending, ``on_error`` from the innermost outwards until one does not
  answer FAIL, ``after`` descending. A ``before`` returning ``stage_ran=False`` short-circuits
  (``InterceptorResult``: "the stage is skipped and result is used"); the ``after`` hooks of the
  whole stack then run, also those whose ``before`` never ran (1.2.0; no document says
  otherwise, and "Called after stage completes (success or failure)" does not exclude it).
- Timeout: "Pipelines can override by setting ctx.data["_timeout_ms"]" in milliseconds, "Default
  timeout is 30 seconds" (docs/guides/interceptors.md:37-41); it bounds every attempt, the
  retried ones too (SF-INT-04: 1.2.0 bounds the first only). 0 or less means none ("No timeout
  (0 or negative)", ``run_with_interceptors``), and without a TimeoutInterceptor
  ``run_with_interceptors`` still applies the 30 s default (as in ``models/graph_run.py``).
- Retry: "max_attempts: Maximum retry attempts (including initial)"; retryable errors
  ``TimeoutError, ConnectionError, OSError``; ``retry_on_status=("retry",)``; delays
  ``base * 2^attempt`` / ``base * (attempt + 1)`` / ``base`` (``BackoffStrategy``), capped at
  ``max_delay_ms``, slept on the loop. Events (docs/advanced/retry-backoff.md:417-418):
  ``stage.retry_scheduled`` with ``stage, attempt, delay_ms, error`` and ``stage.retry_exhausted``
  with ``stage, attempts, total_time_ms, error``. An unretried RETRY output is a failure
  ("Stage failed but is retryable").
- Isolation: an interceptor raising from a hook is logged and the stage goes on ("Isolated
  interceptor errors don't crash the stage", ``run_with_interceptors``; "Interceptor errors
  shouldn't crash the pipeline", docs/guides/interceptors.md:510); a CriticalInterceptorError
  "should abort stage execution immediately" (its docstring): the stage fails with it, no
  ``after`` hook runs (1.2.0; so the breaker does not count it), and a key's lock taken by an
  outer idempotency interceptor ends with the stage (SF-INT-10: 1.2.0 keeps it). Raised from an
  ``after`` hook it aborts there: the outer ``after`` hooks never run (so an outer breaker does
  not count the run, beyond what its ``on_error`` counted, and an outer store keeps nothing);
  the lock is let go only if the idempotency interceptor's ``on_error`` or ``after`` ran.
- Log records (docs/guides/observability.md:370-384): the default stack's ``LoggingInterceptor``
  writes "Stage starting: {stage}" in ``before`` (with the run id and topology) and "Stage
  completed: {stage} - {status}" in ``after``, its ``MetricsInterceptor`` "Stage metrics:
  {stage}" in ``after`` (status, run id); the retrier "Retrying stage {stage} in {delay}ms
  (attempt {n + 1}/{max})" and "Stage {stage} exhausted {max} attempts"
  (docs/advanced/retry-backoff.md:238-259). They are compared as hooks of their priority.
- Breaker and idempotency: ``models/interceptor_state.py``.
"""

from __future__ import annotations

import random

from stageflow_verify.models import interceptor_state as S
from stageflow_verify.models.graph_run import OPEN_BREAKER_OK
from stageflow_verify.models.interceptor_attempts import after_status_retry, attempts
from stageflow_verify.models.interceptor_config import (
    DEFAULT_TIMEOUT,
    EMPTY_IS_DEFAULT,
    EVENTS_LOST,
    EXHAUSTED,
    NO_TOTAL_TIME,
    REPLAY_NESTS,
    RETRY_UNTIMED,
    SCHEDULED,
    SLOW,
    STATUS_NOT_RERUN,
    TOPOLOGY,
    Attempt,
    Event,
    Hook,
    Retry,
    RunData,
    Stack,
    StageRun,
    StageSpec,
    log_line,
    run_id_of,
    t7,
    view_of,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "EMPTY_IS_DEFAULT",
    "EVENTS_LOST",
    "EXHAUSTED",
    "NO_TOTAL_TIME",
    "REPLAY_NESTS",
    "RETRY_UNTIMED",
    "SCHEDULED",
    "SLOW",
    "Attempt",
    "Event",
    "Hook",
    "Retry",
    "RunData",
    "Stack",
    "StageRun",
    "StageSpec",
    "deduplicates",
    "execute",
    "t7",
]


def deduplicates(layers: tuple[tuple[int, str], ...], spec: StageSpec, dev: frozenset[str]) -> bool:
    """Whether a run's key guards ``spec``: an idempotency interceptor is among ``layers`` and
    the stage is of a kind it deduplicates (SF-INT-05)."""
    return any(name == "idempotency" for _, name in layers) and S.applies(spec.kind, dev)


def execute(
    spec: StageSpec, stack: Stack, data: RunData, state: S.StackState, t: float,
    dev: frozenset[str], rng: random.Random, *, acquired: float | None = None,
) -> StageRun:  # fmt: skip
    """One execution of ``spec`` from ``t`` (changes ``state``); ``acquired``: when a
    concurrent duplicate that held the key's lock at ``t`` let it go."""
    layers = stack.layers(dev)
    run = StageRun(spec.name, "ok", end=t)
    scope = None
    if data.key and deduplicates(layers, spec, dev):
        scope = S.scope(data.key, spec.name, dev)
    params = S.params_hash(data.params)
    short: S.Entry | str | None = None
    now, owner = t, False
    for prio, name in layers:
        if name == "probe":
            run.hooks.append(("before", prio, now, None))
            run.hooks.append(("view", prio, now, view_of(prio, data)))
            if prio == stack.gate and data.abort and stack.gate_hook == "before":
                run.status = "aborted"
                if owner and S.LOCK_LEAKS_ON_ABORT in dev:
                    state.held.add(scope)  # type: ignore[arg-type]  # owner implies a scope
                return run
        elif name == "idempotency" and scope is not None:
            entry = _live(state, scope, t) if acquired is None else None
            if entry is None and scope in state.held:
                run.status = "hung"  # waits for a lock its cancelled owner never released
                return run
            now = run.end = t if acquired is None else acquired
            entry = entry or _live(state, scope, now)
            if entry is not None and S.mismatch(entry, params):
                run.status = "mismatch"  # raised from before(): no after hook runs
                return run
            if entry is not None:
                short = entry
                break
            owner = True
        elif name == "breaker" and not S.admits(state, spec.name, now):
            short = "open"
            break
        elif name == "auth" and not data.token:
            # "InterceptorResult to short-circuit on auth failure" (AuthInterceptor.before):
            # the stage is skipped; reported like an open breaker's skip (SF-RUN-08: OK, {}).
            short = "auth"
            break
        elif name == "logging":
            started = log_line(f"Stage starting: {spec.name}", stage=spec.name,
                               pipeline_run_id=run_id_of(data), topology=TOPOLOGY)  # fmt: skip
            run.hooks.append(("log", prio, now, started))
    if isinstance(short, S.Entry):
        run.data = () if short.nested and REPLAY_NESTS in dev else short.data
    elif short in ("open", "auth"):
        run.status = "ok" if OPEN_BREAKER_OK in dev else "failed"
    else:
        attempts(run, spec, stack, layers, data, now, dev, state, rng)
        if run.status == "interrupted":  # CancelledError: neither on_error nor after runs
            if scope is not None and S.LOCK_LEAKS in dev:
                state.held.add(scope)
            return run
    now = run.end
    failed = run.status == "failed"
    status = "failed" if failed else "completed"  # the StageResult's
    released = False
    breaker_pending = any(name == "breaker" for _, name in layers)
    for prio, name in reversed(layers):
        if name == "probe":
            run.hooks.append(("after", prio, now, status))
            if prio == stack.gate and data.abort and stack.gate_hook == "after":
                # "abort stage execution immediately": the outer after hooks never run.
                run.status = "aborted"
                kept = owner and not (released or run.lock_let_go)
                if scope is not None and kept and S.LOCK_LEAKS_ON_ABORT in dev:
                    state.held.add(scope)
                if breaker_pending and run.breaker_saw_error and S.COUNTS_TWICE in dev:
                    S.record(state, spec.name, True, now)  # its on_error's count stays
                return run
        elif name == "logging":
            done = f"Stage completed: {spec.name} - {status}"
            run.hooks.append(("log", prio, now, log_line(done, stage=spec.name, status=status)))
        elif name == "metrics":
            line = log_line(f"Stage metrics: {spec.name}", stage=spec.name, status=status,
                            pipeline_run_id=run_id_of(data))  # fmt: skip
            run.hooks.append(("log", prio, now, line))
        elif name == "breaker" and (short != "open" or OPEN_BREAKER_OK in dev):
            breaker_pending = False
            twice = run.breaker_saw_error and S.COUNTS_TWICE in dev
            S.record(state, spec.name, failed, now, 2 if twice else 1)
        elif name == "retry" and not failed:  # "Clear retry state on success"
            state.previous_delay.pop(spec.name, None)
        elif name == "retry" and stack.retry is not None and stack.retry.on_failed:
            if STATUS_NOT_RERUN in dev:  # announced, waited for, never run (SF-INT-12)
                now = run.end = after_status_retry(run, spec, stack.retry, data, now, dev,
                                                   state, rng)  # fmt: skip
        elif name == "idempotency" and scope is not None:
            released = True  # its after lets the lock go, whatever the status
            if not failed:
                _store(state, scope, run, short, params, now, dev)
    return run


def _live(state: S.StackState, scope: S.Scope, now: float) -> S.Entry | None:
    entry = state.store.get(scope)
    if entry is not None and entry.expires <= now:
        del state.store[scope]  # InMemoryIdempotencyStore.get drops an expired entry
        return None
    return entry


def _store(
    state: S.StackState, scope: S.Scope, run: StageRun, short: S.Entry | str | None,
    params: str | None, now: float, dev: frozenset[str],
) -> None:  # fmt: skip
    expires = now + S.TTL_SECONDS
    if isinstance(short, S.Entry):
        # A replay is no new result; 1.2.0 stores the replayed StageResult as the data of a
        # new one, so the next replay unwraps one level too few (SF-INT-09).
        if REPLAY_NESTS in dev:
            state.store[scope] = S.Entry(run.stage, short.data, params, expires, nested=True)
        return
    if S.stored_status(run.status, dev):
        state.store[scope] = S.Entry(run.stage, run.data, params, expires)
