"""The tenant helpers of ``stageflow.auth.tenant`` as pure models: the isolation validator, the
tenant context's access check, and the current tenant of each task and thread.

``TenantIsolationValidator`` (``docs/api/auth.md:580-624``) is a state machine over its record;
:func:`record` is one ``record_access`` call. Its rules:

- "Returns: True if access is allowed, False if it's a violation (in non-strict mode)"
  (``docs/api/auth.md:602``); ``strict: bool = True`` is the default (``:592``) and a strict
  validator raises ``TenantIsolationError`` instead. An access without an org is "Shared
  resource, always allowed" (``stageflow/auth/tenant.py:225``) and is not recorded.
- "Tracks all org_ids encountered during execution" (``tenant.py:187``): every non-None org is
  in ``get_accessed_tenants()`` once, violation or not.
- A violation is recorded whether it raises or not (a user who catches the strict error still
  asks ``is_isolated()``: "Check if execution was properly isolated", ``docs/api/auth.md:624``),
  with the fields the code's own record names (``tenant.py:235-240``: expected and actual org
  as text, resource type and id; no doc lists them, so these are the author's design);
  ``get_violations()`` hands out a copy (``tenant.py:259``), so a caller's edit of the list
  does not change the record.

``TenantContext.validate_access`` (``docs/api/auth.md:532-540``): "Raises
``TenantIsolationError`` if the resource belongs to a different tenant"; a resource without an
org is shared (``tenant.py:85``). The tenant-aware logger "Automatically includes org_id"
(``:563``).

The current tenant (``docs/api/auth.md:639``, "Functions for managing tenant context across
async boundaries"): a ``ContextVar`` per task, so a task starts with the value its creator had
when it was created and what it sets is its own; a sibling never sees it. Nothing documents
threads; a user expects one request's tenant never to reach another's thread, so a new thread
starts with none, and ``asyncio.to_thread`` carries its caller's (Python's own contract for
context variables). ``require_tenant`` raises ``TenantIsolationError`` when none is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHARED = None
RAISES = "raises"


@dataclass(frozen=True)
class Access:
    org: str | None
    resource_type: str | None  # None: left out ("unknown" is the default)
    resource_id: str | None


@dataclass(frozen=True)
class ValidatorState:
    expected: str
    strict: bool
    accessed: tuple[str, ...] = ()
    violations: tuple[tuple[tuple[str, str | None], ...], ...] = field(default=())


def record(state: ValidatorState, access: Access) -> tuple[ValidatorState, bool | str]:
    """One ``record_access``: the new state and what the call returns (or ``RAISES``)."""
    if access.org is SHARED:
        return state, True
    accessed = state.accessed if access.org in state.accessed else (*state.accessed, access.org)
    if access.org == state.expected:
        return ValidatorState(state.expected, state.strict, accessed, state.violations), True
    violation = (("expected_org_id", state.expected), ("actual_org_id", access.org),
                 ("resource_type", access.resource_type or "unknown"),
                 ("resource_id", access.resource_id))  # fmt: skip
    after = ValidatorState(state.expected, state.strict, accessed, (*state.violations, violation))
    return after, (RAISES if state.strict else False)


def validate_access(tenant: str, resource: str | None) -> bool:
    """``TenantContext(org_id=tenant).validate_access(resource)``: True, or False for a raise."""
    return resource is None or resource == tenant


# The current tenant: a program is a list of (lane, op, value) steps over lanes that are the
# main task, tasks it created, and threads. Ops: "set", "clear", "get", "require".
def lane_start(kind: str, creator_value: str | None) -> str | None:
    """The value a new lane starts with: a task or ``to_thread`` copies its creator's context
    when it is created; a ``threading.Thread`` starts with none."""
    return None if kind == "thread" else creator_value


def step(values: dict[str, str | None], lane: str, op: str, value: str | None
         ) -> tuple[dict[str, str | None], str | None]:  # fmt: skip
    """Apply one op of ``lane``; return the new values and what a read answered (``RAISES``
    for ``require_tenant`` with none set, None for writes)."""
    now = dict(values)
    if op == "set":
        now[lane] = value
        return now, None
    if op == "clear":
        now[lane] = None
        return now, None
    if op == "require" and now[lane] is None:
        return now, RAISES
    return now, now[lane]
