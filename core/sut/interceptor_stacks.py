"""The interceptor lists a :class:`~models.interceptor_stack.Stack` stands for, the recording
parts (probe interceptors, event sinks) and the views of the state a stack keeps.

A probe records every hook it gets with the run's label, the stage, its priority, the virtual
time and (``after``) the result's status; it reads the run through an ``InterceptorContext``
(its view in ``before``, an observation added in ``before`` and read back in ``after``, as the
guide's example does), and leaves every answer to ``BaseInterceptor``'s own hooks (``None``
to continue, ``on_error`` FAIL), so probes watch without steering. A :class:`Sink` is an
EventSink: ``protocol`` takes ``try_emit(*, type, data)`` only, as ``stageflow.events.EventSink``
declares it; ``lenient`` takes positional arguments as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

from stageflow_verify.core.sut.graphs import sf
from stageflow_verify.models.interceptor_config import LOG_FIELDS, LOG_PRIORITY, log_line
from stageflow_verify.models.interceptor_stack import Stack

HookLog = list[tuple[str, str, str, int, float, str | None]]  # label stage hook prio t status
_interceptors = sf.pipeline.interceptors


class _LogRecorder(logging.Handler):
    """Files each record of a documented logger as a hook of the run whose task wrote it."""

    def __init__(self, log: HookLog, run_label: contextvars.ContextVar[str]) -> None:
        super().__init__(logging.INFO)
        self.log, self.run_label = log, run_label

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: getattr(record, k) for k in LOG_FIELDS if hasattr(record, k)}
        stage = str(fields.get("stage"))
        now = asyncio.get_running_loop().time()
        line = log_line(record.getMessage(), **fields)
        self.log.append((self.run_label.get(), stage, "log", LOG_PRIORITY[record.name], now, line))


@contextlib.contextmanager
def recording_logs(log: HookLog, run_label: contextvars.ContextVar[str]) -> Iterator[None]:
    """Record the documented loggers' records into ``log`` (and nowhere else: they are
    disabled by ``quiet()`` and would otherwise reach the root logger's handlers)."""
    recorder = _LogRecorder(log, run_label)
    loggers = [logging.getLogger(name) for name in LOG_PRIORITY]
    saved = [(lg.disabled, lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.disabled, lg.propagate = False, False
        lg.setLevel(logging.INFO)
        lg.addHandler(recorder)
    try:
        yield
    finally:
        for lg, (disabled, propagate, level) in zip(loggers, saved, strict=True):
            lg.removeHandler(recorder)
            lg.disabled, lg.propagate = disabled, propagate
            lg.setLevel(level)


class Probe(_interceptors.BaseInterceptor):  # type: ignore[misc,name-defined]
    def __init__(self, priority: int, log: HookLog, raising: bool, gate: str | None) -> None:
        self.priority = priority
        self.name = f"probe{priority}"
        self.log = log
        self.raising, self.gate = raising, gate  # gate: the hook that aborts, if any

    def _abort(self, hook: str, ctx: Any) -> None:
        if self.gate == hook and ctx.data.get("_abort"):
            raise _interceptors.CriticalInterceptorError("the gate is closed", self.name)

    def _note(self, hook: str, stage: str, ctx: Any, status: str | None = None) -> None:
        now = asyncio.get_running_loop().time()
        self.log.append((ctx.data["_label"], stage, hook, self.priority, now, status))

    def _fail(self, hook: str) -> None:
        if self.raising:
            raise RuntimeError(f"{self.name}.{hook} is broken")

    def _view(self, ctx: Any) -> Any:
        return _interceptors.InterceptorContext(ctx, _interceptor_name=self.name)

    async def before(self, stage_name: str, ctx: Any) -> Any:
        self._note("before", stage_name, ctx)
        view = self._view(ctx)
        self._note("view", stage_name, ctx, _summary(view))
        view.data["scribble"] = self.name  # into the view's copy: no later view may see it
        view.add_observation("start", asyncio.get_running_loop().time())
        self._abort("before", ctx)
        self._fail("before")
        return await super().before(stage_name, ctx)  # "None to continue" (BaseInterceptor)

    async def after(self, stage_name: str, result: Any, ctx: Any) -> None:
        self._note("after", stage_name, ctx, str(result.status))
        seen = self._view(ctx).get_observation("start")
        self._note("observed", stage_name, ctx, None if seen is None else repr(round(seen, 7)))
        self._abort("after", ctx)
        self._fail("after")
        await super().after(stage_name, result, ctx)

    async def on_error(self, stage_name: str, error: Exception, ctx: Any) -> Any:
        self._note("on_error", stage_name, ctx)
        self._fail("on_error")
        return await super().on_error(stage_name, error, ctx)  # FAIL: watch, do not steer


def _summary(view: Any) -> str:
    """A probe's view as ``models.interceptor_config.view_of`` spells it."""
    ids = (view.pipeline_run_id, view.request_id, view.session_id, view.user_id, view.org_id)
    keys = ",".join(sorted(k for k in view.data if not k.startswith("_")))
    return "|".join([view.name, *map(str, ids), view.topology, view.execution_mode, keys])


class Sink:
    def __init__(self, lenient: bool) -> None:
        self.lenient = lenient
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.events.append((type, dict(data or {})))

    def try_emit(self, *args: Any, **kwargs: Any) -> None:
        if args and not self.lenient:
            raise TypeError("try_emit() takes keyword arguments only (EventSink protocol)")
        kind, data = (args[0], args[1]) if args else (kwargs["type"], kwargs["data"])
        self.events.append((kind, dict(data or {})))


def build_stack(stack: Stack, log: HookLog) -> list[Any] | None:
    """The ``interceptors=`` argument for ``stack`` (None: leave it out)."""
    from stageflow.pipeline.idempotency import IdempotencyInterceptor, InMemoryIdempotencyStore
    from stageflow.pipeline.retry import BackoffStrategy, JitterStrategy, RetryInterceptor

    if stack.how == "omitted":
        return None
    if stack.how == "empty":
        return []
    made: list[Any] = []
    if stack.how == "defaults":
        kwargs: dict[str, Any] = {}
        if "include_idempotency" in stack.spelled or "idempotency" not in stack.parts:
            kwargs["include_idempotency"] = "idempotency" in stack.parts
        if "store" in stack.spelled:
            kwargs["idempotency_store"] = InMemoryIdempotencyStore()
        if "include_auth" in stack.spelled or "auth" in stack.parts:
            kwargs["include_auth"] = "auth" in stack.parts
        made = list(_interceptors.get_default_interceptors(**kwargs))
    else:
        kinds = {
            "idempotency": IdempotencyInterceptor,
            "timeout": _interceptors.TimeoutInterceptor,
            "breaker": _interceptors.CircuitBreakerInterceptor,
        }
        made = [kinds[p]() for p in sorted(stack.parts - {"retry"})]
    if stack.retry is not None:
        r = stack.retry
        given: dict[str, Any] = {
            "max_attempts": r.max_attempts,
            "base_delay_ms": r.base_delay_ms,
            "backoff_strategy": BackoffStrategy(r.backoff),
            "jitter_strategy": JitterStrategy(r.jitter),
        }
        args = {k: v for k, v in given.items() if k in stack.spelled}
        if r.rate_limits:  # the documented default tuple, and stageflow's RateLimitError
            limited = sf.pipeline.retry.RateLimitError
            args["retryable_errors"] = (TimeoutError, ConnectionError, OSError, limited)
        if r.on_failed:
            args["retry_on_status"] = ("retry", "failed")
        made.append(RetryInterceptor(**args))
    gate = {stack.gate: stack.gate_hook}
    made += [Probe(p, log, p in stack.raising, gate.get(p)) for p in stack.probes]
    cut = stack.rotate % len(made) if made else 0
    return made[cut:] + made[:cut]


def _find(interceptors: list[Any], name: str) -> Any:
    return next((i for i in interceptors if type(i).__name__ == name), None)


def breaker_view(interceptors: list[Any]) -> dict[str, tuple[str, int]]:
    breaker = _find(interceptors, "CircuitBreakerInterceptor")
    if breaker is None:
        return {}
    counts = breaker._failure_counts
    states = breaker._breaker_states
    return {s: (states.get(s, "closed"), n) for s, n in sorted(counts.items()) if n}


def store_view(interceptors: list[Any], now: float) -> tuple[tuple[str, Any], ...]:
    keeper = _find(interceptors, "IdempotencyInterceptor")
    if keeper is None:
        return ()
    seen = []
    for entry in keeper._store._entries.values():
        if entry.expires_at is not None and entry.expires_at <= now:
            continue
        data = entry.result.data
        while isinstance(data, sf.stages.result.StageResult):  # a replay stores one inside
            data = data.data
        seen.append((entry.result.name, tuple(sorted(data.items()))))
    return tuple(sorted(seen))


def unbind_locks(interceptors: list[Any]) -> None:
    """Let the next run's loop use the idempotency locks (an unwaited lock binds to no loop)."""
    keeper = _find(interceptors, "IdempotencyInterceptor")
    if keeper is None:
        return
    locks = [keeper._key_locks_guard, *keeper._key_locks.values()]
    locks += [getattr(keeper._store, "_lock", None)]
    for lock in locks:
        if lock is not None:
            lock._loop = None
