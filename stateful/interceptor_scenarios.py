"""Canonical scenarios for ``interceptors.stack``: fixed graphs and runs at the edges of the
model's rules, played on the stock schedule after the machine's random exploration.

Hypothesis's derandomized ``ci`` draws lean toward a few values, so a rule's edge can go unmet
under a small budget whatever the strategy's weights. Each scenario here is a graph, its stack
and the data of a few runs that reach one edge; they are compared with the model through the
machine's own ``run_once`` and invariants, so a difference reads like the machine's. Each edge
names the rule (and the finding that moves it on 1.2.0) it is there for.
"""

from __future__ import annotations

from typing import Any

from stageflow_verify.core.sched.choosers import ReplayChooser
from stageflow_verify.core.sut.interceptors import StackHarness
from stageflow_verify.models.interceptor_runs import Graph
from stageflow_verify.models.interceptor_stack import Retry, RunData, Stack, StageSpec
from stageflow_verify.stateful.interceptor_strategies import fine

A = 1 + fine(0)
B = 1 + fine(1)
OMITTED = Stack("omitted", frozenset())
PROBES = (3, 12, 30)
PROBE_SET = frozenset(PROBES)
K1, LENIENT = RunData(key="k1"), RunData(sink="lenient")
SPELLED = frozenset({"max_attempts", "base_delay_ms", "jitter_strategy"})
RETRY3 = Retry(3, 100, jitter="none")
# Every argument given: the stack builds what the model reads (an argument left out is the
# default, whatever Retry says).
ALL_SPELLED = SPELLED | {"backoff_strategy"}
JITTERY = Retry(3, 100, "linear", "decorrelated")
EQUAL = Retry(3, 100, "constant", "equal")
PLAIN_LINEAR = Retry(3, 100, "linear", "none")
FULL = Retry(2, 100, jitter="full")
AUTH_PARTS = frozenset({"timeout", "breaker", "idempotency", "auth", "org"})
ON_FAILED = Retry(3, 100, jitter="none", on_failed=True)
LIMITED = Retry(3, 100, jitter="none", rate_limits=True)


def _one(behaviour: str, stack: Stack = OMITTED, kind: str = "work", n: int = 0) -> Graph:
    return Graph((StageSpec("a", kind, behaviour, A, n),), stack)


# (what it is for, graph, the data of each run, one run after the other; a pair: two at once;
# a number: that many virtual seconds of waiting)
Runs = list[RunData | tuple[RunData, RunData] | float]
SCENARIOS: list[tuple[str, Graph, Runs]] = [
    ("breaker threshold and short-circuit (SF-RUN-11, SF-RUN-08)", _one("raise"), [RunData()] * 5),
    ("replays on the 1st, 2nd, 3rd repeat (SF-INT-09)", _one("ok"), [K1] * 4),
    ("which stages are deduplicated (SF-INT-05)", _one("ok", kind="transform"), [K1] * 2),
    (
        "the key's scope (SF-INT-06)",
        Graph((StageSpec("a", "work", "ok", A), StageSpec("b", "work", "ok", B)), OMITTED),
        [K1],
    ),
    ("an unretried RETRY, then stored (SF-RUN-02, SF-INT-07)", _one("retry", n=1), [K1] * 2),
    ("a cancelled key holder (SF-INT-08)", _one("interrupted"), [K1] * 2),
    (
        "an abort inside the key's lock (SF-INT-10)",
        _one("ok", Stack("custom", frozenset({"idempotency"}), None, PROBES, gate=12)),
        [RunData(key="k1", abort=True), K1],
    ),
    (
        "a spent budget of one attempt and its event (SF-INT-03)",
        _one("transient", Stack("custom", frozenset({"retry"}), Retry(1), PROBES, SPELLED), n=1),
        [LENIENT],
    ),
    (
        "retry events on a protocol sink (SF-INT-02)",
        _one("transient", Stack("custom", frozenset({"retry"}), RETRY3, PROBES, SPELLED), n=1),
        [RunData(sink="protocol")],
    ),
    (
        "a retried attempt inside a timeout, then two failures in a budget of three "
        "(SF-INT-04, SF-RUN-01)",
        Graph(
            (StageSpec("a", "transform", "slow", A, 1), StageSpec("b", "work", "transient", B, 2)),
            Stack("custom", frozenset({"timeout", "retry"}), RETRY3, PROBES, SPELLED),
        ),
        [RunData(timeout_ms=2500, sink="lenient")],
    ),
    (
        "a timeout under a retrier (SF-RUN-03)",
        _one("slow", Stack("custom", frozenset({"timeout", "retry"}), RETRY3, (), SPELLED)),
        [RunData(timeout_ms=1500)],
    ),
    (
        "an abort from an after hook inside the key's lock (SF-INT-10), then outside it",
        _one(
            "ok",
            Stack(
                "custom",
                frozenset({"idempotency", "breaker"}),
                None,
                PROBES,
                gate=12,
                gate_hook="after",
            ),
        ),
        [RunData(key="k1", abort=True), RunData(key="k2", abort=True), RunData(abort=True)],
    ),
    (
        "the store's TTL between its edges: kept 15 minutes short of 24 h, gone after",
        _one("ok"),
        [K1, 85500.5, K1, 1000.0, K1],
    ),
    (
        "the default stack's log records and the retrier's, scheduled and exhausted",
        _one(
            "transient",
            Stack("defaults", frozenset({"timeout", "breaker", "retry"}), RETRY3, (), SPELLED),
            n=3,
        ),
        [RunData(child=True)],
    ),
    (
        "retry_on_status naming 'failed': announced, waited for, never run again (SF-INT-12)",
        _one("fail", Stack("custom", frozenset({"retry"}), ON_FAILED, PROBES, SPELLED)),
        [LENIENT],
    ),
    (
        "RateLimitError named in retryable_errors: retried (TransientError alone is not)",
        _one("ratelimit", Stack("custom", frozenset({"retry"}), LIMITED, PROBES, SPELLED), n=1),
        [LENIENT],
    ),
    (
        "RateLimitError under the default retryable_errors: not retried",
        _one("ratelimit", Stack("custom", frozenset({"retry"}), RETRY3, (), SPELLED), n=1),
        [LENIENT],
    ),
    (
        "include_auth: a run without a token skips the stage, reported OK (SF-RUN-08), and the "
        "key stores that empty result, which a run with a token replays",
        _one("ok", Stack("defaults", AUTH_PARTS, spelled=frozenset({"include_auth"}))),
        [K1, RunData(key="k1", token=True), RunData(token=True)],
    ),
    ("a slow stage under the default 30 s timeout (30000 ms)", _one("slow"), [RunData()]),
    ("an empty list (SF-RUN-09)", _one("ok", Stack("empty", frozenset())), [K1] * 2),
    (
        "probes raising from every hook, on_error included, around a raising stage: isolated",
        _one("raise", Stack("custom", frozenset({"breaker"}), None, PROBES, raising=PROBE_SET)),
        [RunData(), RunData(child=True)],
    ),
    ("a child run through the default stack", _one("ok"), [RunData(key="k1", child=True)] * 2),
    (
        "linear back-off with decorrelated jitter (each delay drawn from the previous one)",
        _one("transient", Stack("custom", frozenset({"retry"}), JITTERY, (), ALL_SPELLED), n=2),
        [LENIENT],
    ),
    (
        # The generated mutants retry.py:233 (`*` turned `/` or `|`, `+` turned `&`) survived
        # ci's draws, which met linear back-off only under decorrelated jitter (which ignores it).
        "linear back-off without jitter: the first delay is the base, 100 ms, an int",
        _one(
            "transient", Stack("custom", frozenset({"retry"}), PLAIN_LINEAR, (), ALL_SPELLED), n=2
        ),
        [LENIENT],
    ),
    (
        "decorrelated jitter after a failed run: its last delay is kept (cleared on success only)",
        _one("transient", Stack("custom", frozenset({"retry"}), JITTERY, (), ALL_SPELLED), n=3),
        [LENIENT, LENIENT],
    ),
    (
        "constant back-off with equal jitter (half fixed, half drawn)",
        _one("transient", Stack("custom", frozenset({"retry"}), EQUAL, (), ALL_SPELLED), n=2),
        [LENIENT],
    ),
    (
        "concurrent duplicates with one key and jittered retries: one executes, one replays",
        _one(
            "transient",
            Stack("defaults", frozenset({"idempotency", "retry"}), FULL, (), SPELLED),
            n=1,
        ),
        [(K1, K1), K1],
    ),
]


def play_scenarios(machine: type[Any]) -> None:
    """Play every scenario with a fresh ``machine`` (an InterceptorStackComparison class)."""
    for purpose, graph, runs in SCENARIOS:
        m = machine()
        m.sut = StackHarness(graph)
        try:
            for values in runs:
                if isinstance(values, float):
                    m.wait(values)
                elif isinstance(values, tuple):
                    m.run_pair(ReplayChooser([]), *values)
                else:
                    m.run_once(ReplayChooser([]), values)
                m.breaker_state_agrees()
                m.idempotency_store_agrees()
        except AssertionError as exc:
            exc.add_note(f"canonical scenario: {purpose}")
            raise
