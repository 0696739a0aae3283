"""Planted bugs in interceptor stacks, one per rule of ``models/interceptor_stack.py``: each must
fail ``interceptors.stack`` with a shrunk counterexample, and pristine Stageflow must pass.

Every bug is a monkeypatch inside its test (never an edit of the installed stageflow): hooks in
the wrong order, the timeout read in the wrong unit, the breaker's threshold off by one, the
idempotency key scoped to the run instead of the key, failures stored as results, one attempt
too many, an event field in the wrong unit. Two more tests plant *fixes* of registered findings
(SF-INT-02, SF-INT-06): the finding stops reproducing, the model drops that deviation and must
still agree with Stageflow, which is how the documented rule itself gets checked.

The machine runs as ``make verify`` runs it, under the selected profile (``ci`` in ``make test``).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis.stateful import INVARIANT_MARKER

pytest.importorskip("stageflow.pipeline.idempotency", reason="no IdempotencyInterceptor here")

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.interceptor_machine import (
    InterceptorStackComparison,
    run_interceptor_machine,
)
from tests.quality.planting import Caught, expect_failure, expect_pass

sf = stageflow_module()
interceptors = sf.pipeline.interceptors
Retry = sf.pipeline.retry.RetryInterceptor
Idempotency = sf.pipeline.idempotency.IdempotencyInterceptor
Breaker = interceptors.CircuitBreakerInterceptor
ORIGINAL = {
    "record": Breaker._record_failure,
    "handle": Retry._handle_retry,
    "delay": Retry._calculate_delay,
    "after": Idempotency.after,
    "timeout_before": interceptors.TimeoutInterceptor.before,
}


_NOT_RULES = {
    name
    for name, member in vars(InterceptorStackComparison).items()
    if hasattr(member, INVARIANT_MARKER)
} | {"teardown"}


def _caught_shrunk(*symptoms: str) -> Caught:
    """The check fails, saying one of ``symptoms``, with a short falsifying program."""
    caught = expect_failure(run_interceptor_machine)
    text = f"{caught.error}\n{caught.report}"
    assert any(s in text for s in symptoms), text
    notes = getattr(caught.error, "__notes__", [])
    if any(n.startswith("canonical scenario: ") for n in notes):
        # Met by a canonical scenario after the machine missed it: a fixed program of a few
        # runs at one rule's edge (stateful/interceptor_scenarios.py), short by construction.
        return caught
    # Shrunk: the build (with its two runs) and at most three more rules (the invariants that ran
    # and the teardown are printed too, and are not rules).
    rules = [s for s in caught.steps if not any(f"state.{n}(" in s for n in _NOT_RULES)]
    assert rules and rules[0].startswith("state.build_graph_and_run("), caught.steps
    assert len(rules) <= 4, rules
    return caught


def reversed_sort(items: Any, *, key: Any = None, reverse: bool = False) -> list[Any]:
    return builtins.sorted(items, key=key, reverse=not reverse)  # the planted bug


def record_opening_at_four(self: Any, stage: str) -> None:
    ORIGINAL["record"](self, stage)
    if self._failure_counts[stage] >= 4:  # the planted bug: the threshold is one too low
        self._breaker_states[stage] = "open"


async def one_more_attempt(self: Any, stage: str, ctx: Any, error: str) -> Any:
    key = f"_retry.{stage}"
    state = ctx.data.get(key, {"attempt": 0})
    if state.get("attempt", 0) == self.max_attempts - 1:  # the planted bug: budget + 1
        ctx.data[key] = {**state, "attempt": state["attempt"] - 1}
    return await ORIGINAL["handle"](self, stage, ctx, error)


async def seconds_as_milliseconds(self: Any, stage: str, ctx: Any) -> Any:
    await ORIGINAL["timeout_before"](self, stage, ctx)
    ctx.data[f"_timeout.{stage}"] *= 1000  # the planted bug: _timeout_ms read as seconds


async def store_failures_too(self: Any, stage: str, result: Any, ctx: Any) -> None:
    if result.status == "failed":  # the planted bug: a failed result is stored as a result
        result = dataclasses.replace(result, status="completed")
    await ORIGINAL["after"](self, stage, result, ctx)


def key_per_run(ctx: Any) -> str | None:
    key = ctx.data.get("idempotency_key")  # the planted bug: the run joins the key
    # The harness's run label, not id(ctx): an address can be reused by a later run, and the
    # search must stay a function of its choices.
    return f"{key}:{ctx.data['_label']}" if key else None


class _DelayInSeconds:
    """An event sink proxy that rewrites one field, as a wrong event builder would."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def try_emit(self, kind: str, data: dict[str, Any]) -> None:  # called positionally
        if "delay_ms" in data:
            data = {**data, "delay_ms": data["delay_ms"] / 1000}
        self.sink.try_emit(kind, data)


async def delay_field_in_seconds(self: Any, stage: str, ctx: Any, error: str) -> Any:
    sink = ctx.event_sink
    ctx.event_sink = _DelayInSeconds(sink)
    try:
        return await ORIGINAL["handle"](self, stage, ctx, error)
    finally:
        ctx.event_sink = sink


async def keyword_events(self: Any, stage: str, ctx: Any, error: str) -> Any:
    """The fix of SF-INT-02: the sink gets the keyword call its protocol declares."""

    class Keywords:
        def try_emit(self, kind: str, data: dict[str, Any]) -> None:
            sink.try_emit(type=kind, data=data)

    sink = ctx.event_sink
    ctx.event_sink = Keywords()
    try:
        return await ORIGINAL["handle"](self, stage, ctx, error)
    finally:
        ctx.event_sink = sink


def key_per_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix of SF-INT-06: every stage keeps its own entry under the key."""
    before, after = Idempotency.before, Idempotency.after

    def scoped(hook: Callable[..., Any]) -> Callable[..., Any]:
        async def run(self: Any, stage: str, *args: Any) -> Any:
            ctx = args[-1]
            key = ctx.data.get("idempotency_key")
            with contextlib.ExitStack() as undo:
                if key:
                    ctx.data["idempotency_key"] = f"{key}@{stage}"
                    undo.callback(ctx.data.__setitem__, "idempotency_key", key)
                return await hook(self, stage, *args)

        return run

    monkeypatch.setattr(Idempotency, "before", scoped(before))
    monkeypatch.setattr(Idempotency, "after", scoped(after))


def test_pristine_stageflow_passes() -> None:
    expect_pass(run_interceptor_machine)


def test_hooks_in_reverse_priority_order_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interceptors, "sorted", reversed_sort, raising=False)
    _caught_shrunk("hooks:", "idempotency store", "circuit breaker")


def test_timeout_unit_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interceptors.TimeoutInterceptor, "before", seconds_as_milliseconds)
    _caught_shrunk("differs from the model")


def test_breaker_threshold_off_by_one_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Breaker, "_record_failure", record_opening_at_four)
    _caught_shrunk("circuit breaker", "differs from the model")


def test_key_scoped_to_the_run_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Idempotency, "_default_key_extractor", staticmethod(key_per_run))
    _caught_shrunk("differs from the model", "idempotency store")


def test_failed_results_stored_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Idempotency, "after", store_failures_too)
    _caught_shrunk("idempotency store", "differs from the model")


def test_one_attempt_too_many_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Retry, "_handle_retry", one_more_attempt)
    _caught_shrunk("attempts:", "stages reached:")


def test_event_field_in_wrong_unit_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Retry, "_handle_retry", delay_field_in_seconds)
    _caught_shrunk("delay_ms")


def test_documented_events_pass_once_sf_int_02_is_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Retry, "_handle_retry", keyword_events)
    expect_pass(run_interceptor_machine)


def test_documented_key_scope_passes_once_sf_int_06_is_fixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_per_stage(monkeypatch)
    expect_pass(run_interceptor_machine)


async def no_second_look(self: Any, stage_name: str, ctx: Any) -> Any:
    key = self._key_extractor(ctx)
    if not key:
        return None
    cached = await self._store.get(key)
    if cached is not None:
        return self._short_circuit(stage_name, key, cached, ctx)
    lock = await self._get_or_create_lock(key)
    await lock.acquire()
    ctx.data[self._LOCK_HANDLE_KEY] = lock
    ctx.data[self._LOCK_OWNER_KEY] = True  # the planted bug: no second look once locked
    return None


def test_a_concurrent_duplicate_executing_again_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # "concurrent duplicates return the previously computed StageResult": the run that waited
    # on the key's lock must replay, whoever owned it and whatever jitter the owner drew.
    monkeypatch.setattr(Idempotency, "before", no_second_look)
    _caught_shrunk("differs from the model", "idempotency store")


def linear_from_zero(self: Any, stage: str, attempt: int) -> int:
    if self.backoff_strategy.name == "LINEAR":  # the planted bug: base * attempt, not + 1
        attempt -= 1
    delay: int = ORIGINAL["delay"](self, stage, attempt)
    return delay


def test_linear_back_off_one_step_behind_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Retry, "_calculate_delay", linear_from_zero)
    _caught_shrunk("delay_ms", "Retrying stage", "differs from the model")
