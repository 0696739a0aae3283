"""Planted bugs in what issue 16's third round added to ``interceptors.stack``: the log records
the docs show, a CriticalInterceptorError raised from an ``after`` hook, and the idempotency
store's TTL between its edges. Each must fail the check, with a shrunk counterexample or at a
named canonical scenario (``stateful/interceptor_scenarios.py``, fixed and minimal by
construction); ``test_planted_interceptors.py`` shows pristine Stageflow passes.

The rules (``models/interceptor_stack.py``, ``models/interceptor_attempts.py``):
``LoggingInterceptor`` writes "Stage starting: {stage}" and "Stage completed: {stage} -
{status}", ``MetricsInterceptor`` "Stage metrics: {stage}" (docs/guides/observability.md:
380-384), the retrier "Retrying stage {stage} in {delay}ms (attempt {n}/{max})" and "Stage
{stage} exhausted {max} attempts" (docs/advanced/retry-backoff.md:238-259), each with its
documented fields; a CriticalInterceptorError "should abort stage execution immediately", from
``after`` too, so the outer ``after`` hooks never run; a stored result lives 24 h; the default
retryable errors are TimeoutError, ConnectionError, OSError (docs/advanced/retry-backoff.md:
175-179), so stageflow's RateLimitError is retried only when named in ``retryable_errors``;
``retry_on_status`` naming "failed" makes the retrier act on a failed output (under SF-INT-12,
adopted: announce, wait, never re-run); ``include_auth=True`` skips every stage of a run
without a token ("InterceptorResult to short-circuit on auth failure", AuthInterceptor).
"""

from __future__ import annotations

import inspect
import logging
import textwrap
from typing import Any

import pytest

pytest.importorskip("stageflow.pipeline.idempotency", reason="no IdempotencyInterceptor here")

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.stateful.interceptor_machine import run_interceptor_machine
from tests.quality.planting import Caught, expect_failure

sf = stageflow_module()
interceptors = sf.pipeline.interceptors
retry_module = sf.pipeline.retry
Idempotency = sf.pipeline.idempotency.IdempotencyInterceptor


def _caught(*symptoms: str) -> Caught:
    """The check fails saying one of ``symptoms``: shrunk to the build and at most three more
    rules, or at a canonical scenario (which names itself)."""
    caught = expect_failure(run_interceptor_machine)
    text = f"{caught.error}\n{caught.report}"
    assert any(s in text for s in symptoms), text
    if "canonical scenario:" not in text:
        rules = [s for s in caught.steps if "agrees" not in s and "teardown" not in s]
        assert rules and rules[0].startswith("state.build_graph_and_run("), caught.steps
        assert len(rules) <= 4, rules
    return caught


def _after_phase_edited(old: str, new: str) -> Any:
    """``run_with_interceptors`` with ``old`` replaced by ``new`` in its AFTER phase only,
    compiled in the module's namespace (a copy: the installed module is not touched)."""
    source = textwrap.dedent(inspect.getsource(interceptors.run_with_interceptors))
    head, marker, after = source.partition("# === AFTER phase ===")
    assert marker and old in after, "this stageflow's run_with_interceptors has another shape"
    namespace = dict(vars(interceptors))
    exec(head + marker + after.replace(old, new), namespace)  # a planted copy
    return namespace["run_with_interceptors"]


ABORT = "if isinstance(e, CriticalInterceptorError):\n                raise"


def test_an_after_abort_isolated_like_any_error_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planted bug: a CriticalInterceptorError from after() is logged and the stage goes on.
    isolated = _after_phase_edited(ABORT, "if False:\n                raise")
    monkeypatch.setattr(sf.pipeline.dag, "run_with_interceptors", isolated)
    _caught("differs from the model")


def _deferring_abort() -> Any:
    """The planted bug: the abort is raised only once every after hook has run."""
    source = textwrap.dedent(inspect.getsource(interceptors.run_with_interceptors))
    head, marker, after = source.partition("# === AFTER phase ===")
    assert marker and ABORT in after, "this stageflow's run_with_interceptors has another shape"
    after = after.replace(ABORT, ABORT.replace("raise", "late.append(e)\n                continue"))
    after = after.replace(
        "    return result", "    if late:\n        raise late[0]\n    return result"
    )
    namespace = dict(vars(interceptors))
    exec(head + "late = []\n    " + marker + after, namespace)  # a planted copy
    return namespace["run_with_interceptors"]


def test_outer_after_hooks_running_past_an_abort_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sf.pipeline.dag, "run_with_interceptors", _deferring_abort())
    _caught("hooks:", "circuit breaker", "idempotency store")


def test_a_completion_record_lost_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: Any, stage: str, result: Any, ctx: Any) -> None:
        raise TypeError("unsupported operand type(s) for |: 'datetime' and 'datetime'")

    # The planted bug (a generated mutant's): the logging interceptor's after() raises, the
    # stack isolates it, and "Stage completed" is never written.
    monkeypatch.setattr(interceptors.LoggingInterceptor, "after", broken)
    _caught("hooks:")


def test_a_start_record_without_the_run_id_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_run_id(self: Any, stage: str, ctx: Any) -> None:
        logging.getLogger("stage_interceptor").info(
            f"Stage starting: {stage}",
            extra={"stage": stage, "pipeline_run_id": None, "topology": ctx.topology},
        )

    monkeypatch.setattr(interceptors.LoggingInterceptor, "before", no_run_id)
    _caught("hooks:")


def test_a_metrics_record_with_the_wrong_status_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def always_completed(self: Any, stage: str, result: Any, ctx: Any) -> None:
        logging.getLogger("stage_metrics").info(
            f"Stage metrics: {stage}",
            extra={
                "stage": stage,
                "status": "completed",
                "duration_ms": 0,
                "pipeline_run_id": str(ctx.pipeline_run_id),
            },
        )

    monkeypatch.setattr(interceptors.MetricsInterceptor, "after", always_completed)
    _caught("hooks:")


class _OffByOneLogger:
    """The retrier's logger, saying attempt N + 1 where it should say N + 2."""

    def __init__(self, real: logging.Logger) -> None:
        self.real = real

    def info(self, message: str, *args: Any, **kwargs: Any) -> None:
        n = kwargs.get("extra", {}).get("attempt")
        if n is not None:
            message = message.replace(f"(attempt {n + 1}/", f"(attempt {n}/")
        self.real.info(message, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_retry_record_with_the_wrong_attempt_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry_module, "logger", _OffByOneLogger(retry_module.logger))
    _caught("hooks:")


@pytest.mark.parametrize("ttl", [24 * 60 + 60, 25 * 60 * 60], ids=["25 minutes", "25 hours"])
def test_a_store_ttl_other_than_24_hours_is_caught(
    monkeypatch: pytest.MonkeyPatch, ttl: int
) -> None:
    defaults = Idempotency.__init__.__kwdefaults__
    monkeypatch.setitem(defaults, "ttl_seconds", ttl)  # the planted bug (generated mutants')
    _caught("idempotency store", "differs from the model")


Retry = retry_module.RetryInterceptor


def test_rate_limits_retried_by_default_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planted bug: the default retryable errors take in TransientError (RateLimitError's
    # base); the documented default is TimeoutError, ConnectionError, OSError.
    widened = (*Retry.DEFAULT_RETRYABLE, retry_module.TransientError)
    monkeypatch.setattr(Retry, "DEFAULT_RETRYABLE", widened)
    _caught("differs from the model")


def test_named_rate_limits_not_retried_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    init = Retry.__init__

    def dropping(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("retryable_errors", None)  # the planted bug: the argument is ignored
        init(self, *args, **kwargs)

    monkeypatch.setattr(Retry, "__init__", dropping)
    _caught("differs from the model")


def test_a_status_retry_never_announced_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    after = Retry.after

    async def deaf(self: Any, stage: str, result: Any, ctx: Any) -> None:
        if result.status == "failed":  # the planted bug: a listed "failed" is not seen
            return
        await after(self, stage, result, ctx)

    monkeypatch.setattr(Retry, "after", deaf)
    _caught("differs from the model")


def test_a_tokenless_run_let_through_by_auth_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = pytest.importorskip("stageflow.auth.interceptors")

    async def lenient(self: Any, stage: str, ctx: Any) -> Any:
        return None  # the planted bug: no token, no short-circuit

    monkeypatch.setattr(auth.AuthInterceptor, "before", lenient)
    _caught("differs from the model", "idempotency store")


def test_a_failed_run_forgetting_its_last_delay_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    after = Retry.after

    async def forgetting(self: Any, stage: str, result: Any, ctx: Any) -> None:
        await after(self, stage, result, ctx)
        self._previous_delays.pop(stage, None)  # the planted bug: cleared on failure too

    monkeypatch.setattr(Retry, "after", forgetting)
    _caught("differs from the model")


def test_a_priority_off_the_documented_one_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planted bug (a generated mutant's): the breaker's priority is 11, not 10; no drawn
    # probe sits at 11, so only the documented value itself shows it.
    monkeypatch.setattr(interceptors.CircuitBreakerInterceptor, "priority", 11)
    _caught("CircuitBreakerInterceptor.priority 11, not 10")
