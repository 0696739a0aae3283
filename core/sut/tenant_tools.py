"""The real tenant helpers of ``stageflow.auth.tenant``, played step by step and projected onto
``models/tenant_tools.py``'s terms.

:func:`play_validator` drives one ``TenantIsolationValidator`` (``strict`` given or left out)
through ``record_access`` calls (keywords given or left out), reading ``get_violations()``,
``get_accessed_tenants()`` and ``is_isolated()`` after each, and editing the list
``get_violations()`` returned to see whether the record changes. :func:`play_tenant_context`
asks a ``TenantContext`` about resources and reads its logger, ``to_dict`` and
``from_snapshot``. :func:`play_current_tenant` runs the current-tenant functions in lanes
(the main task, tasks it created, ``threading.Thread`` s and ``asyncio.to_thread`` workers),
one step at a time in the program's order: a conductor in the main task hands each step to its
lane and waits for the answer, so the interleaving is the program's, never the OS's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.models.tenant_tools import RAISES, Access

Step = tuple[int, str, str | None]  # lane index, op, value
LEVELS = ("debug", "info", "warning", "error", "exception")
# The validator and the tenant context log each violation; the checks read the answers, not
# the log (a handler here keeps Python's last-resort handler from printing them).
logging.getLogger("stageflow.auth.tenant").addHandler(logging.NullHandler())


def _org(text: str | None) -> uuid.UUID | None:
    return None if text is None else uuid.UUID(text)


def play_validator(expected: str, strict: bool | None, accesses: list[Access]
                   ) -> list[dict[str, Any]]:  # fmt: skip
    from stageflow.auth import TenantIsolationError, TenantIsolationValidator

    org = uuid.UUID(expected)
    validator = (
        TenantIsolationValidator(expected_org_id=org)
        if strict is None
        else TenantIsolationValidator(expected_org_id=org, strict=strict)
    )
    seen: list[dict[str, Any]] = []
    for access in accesses:
        kw = {k: v for k, v in (("resource_type", access.resource_type),
                                ("resource_id", access.resource_id)) if v is not None}  # fmt: skip
        try:
            answer: Any = validator.record_access(_org(access.org), **kw)
            error = None
        except TenantIsolationError as exc:
            answer = RAISES
            error = (str(exc.expected_org_id), str(exc.actual_org_id))
        handed_out = validator.get_violations()
        violations = [tuple(sorted(v.items())) for v in handed_out]
        handed_out.append({"edited": True})  # the caller's list: the record must not change
        seen.append({
            "answer": answer, "error": error,
            "violations": violations, "after_edit": len(validator.get_violations()),
            "accessed": sorted(str(o) for o in validator.get_accessed_tenants()),
            "isolated": validator.is_isolated(),
        })  # fmt: skip
    return seen


def play_tenant_context(tenant: str, resources: list[str | None], with_user: bool
                        ) -> dict[str, Any]:  # fmt: skip
    sf = stageflow_module()
    from stageflow.auth import TenantContext, TenantIsolationError

    user = uuid.UUID(int=0xB0) if with_user else None
    org = uuid.UUID(tenant)
    ctx = TenantContext(org_id=org, user_id=user) if with_user else TenantContext(org_id=org)
    allowed = []
    for resource in resources:
        try:
            ctx.validate_access(_org(resource), operation="read_document")
            allowed.append(True)
        except TenantIsolationError:
            allowed.append(False)
    records: list[logging.LogRecord] = []
    keep = logging.Handler()
    keep.emit = records.append  # type: ignore[method-assign,assignment]
    inner = logging.getLogger("stageflow_verify.tenant_logger")
    inner.addHandler(keep)
    inner.propagate, inner.disabled = False, False
    inner.setLevel(logging.DEBUG)
    log = ctx.get_logger("stageflow_verify.tenant_logger")
    try:
        for level in LEVELS:  # every level; info without an extra dict of its own
            extra = None if level == "info" else {"k": "v"}
            getattr(log, level)("hello", extra=extra)
    finally:
        inner.removeHandler(keep)
    from_snapshot = TenantContext.from_snapshot(_snapshot(sf, uuid.UUID(tenant), user))
    return {
        "allowed": allowed,
        "logged": [
            (r.levelname.lower(), getattr(r, "org_id", None), getattr(r, "k", None))
            for r in records
        ],
        "to_dict": ctx.to_dict(),
        "from_snapshot": None if from_snapshot is None else str(from_snapshot.org_id),
        "from_empty": TenantContext.from_snapshot(_snapshot(sf, None, None)),
    }


def play_org_context(features: tuple[str, ...], plan: str | None, asked: tuple[str, ...]
                     ) -> dict[str, Any]:  # fmt: skip
    import dataclasses

    from stageflow.auth import OrgContext

    org = uuid.UUID(int=0xA0)
    given: dict[str, Any] = {} if plan is None else {"plan_tier": plan}
    ctx = OrgContext(org_id=org, features=features, **given)
    try:
        ctx.features = ()  # type: ignore[misc]  # a frozen dataclass must refuse it
        frozen = False
    except dataclasses.FrozenInstanceError:
        frozen = True
    has = [ctx.has_feature(f) for f in asked]
    return {"has": has, "plan": ctx.plan_tier, "tenant": ctx.tenant_id, "frozen": frozen,
            "repr_names_org": str(org) in repr(ctx)}  # fmt: skip


def _snapshot(sf: Any, org: uuid.UUID | None, user: uuid.UUID | None) -> Any:
    # Releases with RunIdentity group the ids (1.x); earlier snapshots carry them as fields.
    identity = getattr(sf.context, "RunIdentity", None)
    if identity is not None:
        return sf.context.ContextSnapshot(run_id=identity(org_id=org, user_id=user))
    return sf.context.ContextSnapshot(org_id=org, user_id=user)


def _apply(op: str, value: str | None) -> Any:
    from stageflow.auth import (
        TenantIsolationError,
        clear_current_tenant,
        get_current_tenant,
        require_tenant,
        set_current_tenant,
    )

    if op == "set":
        set_current_tenant(_org(value))
        return None
    if op == "clear":
        clear_current_tenant()
        return None
    try:
        got = require_tenant() if op == "require" else get_current_tenant()
    except TenantIsolationError:
        return RAISES
    return None if got is None else str(got)


def play_current_tenant(prefix: list[tuple[str, str | None]], kinds: list[str],
                        steps: list[Step]) -> list[Any]:  # fmt: skip
    """Main runs ``prefix``, creates one lane per kind, then the steps run in order (lane 0 is
    main); the answer of every step, in order."""

    async def main() -> list[Any]:
        # Start from no tenant: a value kept outside the task's context (a global where a
        # ContextVar belongs) must not carry one example's state into the next.
        _apply("clear", None)
        for op, value in prefix:
            _apply(op, value)
        lanes: list[Callable[[str, str | None], Any]] = [lambda op, v: _wrap(_apply(op, v))]
        workers: list[Any] = []
        stops: list[Callable[[], None]] = []
        for kind in kinds:
            if kind == "task":
                inbox: asyncio.Queue[tuple[str, str | None] | None] = asyncio.Queue()
                outbox: asyncio.Queue[Any] = asyncio.Queue()

                async def task_worker(i: Any = inbox, o: Any = outbox) -> None:
                    while (item := await i.get()) is not None:
                        o.put_nowait(_apply(*item))

                workers.append(asyncio.create_task(task_worker()))

                async def ask(op: str, v: str | None, i: Any = inbox, o: Any = outbox) -> Any:
                    i.put_nowait((op, v))
                    return await o.get()

                lanes.append(ask)
                stops.append(functools.partial(inbox.put_nowait, None))
            else:
                tin: queue.Queue[tuple[str, str | None] | None] = queue.Queue()
                tout: queue.Queue[Any] = queue.Queue()

                def thread_worker(i: Any = tin, o: Any = tout) -> None:
                    while (item := i.get()) is not None:
                        o.put(_apply(*item))

                if kind == "thread":
                    thread = threading.Thread(target=thread_worker, daemon=True)
                    thread.start()
                    workers.append(thread)
                else:  # to_thread: a worker thread that carries this task's context
                    workers.append(asyncio.ensure_future(asyncio.to_thread(thread_worker)))
                    await asyncio.sleep(0)  # let it reach the executor before we block on it

                def ask_thread(op: str, v: str | None, i: Any = tin, o: Any = tout) -> Any:
                    i.put((op, v))
                    return _wrap(o.get(timeout=10))

                lanes.append(ask_thread)
                stops.append(functools.partial(tin.put, None))
        answers = []
        for lane, op, value in steps:
            answers.append(await lanes[lane](op, value))
        for stop in stops:
            stop()
        for worker in workers:
            if isinstance(worker, threading.Thread):
                worker.join(timeout=10)
            else:
                await worker
        return answers

    return asyncio.run(main())


async def _wrap(value: Any) -> Any:
    return value
