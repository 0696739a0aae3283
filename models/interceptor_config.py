"""The data of the interceptor model: stacks, stages, run data, what one execution did.

``models/interceptor_stack.py`` states the rules; this module only names things. Deviation ids
(findings adopted by the model) that belong to the stack's own rules live here too, beside the
ones of ``models/interceptor_state.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from stageflow_verify.models import interceptor_state as S

EMPTY_IS_DEFAULT = "SF-RUN-09"  # build(interceptors=[]) installs the defaults
EVENTS_LOST = "SF-INT-02"  # retry events never reach an EventSink with keyword-only try_emit
NO_TOTAL_TIME = "SF-INT-03"  # stage.retry_exhausted carries no total_time_ms
RETRY_UNTIMED = "SF-INT-04"  # only the first attempt is bounded by the timeout
REPLAY_NESTS = "SF-INT-09"  # a replay re-stores itself wrapped: later replays lose the data
STATUS_NOT_RERUN = "SF-INT-12"  # retry_on_status announces and waits, and never re-runs

PRIORITY = {"idempotency": 4, "timeout": 5, "breaker": 10, "retry": 15}
PRIORITY |= {"metrics": 40, "logging": 50}
# get_default_interceptors(include_auth=True) adds AuthInterceptor (1) and
# OrgEnforcementInterceptor (2): "AuthInterceptor ... Priority: 1 (runs first)", "Priority: 2
# (runs after auth)" (docs/api/auth.md:152, :204).
PRIORITY |= {"auth": 1, "org": 2}
# The default stack's loggers: their records are documented (docs/guides/observability.md:
# 370-384, "Stage starting: llm", "Stage completed: llm - completed", "Stage metrics: llm").
LOGGERS = frozenset({"metrics", "logging"})
# Each built-in interceptor's documented priority, by class: docs/api/interceptors.md:148
# (Timeout 5), :164 (CircuitBreaker 10), :176 (Tracing 20), :186 (ChildTrackerMetrics 45), :196
# (Metrics 40), :206 (Logging 50), :279 (Auth 1), :295 (OrgEnforcement 2); "priority = 15  # Run
# after circuit breaker" (docs/advanced/retry-backoff.md:166).
DOCUMENTED_PRIORITY = {"TimeoutInterceptor": 5, "CircuitBreakerInterceptor": 10}
DOCUMENTED_PRIORITY |= {"TracingInterceptor": 20, "ChildTrackerMetricsInterceptor": 45}
DOCUMENTED_PRIORITY |= {"MetricsInterceptor": 40, "LoggingInterceptor": 50, "RetryInterceptor": 15}
DOCUMENTED_PRIORITY |= {"AuthInterceptor": 1, "OrgEnforcementInterceptor": 2}
DEFAULTS = frozenset({"idempotency", "timeout", "breaker"}) | LOGGERS  # the observable defaults
DEFAULT_TIMEOUT = 30.0
SLOW = 45.0  # a slow attempt's work: past every timeout the machine draws
RETRYABLE = ("conn", "timeout")  # ConnectionError (an OSError) and TimeoutError
RATE_LIMITED = "ratelimit"  # stageflow.pipeline.retry.RateLimitError
SCHEDULED = ("stage", "attempt", "delay_ms", "error")
EXHAUSTED = ("stage", "attempts", "total_time_ms", "error")


@dataclass(frozen=True)
class Retry:
    max_attempts: int = 3
    base_delay_ms: int = 1000
    backoff: str = "exponential"  # exponential | linear | constant
    jitter: str = "full"  # none | full | equal | decorrelated (JitterStrategy; default FULL)
    max_delay_ms: int = 30000
    # retryable_errors also naming stageflow's RateLimitError: "Define which errors trigger
    # retries" (docs/advanced/retry-backoff.md:356-376); the default tuple is TimeoutError,
    # ConnectionError, OSError (:175-179), which RateLimitError is not.
    rate_limits: bool = False
    # retry_on_status=("retry", "failed"): "StageResult status values that trigger retry"
    # (stageflow/pipeline/retry.py:91); the default is ("retry",).
    on_failed: bool = False

    def delay(self, retries_so_far: int, rng: random.Random, previous: int | None) -> int:
        """``_calculate_delay``: the back-off, capped, then jittered with ``rng``; jitter
        draws from the ``random`` module, which the harness seeds per batch of runs."""
        grow = {"exponential": 2**retries_so_far, "linear": retries_so_far + 1, "constant": 1}
        base: int = min(self.base_delay_ms * grow[self.backoff], self.max_delay_ms)
        if self.jitter == "none":
            return base
        if self.jitter == "full":  # "Random from 0 to delay"
            return rng.randint(0, base)
        if self.jitter == "equal":  # "Half fixed, half random"
            return base // 2 + rng.randint(0, base // 2)
        prev = self.base_delay_ms if previous is None else previous  # "min(max, random(base,
        return min(self.max_delay_ms, rng.randint(self.base_delay_ms, prev * 3))  # prev * 3))"


@dataclass(frozen=True)
class Stack:
    """``how``: ``omitted`` (build()), ``empty`` (build(interceptors=[])), ``defaults``
    (get_default_interceptors(...) + extras) or ``custom``; ``parts`` the behavioural
    interceptors asked for; ``probes`` the priorities of recording interceptors, of which
    ``raising`` raise RuntimeError from every hook and ``gate`` raises CriticalInterceptorError
    from its ``gate_hook`` (``before`` or ``after``) in runs whose data asks for it
    (``RunData.abort``)."""

    how: str
    parts: frozenset[str]
    retry: Retry | None = None
    probes: tuple[int, ...] = ()
    spelled: frozenset[str] = frozenset()  # arguments passed although they equal the default
    rotate: int = 0  # the list is built rotated by this much: the stack sorts it by priority
    raising: frozenset[int] = frozenset()
    gate: int | None = None
    gate_hook: str = "before"  # the gate's hook that raises: before or after

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
        # get_default_interceptors always includes the loggers: a "defaults" stack has them.
        named = self.parts | (LOGGERS if self.how == "defaults" else frozenset())
        parts = sorted((PRIORITY[p], p) for p in named)
        return tuple(sorted([*parts, *((p, "probe") for p in self.probes)]))


@dataclass(frozen=True)
class StageSpec:
    """``behaviour``: ok, fail, raise (ValueError), transient (ConnectionError ``n`` times, then
    ok), retry (StageOutput.retry ``n`` times, then ok), slow (ConnectionError ``n`` times, then
    ``SLOW`` seconds of work), ratelimit (RateLimitError ``n`` times, then ok), cancel
    (StageOutput.cancel), interrupted (its task is cancelled
    half way through the first attempt). ``kind``: the StageKind value, work or transform."""

    name: str
    kind: str
    behaviour: str
    work: float
    n: int = 0

    def attempt(self, k: int) -> str:
        b = self.behaviour
        if b in ("transient", "retry", "slow", RATE_LIMITED) and k <= self.n:
            return {"retry": "retry", RATE_LIMITED: RATE_LIMITED}.get(b, "conn")
        return {"transient": "ok", "retry": "ok", RATE_LIMITED: "ok"}.get(b, b)


@dataclass(frozen=True)
class RunData:
    key: str | None = None
    params: tuple[tuple[str, int], ...] = ()
    timeout_ms: int | None = None
    sink: str = "protocol"  # protocol (keyword-only try_emit) | lenient (takes any arguments)
    abort: bool = False  # the stack's gate (if any) raises CriticalInterceptorError
    child: bool = False  # the run's context is a child (fork of a root): is_child_run
    token: bool = False  # ctx.data["_auth_token"] holds a token the default validator accepts


# The ids every run's context carries (a child's own run id is CHILD_RUN). UUIDs as text, as
# InterceptorContext hands them out; a child inherits the rest ("Inherits auth context
# (user_id, org_id, session_id)", PipelineContext.fork).
IDS = {"request_id": 1, "session_id": 2, "user_id": 3, "org_id": 4, "pipeline_run_id": 5}
CHILD_RUN = 6
TOPOLOGY, MODE = "verify-topology", "practice"


def uuid_text(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012x}"


# The loggers whose records the docs show, the priority of the interceptor that writes each,
# and the fields of its ``extra`` they show: docs/guides/observability.md:370-384 (the default
# stack's), docs/advanced/retry-backoff.md:238-259 (the retrier's, "Retrying stage {stage_name}
# in {delay_ms}ms (attempt {attempt + 2}/{self.max_attempts})"). A record's duration_ms is
# left out: the model does not follow the StageResult's wall-clock stamps.
LOG_PRIORITY = {"stage_interceptor": 50, "stage_metrics": 40, "stageflow.pipeline.retry": 15}
LOG_FIELDS: tuple[str, ...] = ("stage", "status", "pipeline_run_id", "topology", "attempt")
LOG_FIELDS += ("attempts", "delay_ms", "error")


def log_line(message: str, **fields: object) -> str:
    """One log record as the suite compares it: its message, then its documented fields."""
    return "|".join([message, *(f"{k}={fields[k]}" for k in LOG_FIELDS if k in fields)])


def run_id_of(data: RunData) -> str:
    """The run's ``pipeline_run_id`` as text (a child run has its own)."""
    return uuid_text(CHILD_RUN if data.child else IDS["pipeline_run_id"])


def view_of(probe: int, data: RunData) -> str:
    """What a probe reads through ``InterceptorContext(ctx, _interceptor_name=name)`` in its
    ``before``: its name, the run's ids, topology and execution mode ("Read-only view of
    PipelineContext for interceptors", docs/api/interceptors.md:110-124), and the keys of
    ``data`` not starting with ``_`` ("Read-only copy of context data"): what the run put
    there. Each probe also writes into its copy; a view that handed out the live dict would
    show that key to the next probe."""
    ids = [run_id_of(data)] + [uuid_text(IDS[f]) for f in ("request_id", "session_id")]
    ids += [uuid_text(IDS[f]) for f in ("user_id", "org_id")]
    keys = ["idempotency_key"] if data.key else []
    keys += ["idempotency_params"] if data.params else []
    return "|".join([f"probe{probe}", *ids, TOPOLOGY, MODE, ",".join(keys)])


Hook = tuple[str, int, float, str | None]  # hook, probe priority, when, result status
Attempt = tuple[int, float, float, str]  # number, start, end, what the stage did
Event = tuple[str, tuple[tuple[str, object], ...]]


@dataclass
class StageRun:
    stage: str
    status: str  # ok retry cancel failed interrupted mismatch aborted hung
    data: S.Data = ()
    attempts: list[Attempt] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    end: float = 0.0
    breaker_saw_error: bool = False  # the failing on_error chain reached the breaker
    lock_let_go: bool = False  # ... and the idempotency interceptor (its on_error releases)
    retries: int = 0  # retries the retrier scheduled (its per-run attempt counter)
    result_error: str = ""  # the failed StageResult's error


def t7(x: float) -> float:
    return round(x, 7)  # sums of the same floats in other orders differ in the last ulps
