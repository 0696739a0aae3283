"""Findings of ``auth.enforcement``: where the auth interceptors let a stage run that the
documentation (or a user reading it) says must not, and where a stage cannot read its identity.

Each was argued against before it was registered (the ``argument`` of its basis, and the
module docstring of ``models/tenancy.py``, say what speaks for Stageflow): SF-AUTH-01 is what
the OrgEnforcementInterceptor docstring says ("if both are present"), so its basis is the
reader's expectation, not a quote; SF-AUTH-02 and SF-AUTH-04 are what two guides say in as many
words; SF-AUTH-03 rests on the AuthInterceptor's own "validate authentication before any other
processing occurs" against ``run_with_interceptors``' isolation of hook errors, which is right
for metrics and wrong for an authentication check. The reproducers call
``run_with_interceptors`` (public in every release) or build a graph, as a user would.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases
from stageflow_verify.models import tenancy as model

CHECK = "auth.enforcement"
ORG_A, ORG_B = uuid.UUID(int=0xA0), uuid.UUID(int=0xA1)


def has_auth(sf: ModuleType) -> str | None:
    import importlib.util

    if importlib.util.find_spec("stageflow.auth") is None:
        return "this stageflow has no stageflow.auth"
    return None


def graph_takes_interceptors(sf: ModuleType) -> str | None:
    import inspect

    if has_auth(sf) is not None:
        return has_auth(sf)
    if "interceptors" not in inspect.signature(sf.Pipeline.build).parameters:
        return "Pipeline.build() takes no interceptors: a built graph runs no auth stack here"
    return None


class Sink:
    def __init__(self) -> None:
        self.types: list[str] = []

    def try_emit(self, *, type: str, data: dict[str, Any]) -> None:
        self.types.append(type)

    async def emit(self, *, type: str, data: dict[str, Any]) -> None:
        self.types.append(type)


class Validator:
    """An identity provider: answers claims for ``org`` (None: a user in no org), or raises
    ConnectionError (it is down) from call number ``down_from`` on."""

    def __init__(self, org: uuid.UUID | None, down_from: int = 99) -> None:
        self.org, self.down_from, self.calls = org, down_from, 0

    async def validate(self, token: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls >= self.down_from:
            raise ConnectionError("identity provider unreachable")
        return {"user_id": str(uuid.UUID(int=0xB0)), "session_id": str(uuid.UUID(int=0xC0)),
                "org_id": None if self.org is None else str(self.org)}  # fmt: skip


def run_stages(sf: ModuleType, interceptors: list[Any], data: dict[str, Any], stages: int = 1,
               org_id: uuid.UUID | None = None) -> tuple[int, list[str]]:  # fmt: skip
    """Run ``stages`` stages through ``run_with_interceptors`` on one context; how many ran,
    and the event types its sink received."""
    sink, ran = Sink(), []
    ctx = sf.PipelineContext(pipeline_run_id=uuid.uuid4(), request_id=None, session_id=None,
                             user_id=None, org_id=org_id, interaction_id=None,
                             event_sink=sink, data=data)  # fmt: skip

    async def main() -> None:
        for i in range(stages):

            async def stage(name: str = f"s{i}") -> Any:
                ran.append(name)
                now = datetime.now(UTC)
                return sf.StageResult(name=name, status="completed", started_at=now, ended_at=now)

            await sf.run_with_interceptors(f"s{i}", stage, ctx, interceptors)

    asyncio.run(main())
    return len(ran), sink.types


def user_without_org_reads_any_org(sf: ModuleType) -> bool:
    from stageflow.auth import AuthInterceptor, OrgEnforcementInterceptor

    stack = [AuthInterceptor(jwt_validator=Validator(org=None)), OrgEnforcementInterceptor()]
    ran, events = run_stages(sf, stack, {"_auth_token": "t", "_resource_org_id": str(ORG_A)})
    if ran:
        print(f"VIOLATION: SF-AUTH-01: a user in no org ran a stage on org {ORG_A}'s resource; "
              f"events {events}")  # fmt: skip
    return ran == 1


def run_org_never_checked(sf: ModuleType) -> bool:
    from stageflow.auth import AuthInterceptor, OrgEnforcementInterceptor

    leaks = []
    for user_org in (ORG_B, None):
        stack = [AuthInterceptor(jwt_validator=Validator(user_org)), OrgEnforcementInterceptor()]
        ran, _ = run_stages(sf, stack, {"_auth_token": "t"}, org_id=ORG_A)
        if ran:
            leaks.append(f"a user of org {user_org} ran a stage of a run whose org_id is {ORG_A}")
    if leaks:
        print(f"VIOLATION: SF-AUTH-02: {'; '.join(leaks)}")
    return bool(leaks)


def auth_errors_fail_open(sf: ModuleType) -> bool:
    from stageflow.auth import AuthInterceptor, OrgEnforcementInterceptor

    # Auth alone (docs/guides/governance.md:54 stacks it with the defaults, no enforcement).
    alone, _ = run_stages(
        sf, [AuthInterceptor(jwt_validator=Validator(ORG_A, 1))], {"_auth_token": "t"}
    )
    # Both: the provider answers for s0, is down for s1.
    both = [AuthInterceptor(jwt_validator=Validator(ORG_A, 2)), OrgEnforcementInterceptor()]
    ran, events = run_stages(sf, both, {"_auth_token": "t"}, stages=2)
    found = []
    if alone:
        found.append("the identity provider is down and the stage ran unauthenticated")
    if ran == 2:
        found.append(f"s1 ran on s0's identity while the provider was down (events {events})")
    if found:
        print(f"VIOLATION: SF-AUTH-03: {'; '.join(found)}")
    return bool(found)


def stage_never_sees_auth(sf: ModuleType) -> bool:
    from stageflow.auth import AuthInterceptor

    seen: list[Any] = []

    async def admin_stage(ctx: Any) -> Any:
        # docs/guides/authentication.md:261, as the guide writes it
        seen.append(getattr(ctx.inputs.ports, "auth", None) if ctx.inputs.ports else None)
        return sf.StageOutput.ok()

    graph = (
        sf.Pipeline()
        .with_stage("admin", admin_stage, sf.StageKind.TRANSFORM)
        .build(interceptors=[AuthInterceptor(jwt_validator=Validator(ORG_A))])
    )
    ctx = sf.PipelineContext(pipeline_run_id=uuid.uuid4(), request_id=None, session_id=None,
                             user_id=None, org_id=None, interaction_id=None,
                             event_sink=Sink(), data={"_auth_token": "t"})  # fmt: skip
    asyncio.run(graph.run(ctx))
    authenticated = ctx.data.get("_auth_context") is not None
    if authenticated and seen == [None]:
        print("VIOLATION: SF-AUTH-04: the run authenticated "
              f"({ctx.data['_auth_context']!r}) and the stage read ports.auth = None")  # fmt: skip
    return authenticated and seen == [None]


FINDINGS = [
    Finding(
        model.NO_ORG_PASSES,
        "OrgEnforcementInterceptor lets a user without an org_id read any org's resource",
        releases(),
        CHECK,
        'OrgEnforcementInterceptor: \'Checks ctx.data["_resource_org_id"] against '
        "authenticated user's org_id', 'Blocks cross-tenant access attempts' (docs/api/"
        "auth.md:213-214).",
        "With AuthContext.org_id None (a token without an org claim: 'optional for personal "
        "accounts'), before() skips the check (interceptors.py:300 `if auth_context.org_id and "
        "...`): the stage runs on a resource of any org and no tenant.access_denied is emitted.",
        user_without_org_reads_any_org,
        basis=expected(
            "A user in no tenant is outside every tenant: reading tenant X's resource is the "
            "cross-tenant access the reference says is blocked. Against it: the docstring "
            "says the check applies 'if both are present' (interceptors.py:266-267), so this "
            "is the author's stated design; the fail-open default is what we dispute.",
            ("Blocks cross-tenant access attempts", "docs/api/auth.md:214"),
            (
                'Verifies that ctx.data["_resource_org_id"] matches the',
                "stageflow/auth/interceptors.py:266",
            ),
        ),
        severity=Severity(
            "high",
            "silent cross-tenant read on an ordinary path: any token "
            "whose validator returns no org_id claim",
        ),
        fix="OrgEnforcementInterceptor.before (stageflow/auth/interceptors.py:300): deny when "
        "a resource org is set and the user has none (or make it an explicit option).",
        applies=has_auth,
    ),
    Finding(
        model.RUN_ORG_UNCHECKED,
        "OrgEnforcementInterceptor never compares the run's org_id with the token's: a user "
        "of org B runs a stage of org A's run",
        releases(),
        CHECK,
        "'# Verifies ctx.org_id matches AuthContext.org_id' (docs/guides/authentication.md:111 "
        "and docs/guides/interceptors.md:185); the docs tell stages to filter by "
        "ctx.snapshot.org_id (authentication.md:288).",
        "before() reads only ctx.data['_resource_org_id'] (interceptors.py:286); ctx.org_id "
        "is never read, and AuthInterceptor does not set it either (its docstring says it "
        "'sets ctx.user_id and ctx.org_id', interceptors.py:126). A run whose org_id is A, "
        "authenticated as a user of org B (or of no org), runs every stage, which then reads "
        "org A's rows as the docs' row-level-security pattern shows.",
        run_org_never_checked,
        basis=documented(
            (
                "# Verifies ctx.org_id matches AuthContext.org_id",
                "docs/guides/authentication.md:111",
            ),
            ("# Verifies ctx.org_id matches AuthContext.org_id", "docs/guides/interceptors.md:185"),
            (
                'On success, stores AuthContext in ctx.data["_auth_context"] and sets',
                "stageflow/auth/interceptors.py:125",
            ),
        ),
        severity=Severity(
            "high",
            "silent cross-tenant access: the run's tenant is whatever "
            "the caller put in the context, whoever the token names",
        ),
        fix="OrgEnforcementInterceptor.before: deny (tenant.access_denied) when ctx.org_id is "
        "set and differs from auth_context.org_id.",
        applies=has_auth,
    ),
    Finding(
        model.AUTH_ERRORS_FAIL_OPEN,
        "An AuthInterceptor whose validation raises anything but an AuthenticationError lets "
        "the stage run, unauthenticated or on an earlier stage's identity",
        releases(),
        CHECK,
        "AuthInterceptor: 'runs first (priority=1) to validate authentication before any other "
        "processing occurs' (interceptors.py:101-102); 'Returns: None to continue, or "
        "InterceptorResult to short-circuit on auth failure' (:133).",
        "before() catches AuthenticationError only (interceptors.py:159); anything else (an "
        "identity provider that is down, claims already holding UUIDs, which "
        "_validate_token's UUID(...) rejects with AttributeError) escapes to "
        "run_with_interceptors, which logs it and runs the stage (pipeline/interceptors.py:"
        "448-455). Alone, the stage runs unauthenticated; with OrgEnforcementInterceptor, the "
        "_auth_context an earlier stage left in ctx.data passes for this stage's.",
        auth_errors_fail_open,
        basis=expected(
            "An authentication check that could not complete must not let the stage run: a "
            "user reads 'validate authentication before any other processing occurs' as "
            "fail-closed. Against it: run_with_interceptors isolates every hook's errors by "
            "design ('Isolated interceptor errors don't crash the stage'), and JwtValidator "
            "promises only the three auth errors; but the docs' own validators raise whatever "
            "their JWT library or HTTP client raises (authentication.md:88, :173).",
            (
                "This interceptor runs first (priority=1) to validate authentication",
                "stageflow/auth/interceptors.py:101",
            ),
        ),
        severity=Severity(
            "high",
            "silent: every stage runs unauthenticated while the "
            "identity provider is down, or on the previous stage's identity",
        ),
        fix="AuthInterceptor.before: drop ctx.data['_auth_context'] first, catch Exception "
        "around validation, emit auth.failure and short-circuit (or raise "
        "CriticalInterceptorError).",
        applies=has_auth,
    ),
    Finding(
        model.NO_AUTH_PORT,
        "A stage never receives the AuthContext: ports.auth, where the guide reads it, is "
        "never set",
        releases("0.9.6"),
        CHECK,
        "'# Auth context is injected via StageInputs ports' (docs/guides/authentication.md:"
        "260), read as getattr(ctx.inputs.ports, 'auth', None) by the guide's RBAC stage "
        "(:343).",
        "AuthInterceptor stores the AuthContext in the PipelineContext's data only "
        "(interceptors.py:147); a stage's StageContext has no data and its ports no 'auth' "
        "(stages/ports.py): the guide's AdminStage cancels every admin.",
        stage_never_sees_auth,
        basis=documented(
            (
                "# Auth context is injected via StageInputs ports",
                "docs/guides/authentication.md:260",
            ),
        ),
        severity=Severity(
            "medium",
            "a documented access-control pattern that cannot work; it fails closed and visibly",
        ),
        fix="inject the run's AuthContext into the stage's ports (or document another read "
        "path and fix the guide).",
        applies=graph_takes_interceptors,
    ),
]
