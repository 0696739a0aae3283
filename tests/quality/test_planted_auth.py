"""Planted bugs in ``stageflow.auth``, one per rule of ``models/tenancy.py`` and
``models/tenant_tools.py``: each must fail its ``auth.*`` check (NEW), and pristine Stageflow
must pass (PASS, or KNOWN through its adopted findings).

Every bug is a monkeypatch inside its test (the installed stageflow is never edited): an org
check that compares a string with a UUID, a token read from one key only, an event missing a
field, a validator that never records, a ContextVar replaced by a global. Each registered
finding is also rediscovered when the law is run without adopting it, and a planted *fix* of
SF-AUTH-01 makes the law check the documented rule itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("stageflow.auth", reason="no stageflow.auth here")

from stageflow.auth import events, interceptors, tenant
from stageflow.pipeline.interceptors import InterceptorResult

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.models import tenancy as model
from stageflow_verify.properties.auth_enforcement import CHECKS as ENFORCEMENT
from stageflow_verify.properties.auth_enforcement import _adopted, enforcement_check
from stageflow_verify.properties.tenant_tools import CHECKS as TOOLS
from tests.quality.planting import expect_failure, expect_pass

ENFORCE = ENFORCEMENT[0].run
VALIDATOR, CURRENT = (c.run for c in TOOLS)
Org = interceptors.OrgEnforcementInterceptor
Auth = interceptors.AuthInterceptor
ORIGINAL_ORG_BEFORE = Org.before
ORIGINAL_AUTH_BEFORE = Auth.before


@pytest.mark.parametrize("check", [ENFORCE, VALIDATOR, CURRENT], ids=["enforce", "val", "cur"])
def test_pristine_stageflow_passes(check: Callable[[], None]) -> None:
    expect_pass(check)


async def _org_without_parsing(self: Any, stage: str, ctx: Any) -> Any:
    resource = ctx.data.get("_resource_org_id")
    auth = ctx.data.get("_auth_context")
    if auth and auth.org_id and resource is not None and resource != auth.org_id:
        # the planted bug: a string is compared with the UUID as it is, never parsed
        return InterceptorResult(stage_ran=False, error="Cross-tenant access denied")
    return await ORIGINAL_ORG_BEFORE(self, stage, ctx)


async def _org_passing_strings(self: Any, stage: str, ctx: Any) -> Any:
    if isinstance(ctx.data.get("_resource_org_id"), str):
        return None  # the planted bug: a resource org given as text is never checked
    return await ORIGINAL_ORG_BEFORE(self, stage, ctx)


async def _auth_reading_one_key(self: Any, stage: str, ctx: Any) -> Any:
    if "_auth_token" not in ctx.data:  # the planted bug: data["auth_token"] is not read
        return InterceptorResult(stage_ran=False, error="Missing token")
    return await ORIGINAL_AUTH_BEFORE(self, stage, ctx)


async def _auth_without_token_passes(self: Any, stage: str, ctx: Any) -> Any:
    if not (ctx.data.get("_auth_token") or ctx.data.get("auth_token")):
        return None  # the planted bug: no token, no check
    return await ORIGINAL_AUTH_BEFORE(self, stage, ctx)


async def _auth_forgetting_org(self: Any, stage: str, ctx: Any) -> Any:
    answer = await ORIGINAL_AUTH_BEFORE(self, stage, ctx)
    ctx.data.pop("_org_id", None)  # the planted bug: only _user_id is set
    return answer


async def _auth_remembering_first_user(self: Any, stage: str, ctx: Any) -> Any:
    remembered = getattr(self, "_remembered", None)
    if remembered is not None:  # the planted bug: the shared interceptor keeps a tenant
        ctx.data["_auth_context"] = remembered
        return None
    answer = await ORIGINAL_AUTH_BEFORE(self, stage, ctx)
    self._remembered = ctx.data.get("_auth_context")
    return answer


def _dropping(cls: type, key: str) -> Callable[[Any], dict[str, Any]]:
    original = getattr(cls, "to_dict")  # noqa: B009  (any of the three event classes)

    def to_dict(self: Any) -> dict[str, Any]:
        return {k: v for k, v in original(self).items() if k != key}

    return to_dict


ENFORCEMENT_BUGS = {
    "org compares text with a UUID": (Org, "before", _org_without_parsing),
    "org never checks text": (Org, "before", _org_passing_strings),
    "auth reads one token key": (Auth, "before", _auth_reading_one_key),
    "auth lets a missing token pass": (Auth, "before", _auth_without_token_passes),
    "auth forgets _org_id": (Auth, "before", _auth_forgetting_org),
    "auth remembers the first user": (Auth, "before", _auth_remembering_first_user),
    "denied event without request_id": (
        events.TenantAccessDeniedEvent,
        "to_dict",
        _dropping(events.TenantAccessDeniedEvent, "request_id"),
    ),
    "login event without org_id": (
        events.AuthLoginEvent,
        "to_dict",
        _dropping(events.AuthLoginEvent, "org_id"),
    ),
    "failure event without ip_address": (
        events.AuthFailureEvent,
        "to_dict",
        _dropping(events.AuthFailureEvent, "ip_address"),
    ),
}


@pytest.mark.parametrize("bug", sorted(ENFORCEMENT_BUGS))
def test_planted_enforcement_bug_fails_the_check(bug: str, monkeypatch: Any) -> None:
    cls, name, planted = ENFORCEMENT_BUGS[bug]
    monkeypatch.setattr(cls, name, planted)
    caught = expect_failure(ENFORCE)
    assert isinstance(caught.error, AssertionError), caught.error


@pytest.mark.parametrize("finding", sorted(f.id for f in _adopted()))
def test_each_finding_is_rediscovered_when_not_adopted(finding: str) -> None:
    active = reproducing_ids(_adopted())
    assert finding in active, f"{finding} should reproduce on pristine stageflow"
    caught = expect_failure(lambda: enforcement_check(active - {finding}))
    assert isinstance(caught.error, AssertionError), caught.error


async def _org_denying_userless(self: Any, stage: str, ctx: Any) -> Any:
    auth, resource = ctx.data.get("_auth_context"), ctx.data.get("_resource_org_id")
    try:
        owner = None if resource is None else uuid.UUID(str(resource))
    except ValueError:
        owner = None  # malformed: the original denies it
    if auth is not None and auth.org_id is None and owner is not None:
        # the planted fix of SF-AUTH-01: deny, and say so with the documented event
        event = {"type": "tenant.access_denied", "user_org_id": None,
                 "resource_org_id": str(owner), "user_id": str(auth.user_id),
                 "timestamp": "2026-12-02T00:00:00+00:00",
                 "request_id": str(ctx.request_id) if ctx.request_id else None,
                 "pipeline_run_id": str(ctx.pipeline_run_id)}  # fmt: skip
        ctx.event_sink.try_emit(type="tenant.access_denied", data=event)
        return InterceptorResult(stage_ran=False, error="denied")
    return await ORIGINAL_ORG_BEFORE(self, stage, ctx)


def test_a_fixed_sf_auth_01_is_judged_by_the_documented_rule(monkeypatch: Any) -> None:
    monkeypatch.setattr(Org, "before", _org_denying_userless)
    assert model.NO_ORG_PASSES not in reproducing_ids(_adopted())
    expect_pass(ENFORCE)


class _GlobalTenant:
    """A ContextVar's interface over one process-wide value: the planted bug."""

    value: Any = None

    def get(self) -> Any:
        return _GlobalTenant.value

    def set(self, value: Any) -> None:
        _GlobalTenant.value = value


def _recording_nothing(self: Any, org_id: Any, **kw: Any) -> bool:
    return True  # the planted bug: the validator never records


TOOL_BUGS: dict[str, tuple[Callable[[], None], Any, str, Any]] = {
    "ContextVar replaced by a global": (CURRENT, tenant, "_current_tenant", _GlobalTenant()),
    "clear_current_tenant does nothing": (CURRENT, tenant, "clear_current_tenant", lambda: None),
    "validator never records": (
        VALIDATOR,
        tenant.TenantIsolationValidator,
        "record_access",
        _recording_nothing,
    ),
    "get_violations hands out its own list": (
        VALIDATOR,
        tenant.TenantIsolationValidator,
        "get_violations",
        lambda self: self._violations,
    ),
    "validate_access allows any org": (
        VALIDATOR,
        tenant.TenantContext,
        "validate_access",
        lambda self, resource, operation="access": None,
    ),
}


@pytest.mark.parametrize("bug", sorted(TOOL_BUGS))
def test_planted_tenant_tool_bug_fails_the_check(bug: str, monkeypatch: Any) -> None:
    check, owner, name, planted = TOOL_BUGS[bug]
    monkeypatch.setattr(owner, name, planted)
    if name == "clear_current_tenant":  # the package re-exports it: patch where it is read
        import stageflow.auth

        monkeypatch.setattr(stageflow.auth, name, planted)
    caught = expect_failure(check)
    assert isinstance(caught.error, AssertionError), caught.error
