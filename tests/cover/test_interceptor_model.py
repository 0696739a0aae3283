"""The interceptor model's documented rules, one small case each, and the findings' reproducers.

Each case states what the model predicts with no deviation adopted (what the guides say) and,
where a finding changes it, what it predicts with that finding adopted (what 1.2.0 does).
"""

from __future__ import annotations

import random

import pytest

from stageflow_verify.core.run.checks import Finding, still_reproduces
from stageflow_verify.core.sut import stageflow_version
from stageflow_verify.models import interceptor_state as S
from stageflow_verify.models.interceptor_runs import (
    Graph,
    duplicates_predictable,
    key_guards,
    predict_run,
)
from stageflow_verify.models.interceptor_stack import (
    EVENTS_LOST,
    RETRY_UNTIMED,
    Retry,
    RunData,
    Stack,
    StageSpec,
)
from stageflow_verify.models.interceptor_state import StackState
from stageflow_verify.stateful.interceptor_findings import FINDINGS

NONE: frozenset[str] = frozenset()
DEFAULTS = Stack("omitted", frozenset())
NO_DATA = RunData()


def one(behaviour: str, stack: Stack = DEFAULTS, kind: str = "work", n: int = 0) -> Graph:
    return Graph((StageSpec("a", kind, behaviour, 1.0, n),), stack)


def runs(graph: Graph, count: int, data: RunData = NO_DATA, dev: frozenset[str] = NONE,
         state: StackState | None = None) -> list[str]:  # fmt: skip
    state = state or StackState()
    return [predict_run(graph, data, state, 100.0 * i, dev).outcome for i in range(count)]


def test_breaker_opens_after_five_failures_and_half_opens_after_thirty_seconds() -> None:
    state = StackState()
    assert runs(one("fail"), 5, state=state) == ["failed"] * 5
    assert state.breaker_view() == {"a": ("open", 5)}
    opened = state.breaker["a"].last_failure
    shut = predict_run(one("ok"), RunData(), state, opened + 30.0, NONE)
    assert shut.outcome == "failed" and shut.stages[0].attempts == ()  # rejected, not run
    probe = predict_run(one("ok"), RunData(), state, opened + 30.5, NONE)
    assert probe.outcome == "ok" and state.breaker_view() == {}  # the half-open test closes it


def test_a_raised_failure_counts_twice_under_sf_int_01() -> None:
    state = StackState()
    runs(one("raise"), 3, dev=frozenset({S.COUNTS_TWICE}), state=state)
    assert state.breaker_view() == {"a": ("open", 6)}


def test_before_hooks_ascend_after_hooks_descend_and_on_error_stops_at_the_retrier() -> None:
    stack = Stack("custom", frozenset({"retry"}), Retry(2, 100, jitter="none"), probes=(3, 30))
    seen = predict_run(one("transient", stack, n=1), RunData(), StackState(), 0.0, NONE)
    hooks = [(h, p) for h, p, _, _ in seen.stages[0].hooks if h not in ("view", "observed", "log")]
    assert hooks == [("before", 3), ("before", 30), ("on_error", 30), ("after", 30), ("after", 3)]


def test_timeout_ms_is_milliseconds_and_bounds_retried_attempts_too() -> None:
    stack = Stack("custom", frozenset({"timeout", "retry"}), Retry(2, 100, jitter="none"))
    data = RunData(timeout_ms=1500)
    documented = predict_run(one("slow", stack, n=1), data, StackState(), 0.0, NONE)
    assert documented.stages[0].attempts[1][2:] == (2.6, "cancelled")  # 1.1 + 1.5 s
    untimed = predict_run(
        one("slow", stack, n=1), data, StackState(), 0.0, frozenset({RETRY_UNTIMED})
    )
    assert untimed.outcome == "ok" and untimed.stages[0].attempts[1][2] == 46.1


def test_retry_budget_includes_the_first_attempt_and_events_carry_their_fields() -> None:
    stack = Stack("custom", frozenset({"retry"}), Retry(3, 100, "linear", "none"))
    seen = predict_run(one("transient", stack, n=5), RunData(), StackState(), 0.0, NONE)
    a = seen.stages[0]
    assert [k for k, *_ in a.attempts] == [1, 2, 3] and seen.outcome == "failed"
    assert [e[0] for e in a.events][-1] == "stage.retry_exhausted"
    assert dict(a.events[1][1])["delay_ms"] == 200  # linear: base * (attempt + 1)
    lost = predict_run(
        one("transient", stack, n=5), RunData(), StackState(), 0.0, frozenset({EVENTS_LOST})
    )
    assert lost.stages[0].events == ()  # a protocol sink gets nothing under SF-INT-02


def test_idempotency_replays_each_stages_own_success_for_work_stages_only() -> None:
    work = one("ok")
    state = StackState()
    first, second, third = (predict_run(work, RunData(key="k"), state, t, NONE) for t in (0, 5, 9))
    assert first.stages[0].attempts and not second.stages[0].attempts
    assert second.stages[0].data == third.stages[0].data == first.stages[0].data
    assert runs(one("ok", kind="transform"), 2, RunData(key="k")) == ["ok", "ok"]
    cancelled = StackState()
    runs(one("cancel"), 1, RunData(key="k"), state=cancelled)
    assert cancelled.store == {}  # a cancel is no successful completion


def test_an_interrupted_owner_leaves_the_key_free_unless_sf_int_08() -> None:
    assert runs(one("interrupted"), 2, RunData(key="k")) == ["interrupted"] * 2
    leaked = runs(one("interrupted"), 2, RunData(key="k"), frozenset({S.LOCK_LEAKS}))
    assert leaked == ["interrupted", "hung"]


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.id for f in FINDINGS])
def test_interceptor_finding_reproduces_where_declared(finding: Finding) -> None:
    declared = stageflow_version().split("+")[0] in finding.versions
    assert still_reproduces(finding) == declared


def test_a_raising_interceptor_is_isolated_and_a_critical_one_aborts_the_stage() -> None:
    isolated = Stack("custom", frozenset({"breaker"}), None, (7, 30), raising=frozenset({7, 30}))
    seen = predict_run(one("ok", isolated), NO_DATA, StackState(), 0.0, NONE)
    assert seen.outcome == "ok" and len(seen.stages[0].hooks) == 8  # 4 + 2 views + 2 reads
    gated = Stack("custom", frozenset({"idempotency"}), None, (7,), gate=7)
    abort, later = RunData(key="k", abort=True), RunData(key="k")
    for dev, second in ((NONE, "ok"), (frozenset({S.LOCK_LEAKS_ON_ABORT}), "hung")):
        state = StackState()
        outcomes = [
            predict_run(one("ok", gated), d, state, 0.0, dev).outcome for d in (abort, later)
        ]
        assert outcomes == ["aborted", second]


def test_decorrelated_jitter_remembers_the_last_delay_until_the_stage_succeeds() -> None:
    stack = Stack("custom", frozenset({"retry"}), Retry(2, 100, jitter="decorrelated"))
    state, rng = StackState(), random.Random(7)
    predict_run(one("raise"), NO_DATA, state, 0.0, NONE, rng)  # not retryable: no delay drawn
    assert state.previous_delay == {}
    predict_run(one("transient", stack, n=5), NO_DATA, state, 0.0, NONE, rng)
    first = state.previous_delay["a"]
    assert 100 <= first <= 300  # random(base, base * 3) with no earlier delay
    predict_run(one("transient", stack, n=1), NO_DATA, state, 9.0, NONE, rng)
    assert state.previous_delay == {}  # a success forgets it


def test_a_probe_sees_the_runs_ids_and_reads_back_its_observation_in_after() -> None:
    stack = Stack("custom", frozenset({"idempotency"}), None, probes=(7,))
    graph = Graph((StageSpec("a", "work", "ok", 1.0), StageSpec("b", "work", "ok", 2.0)), stack)
    one_entry_per_key = frozenset({S.KEY_PER_RUN})  # SF-INT-06: b replays a's entry
    child = predict_run(graph, RunData(key="k", child=True), StackState(), 5.0, one_entry_per_key)
    first, second = (stage.hooks for stage in child.stages)
    assert [h for h, *_ in first] == ["before", "view", "after", "observed"]
    view = first[1][3] or ""
    assert view.startswith("probe7|00000000-0000-0000-0000-000000000006|")  # the child's id
    assert view.endswith("|verify-topology|practice|idempotency_key")
    assert first[3][3] == "0.0"  # what before noted at 0.0 in this run
    # b replays a's entry: the probe (inside idempotency) never runs before, so after
    # reads the note a's before left in the run's context.
    assert [h for h, *_ in second] == ["after", "observed"] and second[1][3] == "0.0"


def test_a_key_without_an_idempotency_interceptor_couples_nothing() -> None:
    # A default stack with include_idempotency=False: the key is plain data, so two runs at
    # once both execute, and under decorrelated jitter they race for the retrier's previous
    # delay (the model used to have one wait for the other and replay; a ci draw met it).
    jittery = Retry(2, 100, "linear", "decorrelated")
    unguarded = one("transient", Stack("defaults", frozenset({"retry"}), jittery), n=1)
    guarded = one("transient", Stack("defaults", frozenset({"retry", "idempotency"}), jittery), n=1)
    keyed = RunData(key="k1")
    assert not key_guards(unguarded, keyed, NONE)
    assert key_guards(guarded, keyed, NONE)
    assert not duplicates_predictable(unguarded, keyed, StackState(), 0.0, NONE)
    transform = Graph((StageSpec("a", "transform", "ok", 1.0),), guarded.stack)
    assert not key_guards(transform, keyed, NONE)  # a kind it does not deduplicate (SF-INT-05)
