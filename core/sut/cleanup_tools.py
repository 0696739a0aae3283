"""Stageflow's cleanup and cancellation tools driven by a
:class:`~models.cleanup_tools.ToolsPlan`, observed as :mod:`models.cleanup_tools` predicts.

:func:`play_tools` is a coroutine for the suite's deterministic loop: every callback sleeps
virtual time, so what it returns is a function of the plan. Arguments the plan leaves out are
left out of the call (the defaults are part of the contract).

For example::

    seen = run(lambda: play_tools(plan), HypothesisChooser(data)).value
    seen == expected(plan)  # while Stageflow keeps its promises
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from stageflow_verify.models.cleanup_tools import (
    CANCEL_AT,
    HANG,
    WORK,
    ToolsPlan,
    cb_name,
    run_all_bound,
)


class Planned(Exception):
    """What a callback, body or coroutine raises when the plan says so."""


def _sleeper(kind: str, ran: list[int], k: int) -> Callable[[], Awaitable[None]]:
    async def callback() -> None:
        ran.append(k)
        if kind == "raise":
            raise Planned(f"callback {k}")
        await asyncio.sleep(WORK if kind == "ok" else HANG)

    callback.__name__ = cb_name(k, False)
    return callback


async def play_registry(plan: ToolsPlan) -> tuple[tuple[object, ...], bool]:
    """The registry's observation, and whether run_all returned within its timeout."""
    from stageflow.pipeline.cancellation import CleanupRegistry

    loop = asyncio.get_running_loop()
    reg, ran = CleanupRegistry(), list[int]()
    callbacks = [_sleeper(kind, ran, k) for k, (kind, _) in enumerate(plan.callbacks)]
    for k, (_, named) in enumerate(plan.callbacks):
        if named:
            reg.register(callbacks[k], name=cb_name(k, True))
        else:
            reg.register(callbacks[k])
    removed = plan.unregister is not None and reg.unregister(callbacks[plan.unregister])
    answers = (removed, reg.unregister(_sleeper("ok", [], 99)))  # then one never registered
    pending = reg.pending_count
    start = loop.time()
    if plan.timeout is None:
        completed, failed = await reg.run_all()
    else:
        completed, failed = await reg.run_all(timeout=plan.timeout)
    within = loop.time() - start <= run_all_bound(plan) + 1e-9
    failures = tuple((name, type(exc).__name__) for name, exc in failed)
    again = await reg.run_all()
    second = (tuple(again[0]), tuple(again[1]))
    seen = (answers, pending, tuple(ran), tuple(completed), failures, reg.pending_count, second)
    return seen, within


def play_token(plan: ToolsPlan) -> tuple[object, ...]:
    from stageflow.pipeline.cancellation import CancellationToken

    token = CancellationToken()
    calls = [0] * len(plan.token_callbacks)

    def callback(k: int, raises: bool) -> Callable[[], None]:
        def call() -> None:
            calls[k] += 1
            if raises:
                raise Planned(f"token callback {k}")

        return call

    for k, raises in enumerate(plan.token_callbacks):
        token.on_cancel(callback(k, raises))
    before = token.is_cancelled
    for reason in plan.reasons:
        if reason is None:
            token.cancel()
        else:
            token.cancel(reason)
    late = [0]
    if plan.late_callback:
        token.on_cancel(lambda: late.__setitem__(0, late[0] + 1))
    return (before, token.is_cancelled, token.reason, tuple(calls), late[0])


async def _outside_cancel(coro: Awaitable[Any]) -> Any:
    """Await ``coro`` in a task of its own, cancelled at CANCEL_AT."""
    task = asyncio.ensure_future(coro)
    asyncio.get_running_loop().call_later(CANCEL_AT, task.cancel)
    return await task


async def play_guard(plan: ToolsPlan) -> tuple[object, ...]:
    from stageflow.pipeline.cancellation import cleanup_on_cancel

    calls = [0]

    async def cleanup() -> None:
        calls[0] += 1
        await asyncio.sleep(WORK)
        if plan.guard_cleanup == "raise":
            raise Planned("cleanup")

    async def body() -> None:
        named = {"name": "guarded"} if plan.guard_named else {}
        manager = cleanup_on_cancel(cleanup, **named)
        async with manager:
            if plan.body == "raise":
                raise Planned("body")
            if plan.body == "cancelled":
                await asyncio.sleep(1.0)

    escaped: str | None = None
    try:
        await (_outside_cancel(body()) if plan.body == "cancelled" else body())
    except Planned as exc:
        escaped = str(exc)
    except asyncio.CancelledError:
        escaped = "CancelledError"
    return (calls[0], escaped)


async def play_wrapped(plan: ToolsPlan) -> tuple[object, ...]:
    from stageflow.pipeline.cancellation import run_with_cleanup

    loop = asyncio.get_running_loop()
    calls = [0]

    async def cleanup() -> None:
        calls[0] += 1
        if plan.coro_cleanup == "raise":
            raise Planned("cleanup")
        await asyncio.sleep(WORK if plan.coro_cleanup == "ok" else HANG)

    async def coro() -> str:
        await asyncio.sleep(1.0)
        if plan.coro == "raise":
            raise Planned("coro")
        return "result"

    async def call() -> Any:
        if plan.cleanup_timeout is None:
            return await run_with_cleanup(coro(), cleanup)
        return await run_with_cleanup(coro(), cleanup, cleanup_timeout=plan.cleanup_timeout)

    start = loop.time()
    try:
        outcome = await (_outside_cancel(call()) if plan.coro == "cancelled" else call())
    except Planned as exc:
        outcome = str(exc)
    except asyncio.CancelledError:
        outcome = "CancelledError"
    return (calls[0], outcome, round(loop.time() - start, 6))
