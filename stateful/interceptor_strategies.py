"""What the interceptor machine draws: graphs with their stack, and the data of each run.

Omitted arguments are drawn as often as explicit ones: a stack is ``build()`` with nothing,
``build(interceptors=[])``, ``get_default_interceptors(...)`` with its keyword arguments given or
left out (plus a RetryInterceptor whose ``max_attempts``, ``base_delay_ms``,
``backoff_strategy`` and ``jitter_strategy`` are each given or left at their defaults), or a
custom list; recording probes sit between the built-in priorities (some raising from every
hook, one a gate raising CriticalInterceptorError from its ``before`` or its ``after`` when a
run asks) and the list is built
rotated, so only the stack's own sorting puts it in order. Failure counts lean toward the retry
budget's edge (``max_attempts`` and one less): where an off-by-one in the budget shows. Runs
draw ``idempotency_key``, ``idempotency_params``, ``_timeout_ms``, the sink and the gate.
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from stageflow_verify.models.interceptor_runs import Graph
from stageflow_verify.models.interceptor_stack import Retry, RunData, Stack, StageSpec

BEHAVIOURS: tuple[str, ...] = ("transient", "ok", "fail", "raise", "retry", "slow", "cancel")
BEHAVIOURS += ("interrupted",)
BEHAVIOURS = (*BEHAVIOURS, "ratelimit")  # last: the draws of the others stay as they were
PROBE_PRIORITIES = (3, 7, 12, 30)  # outside idempotency, between timeout/breaker/retry, inside
# Either side of the breaker's 30 s; short of the store's 24 h TTL by 15 minutes (an entry
# stored in an earlier run is still there, or expired under a shorter TTL), and past it.
WAITS = (29.5, 30.5, 85500.5, 86400.5)


def fine(index: int) -> float:
    # Work is whole seconds plus 5**i microseconds for stage i: no two events of a run tie.
    return float(5**index) * 1e-6


@st.composite
def retries(draw: st.DrawFn) -> tuple[Retry, frozenset[str]]:
    """A RetryInterceptor's settings, and which of them are spelled out."""
    spelled: set[str] = set()
    retry = Retry()
    # Explicit values and omissions alternate at the head of each list (see stacks()).
    attempts = draw(st.sampled_from([2, None, 1, 3, 4]))
    if attempts is not None:
        spelled.add("max_attempts")
        retry = Retry(attempts, retry.base_delay_ms, retry.backoff)
    base = draw(st.sampled_from([100, None, 250]))
    if base is not None:
        spelled.add("base_delay_ms")
        retry = Retry(retry.max_attempts, base, retry.backoff)
    backoff = draw(st.sampled_from(["linear", None, "constant", "exponential"]))
    if backoff is not None:
        spelled.add("backoff_strategy")
        retry = Retry(retry.max_attempts, retry.base_delay_ms, backoff)
    jitter = draw(st.sampled_from(["decorrelated", None, "equal", "none", "full"]))
    if jitter is not None:
        spelled.add("jitter_strategy")
        retry = Retry(retry.max_attempts, retry.base_delay_ms, retry.backoff, jitter)
    # retryable_errors naming RateLimitError, and retry_on_status naming "failed": each left
    # at its default as often as given.
    rate_limits, on_failed = draw(st.booleans()), draw(st.booleans())
    retry = dataclasses.replace(retry, rate_limits=rate_limits, on_failed=on_failed)
    return retry, frozenset(spelled)


@st.composite
def stacks(draw: st.DrawFn) -> Stack:
    # Hypothesis favours the first option of a sampled_from (and shrinks toward it): the richest
    # comes first, or ci's few examples would be mostly bare default stacks.
    how = draw(st.sampled_from(["defaults", "custom", "omitted", "empty"]))
    if how in ("omitted", "empty"):
        return Stack(how, frozenset())
    spelled: set[str] = set()
    if how == "defaults":
        parts = {"timeout", "breaker"}
        include = draw(st.sampled_from([None, True, False]))
        if include is not None:
            spelled.add("include_idempotency")
        if include is not False:
            parts.add("idempotency")
            if draw(st.booleans()):
                spelled.add("store")  # get_default_interceptors(idempotency_store=...)
        auth = draw(st.sampled_from([None, False, True]))  # include_auth: default False
        if auth is not None:
            spelled.add("include_auth")
        if auth:
            parts |= {"auth", "org"}
    else:
        parts = set(draw(st.sets(st.sampled_from(["idempotency", "timeout", "breaker"]))))
    retry = None
    if draw(st.sampled_from([True, False])):
        retry, given = draw(retries())
        parts.add("retry")
        spelled |= given
    probes = tuple(sorted(draw(st.sets(st.sampled_from(PROBE_PRIORITIES), max_size=3))))
    rotate = draw(st.integers(0, 9))
    raising = frozenset(draw(st.sets(st.sampled_from(probes)))) if probes else frozenset()
    gate = draw(st.sampled_from([None, *probes]))
    gate_hook = draw(st.sampled_from(["before", "after"]))
    return Stack(
        how, frozenset(parts), retry, probes, frozenset(spelled), rotate, raising, gate, gate_hook
    )


BOUNDARY_SHARE = 3  # about one example in 3 is a canonical graph at a rule's edge


def boundary_graphs() -> tuple[Graph, ...]:
    """Canonical graphs at the edges random draws meet rarely: a retry budget of one attempt
    (the only way 1.2.0 reports a spent budget), a WORK stage asking for a retry under the
    default stack (unretried, then stored as a result), the stage whose task is cancelled while
    it holds the key's lock (then the next run with the key), and a slow stage retried inside a
    timeout followed by one failing twice under a budget of three (random graphs meet the
    breaker's threshold and replays often enough). The first is what a failure shrinks toward
    and the first example the derandomized ``ci`` profile tries."""
    one, three = Retry(1, 100), Retry(3, 100)
    probes = (3, 12, 30)
    retrying = frozenset({"max_attempts", "base_delay_ms"})
    return (
        Graph(
            (StageSpec("a", "work", "transient", 1 + fine(0), 1),),
            Stack("custom", frozenset({"retry"}), one, probes, frozenset({"max_attempts"})),
        ),
        Graph((StageSpec("a", "work", "retry", 1 + fine(0), 1),), Stack("omitted", frozenset())),
        Graph((StageSpec("a", "work", "interrupted", 1 + fine(0)),), Stack("omitted", frozenset())),
        Graph(
            (
                StageSpec("a", "transform", "slow", 1 + fine(0), 1),
                StageSpec("b", "work", "transient", 1 + fine(1), 2),
            ),
            Stack("custom", frozenset({"timeout", "retry", "breaker"}), three, probes, retrying),
        ),
    )


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    if draw(st.integers(0, BOUNDARY_SHARE - 1)) == 0:
        canon = boundary_graphs()
        # Hypothesis draws small integers far more often than large ones (a derandomized run
        # met only some canonical graphs); Fibonacci hashing spreads 0, 1, 2, ... over all.
        spread = (draw(st.integers(0, 2**32 - 1)) * 2654435761) % 2**32
        return canon[spread * len(canon) >> 32]
    return draw(random_graphs())


@st.composite
def random_graphs(draw: st.DrawFn) -> Graph:
    stack = draw(stacks())
    budget = stack.retry.max_attempts if stack.retry is not None else 2
    edge = st.sampled_from(sorted({max(budget - 1, 1), budget}))
    specs = []
    for i, name in enumerate(draw(st.sampled_from(["a", "ab"]))):
        behaviour = draw(st.sampled_from(BEHAVIOURS))
        n = 0
        if behaviour in ("transient", "retry", "ratelimit"):
            n = draw(st.one_of(edge, st.integers(1, 3)))
        elif behaviour == "slow":
            n = draw(st.integers(0, 1))
        kind = draw(st.sampled_from(["work", "transform"]))
        work = draw(st.integers(1, 2)) + fine(i)
        specs.append(StageSpec(name, kind, behaviour, work, n))
    return Graph(tuple(specs), stack)


def run_data() -> st.SearchStrategy[RunData]:
    return st.builds(
        RunData,
        # One key twice as often as the other: repeats with one key are where replays are.
        key=st.sampled_from(["k1", None, "k1", "k2"]),
        params=st.sampled_from([(), (("n", 1),), (("n", 2),)]),
        timeout_ms=st.sampled_from([None, 1500, 2500, 0]),
        sink=st.sampled_from(["lenient", "protocol"]),
        abort=st.booleans(),
        child=st.booleans(),
        token=st.booleans(),
    )
