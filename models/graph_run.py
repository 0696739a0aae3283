"""What one run of a built Stageflow graph must do, as a pure simulation in virtual time.

A :class:`Graph` is plain data: stages (name, dependencies, a behaviour and how long one attempt
works), an optional guard-retry policy and the interceptor configuration. :func:`predict_run`
plays one run of it as a discrete-event simulation and returns the :class:`RunObservation` the
adapter (``core/sut/graphs.py``) must observe on the real graph: the outcome, the results, every
attempt with its start and end, what every attempt received from its dependencies, and when the
run's cleanups ran. The circuit breaker's failure counts are the one state that outlives a run
(by design: one built graph shares its interceptors), so they go in and come out.

Each rule below quotes the docstring it encodes:

- ``UnifiedStageGraph``: "Executes stages as soon as their dependencies are met, allowing for
  maximum parallelism" -- a stage starts at the instant its last dependency finishes.
- ``PipelineResults``: "mapping stage name to StageOutput" -- every finished stage's output.
- ``StageStatus.FAIL``: "Stage failed (error)" -- a failed stage fails the run and the stages
  still running are cancelled at that instant (``Cancel remaining tasks``).
- ``RetryInterceptor``: "max_attempts: Maximum retry attempts (including initial)",
  "retryable_errors: Exception types that trigger retry" (default ``TimeoutError,
  ConnectionError, OSError``), "retry_on_status: StageResult status values that trigger retry"
  (default ``("retry",)``), exponential back-off ``delay = base * 2^attempt`` (jitter off here).
- ``StageStatus.RETRY``: "Stage failed but is retryable"; ``StageOutput.retry``: "Create a
  retry-needed output". Unretried, it is a failure.
- ``TimeoutInterceptor``: "Enforces per-stage timeouts using asyncio.wait_for", default 30 s,
  configured through ``ctx.data['_timeout_ms']``. Design choice kept in the model:
  ``run_with_interceptors`` applies the 30 s default even without the interceptor.
- ``GuardRetryPolicy``: "how to retry when a guard stage fails": the retry stage runs again and
  the guard re-runs on its fresh output, at most ``max_attempts`` guard attempts.
- ``CircuitBreakerInterceptor``: "After 5 failures, circuit opens for 30 seconds"
  (docs/guides/interceptors.md:52): each failed run of a stage counts once, five open the
  breaker, a success resets it. 1.2.0 counts a failure through ``on_error`` twice (once there,
  once in ``after``), which the model follows while SF-RUN-11 is adopted. Reasonable
  expectation, checked unless SF-RUN-08 is adopted: an open breaker fails fast instead of
  reporting OK.
- ``StageInputs``: "Immutable: frozen=True prevents accidental mutation" -- what a stage received
  cannot be changed by another stage (``bag`` lists stay empty).
- Cancellation ("Cancellation support with structured cleanup"): a cancelled or timed-out run
  stops its work at that instant and runs its cleanups then; two runs of one built graph do not
  affect each other (a user's expectation of a built graph; nothing documents sharing).

Every finding that still reproduces is adopted by name (``deviations``) and switches the rule it
breaks to what 1.2.0 does, so the machine keeps hunting past known bugs.

For example::

    graph = Graph((StageDesc("a", (), "ok", 1.0),), None, Config("timeout", 3, 250, 5000))
    seen, breaker = predict_run(graph, {}, frozenset(), script="main")
    assert seen.outcome == "ok" and seen.attempts == (("a", 1, 0.0, 1.0, "ok"),)
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace

RETRY_ONCE = "SF-RUN-01"  # RetryInterceptor never makes more than two attempts
RETRY_STATUS_IGNORED = "SF-RUN-02"  # StageOutput.retry() neither retried nor a failure
TIMEOUT_NOT_RETRIED = "SF-RUN-03"  # TimeoutError (raised or a timeout) is never retried
ORPHANED_STAGES = "SF-RUN-04"  # a cancelled run's stages (and a child graph's) keep running
SHARED_CANCEL_TOKEN = "SF-RUN-05"  # concurrent runs share one cancellation token
# How 0.5.1 ends a run stopped by SF-RUN-05 when the failed run ends first (token reset to None).
SHARED_TOKEN_CLEARED = "raised AttributeError: 'NoneType' object has no attribute 'reason'"
# Concurrent runs share one cleanup registry: the same cause as SHARED_CANCEL_TOKEN (per-run
# state kept on the graph), one finding since SF-RUN-06 was merged into SF-RUN-05.
SHARED_CLEANUP = "SF-RUN-05"
SHARED_OUTPUTS = "SF-RUN-07"  # a stage can change the outputs other stages receive
OPEN_BREAKER_OK = "SF-RUN-08"  # an open circuit breaker reports the stage OK, with empty data
ORPHANED_ON_FAIL = "SF-RUN-10"  # a run failed by a FAIL output (or a timeout) orphans the rest
DOUBLE_COUNTED = "SF-RUN-11"  # the breaker counts a raised failure twice (on_error and after)

DEFAULT_TIMEOUT = 30.0  # TimeoutInterceptor.DEFAULT_TIMEOUT_MS, applied by run_with_interceptors
BREAKER_THRESHOLD = 5
CHILD_WORK = 1.0 + 15625e-6  # the spawned child's one stage; see the fine offsets in the machine
Breaker = dict[str, int]  # stage name -> failures the circuit breaker has counted

Kinds = ("ok", "fail", "raise", "transient", "retry_status", "slow", "spawn", "mutate", "guard")
ALWAYS_OK = ("ok", "spawn", "mutate")


@dataclass(frozen=True)
class StageDesc:
    """One stage: ``work`` virtual seconds per attempt; ``n`` failing attempts (transient,
    retry_status) or the retry stage's attempt the guard waits for (guard)."""

    name: str
    deps: tuple[str, ...]
    kind: str
    work: float
    n: int = 0
    error: str = "ConnectionError"


@dataclass(frozen=True)
class GuardDesc:
    guard: str
    target: str
    max_attempts: int


@dataclass(frozen=True)
class Config:
    """``interceptors``: ``default`` (build()), ``retry`` (defaults + RetryInterceptor),
    ``timeout`` (only TimeoutInterceptor), ``bare`` (only LoggingInterceptor: neither timeout
    nor retry nor breaker) or ``none`` (0.5.1's graph, which runs no interceptor stack: no
    timeout at all, not even the 30 s default). ``timeout_ms`` goes into
    ``ctx.data['_timeout_ms']`` when set."""

    interceptors: str
    max_attempts: int
    base_delay_ms: int
    timeout_ms: int | None

    @property
    def timeout(self) -> float:
        # Only TimeoutInterceptor (in the defaults too) reads _timeout_ms; without it,
        # run_with_interceptors still applies the 30 s default. Without run_with_interceptors
        # (``none``) nothing times a stage out: the machine draws no ``slow`` stage there.
        if self.interceptors == "none":
            return math.inf
        if self.timeout_ms is None or self.interceptors == "bare":
            return DEFAULT_TIMEOUT
        return self.timeout_ms / 1000

    @property
    def breaker(self) -> bool:
        return self.interceptors in ("default", "retry")


@dataclass(frozen=True)
class Graph:
    stages: tuple[StageDesc, ...]
    guard: GuardDesc | None
    config: Config

    def stage(self, name: str) -> StageDesc:
        return next(s for s in self.stages if s.name == name)


Attempt = tuple[str, int, float, float, str]  # stage, attempt, start, end, outcome
Seen = tuple[str, int, tuple[tuple[str, int | None, tuple[str, ...] | None], ...]]
Result = tuple[str, str, int | None, tuple[str, ...] | None]  # stage, status, attempt, bag


@dataclass(frozen=True)
class RunObservation:
    """One run as plain data. ``outcome``: ok, failed (``failed_stage``), cancelled (by the
    caller) or cancelled_by_other (``UnifiedPipelineCancelled`` nobody in this run asked for;
    on 0.5.1 also the AttributeError ``SHARED_TOKEN_CLEARED``, the same stop)."""

    outcome: str
    failed_stage: str | None
    results: tuple[Result, ...]
    attempts: tuple[Attempt, ...]
    seen: tuple[Seen, ...]
    cleanups: tuple[tuple[str, int, float], ...]
    end: float

    def without_bags(self) -> RunObservation:
        """Forget what mutating stages appended: what SF-RUN-07 makes unpredictable."""
        return replace(
            self,
            results=tuple((s, st, a, None) for s, st, a, _ in self.results),
            seen=tuple(
                (s, a, tuple((d, da, None) for d, da, _ in deps)) for s, a, deps in self.seen
            ),
        )


@dataclass(frozen=True)
class GraphRunModel:
    """The model object a machine holds: the rules above, with ``deviations`` adopted.

    For example::

        model = GraphRunModel(frozenset({RETRY_ONCE}))
        predicted, breaker_after = model.run(graph, {}, script="main")
    """

    deviations: frozenset[str] = frozenset()

    def run(
        self,
        g: Graph,
        breaker: Breaker,
        *,
        script: str,
        start: float = 0.0,
        cancel_at: float | None = None,
    ) -> tuple[RunObservation, Breaker]:
        return predict_run(
            g, breaker, self.deviations, script=script, start=start, cancel_at=cancel_at
        )


def t7(x: float) -> float:
    # Virtual times are sums of the same floats in a different order; 7 digits hide the ulps
    # and keep the 1e-6 offsets that make every event time distinct.
    return round(x, 7)


@dataclass
class _Plan:
    stage: str
    attempts: list[Attempt]
    end: float
    final: str  # ok | retry | empty | failed
    count: int | None  # breaker: None resets, an int adds
    raised: bool = False  # the final failure was an exception (not a FAIL output or timeout)
    child: Attempt | None = None
    seen_all: list[Seen] = field(default_factory=list)


def _attempt_outcome(
    desc: StageDesc, attempt: int, deps: dict[str, Result], guard: GuardDesc | None
) -> str:
    kind = desc.kind
    if kind in ALWAYS_OK:
        return "ok"
    if kind == "fail":
        return "fail"
    if kind == "raise":
        return "raise:ValueError"
    if kind == "transient":
        return f"raise:{desc.error}" if attempt <= desc.n else "ok"
    if kind == "retry_status":
        return "retry" if attempt <= desc.n else "ok"
    if kind == "slow":
        return "timeout"
    # guard: passes once the retry stage's output it received is attempt n or later
    assert guard is not None, "a guard stage needs a guard retry policy"
    received = deps[guard.target][2]
    return "ok" if received is not None and received >= desc.n else "fail"


def _plan(
    g: Graph, desc: StageDesc, t0: float, first: int, deps: dict[str, Result], breaker: Breaker,
    dev: frozenset[str],
) -> _Plan:  # fmt: skip
    cfg = g.config
    view = tuple((d, deps[d][2], deps[d][3]) for d in desc.deps)
    if cfg.breaker and breaker.get(desc.name, 0) >= BREAKER_THRESHOLD:
        final = "empty" if OPEN_BREAKER_OK in dev else "failed"
        return _Plan(desc.name, [], t0, final, None if final == "empty" else 0)
    limit = cfg.max_attempts if cfg.interceptors == "retry" else 1
    if RETRY_ONCE in dev:
        limit = min(limit, 2)
    plan = _Plan(desc.name, [], t0, "failed", 0)
    t, k = t0, 0
    while True:
        k += 1
        number = first + k
        outcome = _attempt_outcome(desc, number, deps, g.guard)
        plan.seen_all.append((desc.name, number, view))
        work = desc.work + (CHILD_WORK if desc.kind == "spawn" else 0.0)
        if outcome == "timeout":
            end, shown = t + cfg.timeout, "cancelled"
        else:
            end, shown = t + work, outcome.split(":")[0]
        plan.attempts.append((desc.name, number, t, end, shown))
        if desc.kind == "spawn":
            plan.child = (f"{desc.name}~child", number, t + desc.work, end, "ok")
        timeoutish = outcome in ("timeout", "raise:TimeoutError")
        retryable = (
            outcome in ("raise:ConnectionError", "raise:TimeoutError", "timeout")
            and not (timeoutish and TIMEOUT_NOT_RETRIED in dev)
        ) or (outcome == "retry" and RETRY_STATUS_IGNORED not in dev)
        if retryable and k < limit:
            t = end + cfg.base_delay_ms / 1000 * 2 ** (k - 1)
            continue
        plan.end = end
        plan.raised = outcome.startswith("raise")
        if outcome == "ok" or (outcome == "retry" and RETRY_STATUS_IGNORED in dev):
            plan.final, plan.count = ("ok" if outcome == "ok" else "retry"), None
        elif outcome.startswith("raise") and not (timeoutish and TIMEOUT_NOT_RETRIED in dev):
            # One failed run counts once. Under SF-RUN-11, on_error counts once and after()
            # once; 1.2.0's single retry (SF-RUN-01) skips on_error, so after() alone counts.
            twice = DOUBLE_COUNTED in dev and not (k > 1 and RETRY_ONCE in dev)
            plan.count = 2 if twice else 1
        else:
            plan.count = 1
        return plan


def predict_run(
    g: Graph,
    breaker: Breaker,
    dev: frozenset[str],
    *,
    script: str,
    start: float = 0.0,
    cancel_at: float | None = None,
) -> tuple[RunObservation, Breaker]:
    """Play one run of ``g`` (``script`` ``main`` or ``clean``: every stage ``ok``) from
    ``start``; ``cancel_at`` cancels it from outside at that instant.

    Returns the observation and the breaker counts afterwards. Pure: ``breaker`` is not changed.
    """
    stages = {s.name: (s if script == "main" else replace(s, kind="ok")) for s in g.stages}
    guard = g.guard if script == "main" else None
    counts = dict(breaker)
    attempts_so_far = dict.fromkeys(stages, 0)
    results: dict[str, Result] = {}
    finalized: set[str] = set()
    waiting = {n: set(s.deps) for n, s in stages.items()}
    log: list[Attempt] = []
    seen: list[Seen] = []
    registered: list[tuple[str, int, float]] = []
    active: dict[int, _Plan] = {}
    heap: list[tuple[float, int]] = []
    started: list[str] = []  # one entry per execution; its index keys the heap
    guard_fails = 0
    orphan_rest = False  # whether the stages still working when the run ends keep working

    def begin(name: str, t: float) -> None:
        plan = _plan(g, stages[name], t, attempts_so_far[name], results, counts, dev)
        attempts_so_far[name] += len(plan.attempts)
        key = len(started)
        started.append(name)
        active[key] = plan
        heapq.heappush(heap, (plan.end, key))

    def settle(plan: _Plan, upto: float | None, keep_child: bool) -> None:
        # Record what ran of the plan until `upto` (None: all of it, an orphan finishing).
        for a in plan.attempts:
            if upto is None or a[3] <= upto:
                log.append(a)
                registered.append((a[0], a[1], a[2]))
            elif a[2] < upto:
                log.append((a[0], a[1], a[2], upto, "cancelled"))
                registered.append((a[0], a[1], a[2]))
        seen.extend(s for s in plan.seen_all if upto is None or s_start(plan, s) < upto)
        if plan.child is not None and plan.child[2] < (upto if upto is not None else 1e18):
            child = plan.child
            if upto is None or keep_child or child[3] <= upto:
                log.append(child)
            else:
                log.append((child[0], child[1], child[2], upto, "cancelled"))
        if upto is None and g.config.breaker:
            _count(counts, plan)

    def s_start(plan: _Plan, s: Seen) -> float:
        return next(a[2] for a in plan.attempts if a[1] == s[1])

    for name in stages:
        if not waiting[name]:
            begin(name, start)
    outcome, failed, end = "ok", None, start
    while heap:
        t, key = heapq.heappop(heap)
        if cancel_at is not None and t > cancel_at:
            heapq.heappush(heap, (t, key))
            outcome, end = "cancelled", cancel_at
            orphan_rest = ORPHANED_STAGES in dev
            break
        plan = active.pop(key)
        settle(plan, None, False)
        end = t
        name = plan.stage
        if plan.final == "failed" and guard is not None and name == guard.guard:
            guard_fails += 1
            if guard_fails < guard.max_attempts:
                begin(guard.target, t)
                continue
        if plan.final == "failed":
            outcome, failed = "failed", name
            # 1.2.0 cancels the other stages only when the failure was an exception.
            orphan_rest = not plan.raised and ORPHANED_ON_FAIL in dev
            break
        last = plan.attempts[-1][1] if plan.attempts else None
        bag: tuple[str, ...] | None = () if plan.attempts else None
        results[name] = (name, "ok" if plan.final != "retry" else "retry", last, bag)
        if guard is not None and name == guard.target and guard_fails and name in finalized:
            begin(guard.guard, t)
        if name in finalized:
            continue
        finalized.add(name)
        for child, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps and child not in finalized:
                    begin(child, t)
    # Whatever is still active was cut: at the failure, or by the caller's cancel.
    cut = end
    leftovers = sorted(active.values(), key=lambda p: p.end)
    for plan in leftovers:
        if orphan_rest:
            settle(plan, None, True)
        else:
            settle(plan, cut, ORPHANED_STAGES in dev)
    cleanups = tuple(sorted((s, a, t7(end)) for s, a, when in registered if when <= end))
    obs = RunObservation(
        outcome,
        failed,
        tuple(sorted(results.values())) if outcome == "ok" else (),
        tuple(sorted((s, a, t7(b), t7(e), o) for s, a, b, e, o in log)),
        tuple(sorted(seen)),
        cleanups,
        t7(end),
    )
    return obs, {k: v for k, v in counts.items() if v}


def _count(counts: Breaker, plan: _Plan) -> None:
    if plan.count is None:
        counts[plan.stage] = 0
    else:
        counts[plan.stage] = counts.get(plan.stage, 0) + plan.count


def describe_graph(g: Graph) -> str:
    """One line per stage, as the counterexample prints it."""
    lines = [f"config: {g.config}"]
    for s in g.stages:
        extra = f" n={s.n}" if s.kind in ("transient", "retry_status", "guard") else ""
        err = f" {s.error}" if s.kind == "transient" else ""
        lines.append(f"  {s.name} <- {list(s.deps)}: {s.kind}{extra}{err} work={s.work:g}")
    if g.guard is not None:
        lines.append(f"  guard retry: {g.guard}")
    return "\n".join(lines)
