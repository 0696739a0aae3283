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
- Breaker and idempotency: ``models/interceptor_state.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models import interceptor_state as S
from models.graph_run import OPEN_BREAKER_OK, RETRY_ONCE, RETRY_STATUS_IGNORED, TIMEOUT_NOT_RETRIED

EMPTY_IS_DEFAULT = "SF-RUN-09"  # build(interceptors=[]) installs the defaults
EVENTS_LOST = "SF-INT-02"  # retry events never reach an EventSink with keyword-only try_emit
NO_TOTAL_TIME = "SF-INT-03"  # stage.retry_exhausted carries no total_time_ms
RETRY_UNTIMED = "SF-INT-04"  # only the first attempt is bounded by the timeout
REPLAY_NESTS = "SF-INT-09"  # a replay re-stores itself wrapped: later replays lose the data

PRIORITY = {"idempotency": 4, "timeout": 5, "breaker": 10, "retry": 15}
DEFAULTS = frozenset({"idempotency", "timeout", "breaker"})  # the observable defaults
DEFAULT_TIMEOUT = 30.0
SLOW = 45.0  # a slow attempt's work: past every timeout the machine draws
RETRYABLE = ("conn", "timeout")  # ConnectionError (an OSError) and TimeoutError
SCHEDULED = ("stage", "attempt", "delay_ms", "error")
EXHAUSTED = ("stage", "attempts", "total_time_ms", "error")


@dataclass(frozen=True)
class Retry:
    max_attempts: int = 3
    base_delay_ms: int = 1000
    backoff: str = "exponential"  # exponential | linear | constant
    max_delay_ms: int = 30000

    def delay(self, retries_so_far: int) -> int:
        grow = {"exponential": 2**retries_so_far, "linear": retries_so_far + 1, "constant": 1}
        delay: int = self.base_delay_ms * grow[self.backoff]
        return min(delay, self.max_delay_ms)


@dataclass(frozen=True)
class Stack:
    """``how``: ``omitted`` (build()), ``empty`` (build(interceptors=[])), ``defaults``
    (get_default_interceptors(...) + extras) or ``custom``; ``parts`` the behavioural
    interceptors asked for; ``probes`` the priorities of recording interceptors."""

    how: str
    parts: frozenset[str]
    retry: Retry | None = None
    probes: tuple[int, ...] = ()
    spelled: frozenset[str] = frozenset()  # arguments passed although they equal the default
    rotate: int = 0  # the list is built rotated by this much: the stack sorts it by priority

    @property
    def empty(self) -> bool:
        """Whether ``build`` gets an empty list (``[]``, or a custom list of nothing)."""
        return self.how == "empty" or (self.how == "custom" and not self.parts and not self.probes)

    def fresh_per_build(self, dev: frozenset[str]) -> bool:
        """Whether every ``build`` makes its own default stack (so Pipeline.run shares none)."""
        return self.how == "omitted" or (self.empty and EMPTY_IS_DEFAULT in dev)

    def layers(self, dev: frozenset[str]) -> tuple[tuple[int, str], ...]:
        if self.fresh_per_build(dev):
            return tuple(sorted((PRIORITY[p], p) for p in DEFAULTS))
        parts = sorted((PRIORITY[p], p) for p in self.parts)
        return tuple(sorted([*parts, *((p, "probe") for p in self.probes)]))


@dataclass(frozen=True)
class StageSpec:
    """``behaviour``: ok, fail, raise (ValueError), transient (ConnectionError ``n`` times, then
    ok), retry (StageOutput.retry ``n`` times, then ok), slow (ConnectionError ``n`` times, then
    ``SLOW`` seconds of work), cancel (StageOutput.cancel), interrupted (its task is cancelled
    half way through the first attempt). ``kind``: the StageKind value, work or transform."""

    name: str
    kind: str
    behaviour: str
    work: float
    n: int = 0

    def attempt(self, k: int) -> str:
        b = self.behaviour
        if b in ("transient", "retry", "slow") and k <= self.n:
            return "retry" if b == "retry" else "conn"
        return {"transient": "ok", "retry": "ok"}.get(b, b)


@dataclass(frozen=True)
class RunData:
    key: str | None = None
    params: tuple[tuple[str, int], ...] = ()
    timeout_ms: int | None = None
    sink: str = "protocol"  # protocol (keyword-only try_emit) | lenient (takes any arguments)


Hook = tuple[str, int, float, str | None]  # hook, probe priority, when, result status
Attempt = tuple[int, float, float, str]  # number, start, end, what the stage did
Event = tuple[str, tuple[tuple[str, object], ...]]


@dataclass
class StageRun:
    stage: str
    status: str  # ok retry cancel failed interrupted mismatch hung
    data: S.Data = ()
    attempts: list[Attempt] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    end: float = 0.0
    breaker_saw_error: bool = False  # the failing on_error chain reached the breaker


def t7(x: float) -> float:
    return round(x, 7)  # sums of the same floats in other orders differ in the last ulps


def timeout_of(layers: tuple[tuple[int, str], ...], data: RunData) -> float:
    ms = DEFAULT_TIMEOUT * 1000
    if any(name == "timeout" for _, name in layers) and data.timeout_ms is not None:
        ms = data.timeout_ms
    return ms / 1000 if ms > 0 else float("inf")


def execute(
    spec: StageSpec, stack: Stack, data: RunData, state: S.StackState, t: float,
    dev: frozenset[str], *, acquired: float | None = None,
) -> StageRun:  # fmt: skip
    """One execution of ``spec`` from ``t`` (changes ``state``); ``acquired``: when a
    concurrent duplicate that held the key's lock at ``t`` let it go."""
    layers = stack.layers(dev)
    run = StageRun(spec.name, "ok", end=t)
    scope = None
    if any(n == "idempotency" for _, n in layers) and data.key and S.applies(spec.kind, dev):
        scope = S.scope(data.key, spec.name, dev)
    params = S.params_hash(data.params)
    short: S.Entry | str | None = None
    now = t
    for prio, name in layers:
        if name == "probe":
            run.hooks.append(("before", prio, now, None))
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
        elif name == "breaker" and not S.admits(state, spec.name, now):
            short = "open"
            break
    if isinstance(short, S.Entry):
        run.data = () if short.nested and REPLAY_NESTS in dev else short.data
    elif short == "open":
        run.status = "ok" if OPEN_BREAKER_OK in dev else "failed"
    else:
        _attempts(run, spec, stack, layers, data, now, dev)
        if run.status == "interrupted":  # CancelledError: neither on_error nor after runs
            if scope is not None and S.LOCK_LEAKS in dev:
                state.held.add(scope)
            return run
    now = run.end
    failed = run.status == "failed"
    for prio, name in reversed(layers):
        if name == "probe":
            run.hooks.append(("after", prio, now, "failed" if failed else "completed"))
        elif name == "breaker" and (short != "open" or OPEN_BREAKER_OK in dev):
            twice = run.breaker_saw_error and S.COUNTS_TWICE in dev
            S.record(state, spec.name, failed, now, 2 if twice else 1)
        elif name == "idempotency" and scope is not None and not failed:
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


def _attempts(
    run: StageRun, spec: StageSpec, stack: Stack, layers: tuple[tuple[int, str], ...],
    data: RunData, t: float, dev: frozenset[str],
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
        retried = False
        if did == "retry" and retry is not None:  # RetryInterceptor.after, retry_on_status
            retried = _consult(run, spec, retry, k, limit, error, first, emits, dev)
        elif did in ("conn", "raise", "timeout"):
            # 1.2.0 asks on_error about the first attempt's exception only (SF-RUN-01), and
            # never about a TimeoutError (SF-RUN-03).
            asked = not (k > 1 and RETRY_ONCE in dev)
            asked = asked and not (did == "timeout" and TIMEOUT_NOT_RETRIED in dev)
            for prio, name in reversed(layers) if asked else ():
                if name == "probe":
                    run.hooks.append(("on_error", prio, run.end, None))
                elif name == "retry" and retry is not None and did in RETRYABLE:
                    retried = _consult(run, spec, retry, k, limit, error, first, emits, dev)
                    if retried:
                        break
                elif name == "breaker":
                    run.breaker_saw_error = True
        if not retried:
            run.status = "failed"
            return
        now = run.end + retry.delay(k - 1) / 1000 if retry is not None else run.end


def _consult(
    run: StageRun, spec: StageSpec, retry: Retry, k: int, limit: int, error: str,
    first: float, emits: bool, dev: frozenset[str],
) -> bool:  # fmt: skip
    """RetryInterceptor._handle_retry: schedule attempt k + 1, or report the budget spent."""
    if k < limit:
        fields: tuple[str, int, object, str] = (spec.name, k, retry.delay(k - 1), error)
        kind, names = "stage.retry_scheduled", SCHEDULED
    else:
        total: object = "<missing>" if NO_TOTAL_TIME in dev else int((run.end - first) * 1000)
        fields = (spec.name, k, total, error)
        kind, names = "stage.retry_exhausted", EXHAUSTED
    if emits:
        run.events.append((kind, tuple(zip(names, fields, strict=True))))
    return k < limit
