"""What Stageflow's cleanup and cancellation tools (pipeline/cancellation.py) must do, used on
their own as a stage or a service uses them: ``CleanupRegistry``, ``CancellationToken``,
``cleanup_on_cancel`` and ``run_with_cleanup``. A :class:`ToolsPlan` is plain data; every
callback works whole quarter seconds of virtual time, so :func:`predict` is exact. The rules,
each with the words it encodes (``stageflow/pipeline/cancellation.py``):

- Registry. "Cleanup callbacks are executed in LIFO order (last registered, first executed)"
  (:32); ``unregister`` returns "True if callback was found and removed, False otherwise"
  (:68), and a removed callback never runs; ``run_all`` "Returns: Tuple of (completed callback
  names, failed callback names with exceptions)" (:84), a callback's name being the ``name`` it
  was registered with, else its own ``__name__``; ``timeout``: "Maximum time to wait for all
  cleanups" (:81): a callback that would outlast it is cut and listed failed with a
  ``TimeoutError``, and ``run_all`` returns within ``timeout`` (default 10.0, its signature).
  A callback that raises is listed with its own exception (``Planned``, the harness's) and the rest
  still run. Afterwards
  nothing is pending ("Number of pending cleanup callbacks", :117), so a second ``run_all``
  returns two empty lists.
- Token. "Request cancellation" (:153) sets ``is_cancelled`` and ``reason`` (default
  "Cancellation requested", its signature); ``on_cancel``: "Register a callback to be called
  when cancelled" (:169): each is called once, at the cancel, or at once when registered on a
  token already cancelled. A second ``cancel`` requests nothing new: the first reason stays
  and no callback runs twice; a callback that raises does not keep the others from running
  nor the cancel from taking effect (a reasonable expectation: the cancel is the request).
- ``cleanup_on_cancel``: "Context manager that ensures cleanup runs on cancellation" and
  "close_connection() is called if cancelled or on normal exit" (:278-284): the cleanup runs
  once whatever the body does, and what the body raised (or its cancellation) propagates; a
  cleanup that raises propagates its own error (it was not swallowed: the caller learns).
- ``run_with_cleanup``: "Run a coroutine with guaranteed cleanup" (:305), "Cleanup function to
  call after coro completes or is cancelled", "Maximum time to wait for cleanup", "Returns:
  The result of the coroutine" (:309-313): the cleanup runs once after the coroutine ends
  (cut at ``cleanup_timeout``, default 5.0), and the caller gets the coroutine's result or
  error, whatever the cleanup did.
"""

from __future__ import annotations

from dataclasses import dataclass

WORK = 0.25  # what a callback that completes takes
HANG = 100.0  # what a callback that outlasts every timeout would take
DEFAULT_RUN_ALL_TIMEOUT = 10.0
DEFAULT_CLEANUP_TIMEOUT = 5.0
DEFAULT_REASON = "Cancellation requested"
CANCEL_AT = 0.625  # when a body or coroutine drawn as "cancelled" is cancelled from outside


@dataclass(frozen=True)
class ToolsPlan:
    callbacks: tuple[tuple[str, bool], ...]  # registry: (ok | raise | hang, registered by name)
    unregister: int | None  # the index of a registered callback to unregister
    timeout: float | None  # run_all's timeout; None: left out
    token_callbacks: tuple[bool, ...]  # on_cancel before the cancel; True: it raises
    reasons: tuple[str | None, ...]  # each cancel() call's reason (None: left out)
    late_callback: bool  # an on_cancel after the cancels
    body: str  # cleanup_on_cancel's body: ok | raise | cancelled
    guard_cleanup: str  # its cleanup: ok | raise
    guard_named: bool
    coro: str  # run_with_cleanup's coroutine: ok | raise | cancelled
    coro_cleanup: str  # its cleanup: ok | raise | hang
    cleanup_timeout: float | None  # None: left out


def cb_name(k: int, named: bool) -> str:
    return f"cleanup {k}" if named else f"callback_{k}"


def registry(plan: ToolsPlan) -> tuple[object, ...]:
    """(unregister answers, pending before run_all, run order, completed, failed, pending
    after, the second run_all)."""
    kept = [k for k in range(len(plan.callbacks)) if k != plan.unregister]
    answers = (plan.unregister is not None, False)  # the registered one, then a stranger
    order = kept[::-1]
    completed = tuple(
        cb_name(k, plan.callbacks[k][1]) for k in order if plan.callbacks[k][0] == "ok"
    )
    failed = tuple(
        (cb_name(k, plan.callbacks[k][1]), {"raise": "Planned", "hang": "TimeoutError"}[kind])
        for k in order
        if (kind := plan.callbacks[k][0]) != "ok"
    )
    return (answers, len(kept), tuple(order), completed, failed, 0, ((), ()))


def run_all_bound(plan: ToolsPlan) -> float:
    return DEFAULT_RUN_ALL_TIMEOUT if plan.timeout is None else plan.timeout


def token(plan: ToolsPlan) -> tuple[object, ...]:
    """(cancelled before, cancelled after, reason, calls per callback, late callback's calls)."""
    if not plan.reasons:
        return (False, False, None, (0,) * len(plan.token_callbacks), 0)
    first = plan.reasons[0]
    reason = DEFAULT_REASON if first is None else first
    late = 1 if plan.late_callback else 0
    return (False, True, reason, (1,) * len(plan.token_callbacks), late)


def guard(plan: ToolsPlan) -> tuple[object, ...]:
    """(cleanup calls, what escaped the ``async with``)."""
    escaped = {"ok": None, "raise": "body", "cancelled": "CancelledError"}[plan.body]
    if plan.guard_cleanup == "raise":
        escaped = "cleanup"
    return (1, escaped)


def wrapped(plan: ToolsPlan) -> tuple[object, ...]:
    """(cleanup calls, result or what escaped, when the call returned)."""
    ended = CANCEL_AT if plan.coro == "cancelled" else 1.0
    limit = DEFAULT_CLEANUP_TIMEOUT if plan.cleanup_timeout is None else plan.cleanup_timeout
    took = {"ok": WORK, "raise": 0.0, "hang": limit}[plan.coro_cleanup]
    outcome = {"ok": "result", "raise": "coro", "cancelled": "CancelledError"}[plan.coro]
    return (1, outcome, ended + took)
