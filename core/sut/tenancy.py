"""Runs of a real AuthInterceptor / OrgEnforcementInterceptor stack, projected onto
``models.tenancy``'s terms.

:func:`play_auth_run` builds the validator (a scripted one answering per call, or the default
``MockJwtValidator`` when the argument is left out, fed tokens of its documented format), the
stack (the two auth interceptors alone, in front of ``get_default_interceptors()``, or that
function's own ``include_auth=True``), one ``PipelineContext`` whose ``data`` carries the token
and the resource org as the docs show (``ctx.data["_resource_org_id"] = ...``), and runs a chain
of stages through one of three doors: ``run_with_interceptors`` per stage (every release),
``Pipeline.build(interceptors=...).run(ctx)`` or ``pipeline.run(ctx, interceptors=...)``
(``docs/api/auth.md:419``) where this Stageflow has them. Each stage records that it ran and what
it can read of its identity (``ctx.inputs.ports.auth``). The observation is every read path a
user has: per-stage outcome, the audit events the context's sink received (every field), and
``data["_auth_context"]`` / ``_user_id`` / ``_org_id`` after the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stageflow_verify.core.sut import UnsupportedFeature, stageflow_module
from stageflow_verify.core.sut.graphs import features, new_pipeline, quiet
from stageflow_verify.core.sut.subpipeline_roots import RecordingSink

DOORS = ("direct", "graph", "pipeline_run")
STACKS = ("alone", "before_defaults", "include_auth")
_LOGGERS = ("auth_interceptor", "stageflow.auth.tenant", "interceptors")
for _name in _LOGGERS:  # no last-resort printing where a run is not silenced (reproducers)
    logging.getLogger(_name).addHandler(logging.NullHandler())


class IdentityProviderDown(ConnectionError):
    """What a validator raises when its identity provider does not answer (not an
    AuthenticationError)."""


@dataclass(frozen=True)
class Claims:
    user: str
    session: str
    org: str | None
    email: str | None
    roles: tuple[str, ...]


class ScriptedValidator:
    """A JwtValidator (``docs/api/auth.md:238``) answering call ``i`` with ``answers[i]``
    (the last answer repeats)."""

    def __init__(self, answers: tuple[str, ...], claims: Claims) -> None:
        self.answers, self.claims, self.calls = answers, claims, 0

    async def validate(self, token: str) -> dict[str, Any]:
        from stageflow.auth import InvalidTokenError, MissingClaimsError, TokenExpiredError

        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        # Each named where it is raised: tests/cover/test_adapter_errors.py lists an adapter's
        # deliberate raises by name (the validator's documented errors, docs/api/auth.md:247).
        if answer == "expired":
            raise TokenExpiredError()
        if answer == "invalid":
            raise InvalidTokenError()
        if answer == "missing":
            raise MissingClaimsError()
        if answer == "crash":
            raise IdentityProviderDown("identity provider unreachable")
        c = self.claims
        claims: dict[str, Any] = {"user_id": c.user, "session_id": c.session, "org_id": c.org,
                                  "email": c.email, "roles": list(c.roles)}  # fmt: skip
        if answer == "claims_uuid_objects":
            claims = {**claims, "user_id": uuid.UUID(c.user), "session_id": uuid.UUID(c.session)}
        elif answer == "no_user_id":
            del claims["user_id"]
        elif answer == "no_session_id":
            claims["session_id"] = None
        elif answer == "bad_uuid":
            claims["user_id"] = c.user[:-1]  # one hex digit short
        return claims


def include_auth_builds_the_stack() -> bool:
    # Before 1.x, include_auth=True imports interceptors stageflow.auth never had.
    sf = stageflow_module()
    return "OrgEnforcementInterceptor" in inspect.getsource(sf.get_default_interceptors)


def doors() -> tuple[str, ...]:
    sf = stageflow_module()
    ready = features().interceptors
    return (
        ("direct",)
        + (("graph",) if ready else ())
        + (("pipeline_run",) if ready and hasattr(sf.Pipeline, "run") else ())
    )


def _stack(parts: frozenset[str], stack: str, validator: Any) -> list[Any]:
    sf = stageflow_module()
    from stageflow.auth import AuthInterceptor, OrgEnforcementInterceptor

    if stack == "include_auth":
        if parts != {"auth", "org"} or validator is not None:
            raise UnsupportedFeature("include_auth installs both, with the default validator")
        return list(sf.get_default_interceptors(include_auth=True))
    given = {} if validator is None else {"jwt_validator": validator}
    chosen: list[Any] = [AuthInterceptor(**given)] if "auth" in parts else []
    chosen += [OrgEnforcementInterceptor()] if "org" in parts else []
    # docs/guides/authentication.md:127-131 puts them in front of the defaults.
    return chosen + (list(sf.get_default_interceptors()) if stack == "before_defaults" else [])


@contextlib.contextmanager
def _silent() -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in _LOGGERS]
    saved = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        with quiet():
            yield
    finally:
        for lg, was in zip(loggers, saved, strict=True):
            lg.disabled = was


def project_auth(auth: Any) -> dict[str, Any] | None:
    """An AuthContext as plain values, with what its methods answer."""
    if auth is None:
        return None
    roles = tuple(auth.roles)
    return {
        "user": str(auth.user_id), "session": str(auth.session_id), "email": auth.email,
        "org": None if auth.org_id is None else str(auth.org_id), "roles": roles,
        "has_roles": all(auth.has_role(r) for r in roles) and not auth.has_role("nobody"),
        "is_admin": auth.is_admin(), "is_authenticated": auth.is_authenticated,
        "repr_hides_email": auth.email is None or auth.email not in repr(auth),
    }  # fmt: skip


@dataclass(frozen=True)
class AuthSetup:
    parts: frozenset[str]
    stack: str  # STACKS
    door: str  # DOORS
    stages: int
    data: dict[str, Any]  # the context's data: token keys, _resource_org_id, client metadata
    validator: ScriptedValidator | None
    run_org: str | None
    request_id: str | None
    preset: Claims | None = None  # an AuthContext put in data before the run


def play_auth_run(setup: AuthSetup) -> dict[str, Any]:
    sf = stageflow_module()
    sink = RecordingSink()
    seen: list[dict[str, Any]] = []
    data = dict(setup.data)
    if setup.preset is not None:
        from stageflow.auth import AuthContext

        p = setup.preset
        data["_auth_context"] = AuthContext(
            user_id=uuid.UUID(p.user), session_id=uuid.UUID(p.session), email=p.email,
            org_id=None if p.org is None else uuid.UUID(p.org), roles=p.roles,
        )  # fmt: skip
    ctx = sf.PipelineContext(
        pipeline_run_id=uuid.uuid4(),
        request_id=None if setup.request_id is None else uuid.UUID(setup.request_id),
        session_id=None, user_id=None, interaction_id=None,
        org_id=None if setup.run_org is None else uuid.UUID(setup.run_org),
        event_sink=sink, data=data,
    )  # fmt: skip
    stack = _stack(setup.parts, setup.stack, setup.validator)
    names = [f"s{i}" for i in range(setup.stages)]

    def stage(name: str) -> Any:
        async def body(stage_ctx: Any) -> Any:
            inputs = getattr(stage_ctx, "inputs", None)
            ports = getattr(inputs, "ports", None)
            port = getattr(ports, "auth", None) if ports else None
            seen.append({"name": name, "port_auth": project_auth(port)})
            return sf.StageOutput.ok(ran=True)

        return body

    reported: list[bool] = []
    stopped = False

    async def direct() -> None:
        nonlocal stopped
        for name in names:

            async def run_stage(name: str = name) -> Any:
                await stage(name)(None)
                now = datetime.now(UTC)
                return sf.StageResult(name=name, status="completed", started_at=now, ended_at=now)

            result = await sf.run_with_interceptors(name, run_stage, ctx, stack)
            reported.append(result.status == "completed")
            if not reported[-1]:
                stopped = True
                return

    async def through_graph() -> None:
        nonlocal stopped
        pipeline = new_pipeline("auth")
        for i, name in enumerate(names):
            deps = (names[i - 1],) if i else None
            pipeline = pipeline.with_stage(name, stage(name), sf.StageKind.TRANSFORM, deps)
        try:
            if setup.door == "graph":
                results = await pipeline.build(interceptors=stack).run(ctx)
            else:
                results = await pipeline.run(ctx, interceptors=stack)
        except Exception:  # a failed stage fails the run: later stages are never reached
            stopped = True
            return
        reported.extend(str(getattr(results[n].status, "value", results[n].status)) == "ok"
                        for n in names)  # fmt: skip

    if setup.door not in doors():
        raise UnsupportedFeature(f"this stageflow has no {setup.door!r} door for a stack")
    with _silent():
        asyncio.run(direct() if setup.door == "direct" else through_graph())
    data_ids = (ctx.data["_user_id"], ctx.data.get("_org_id")) if "_user_id" in ctx.data else None
    return {
        "ran": [s["name"] for s in seen], "reported": reported, "stopped": stopped,
        "port_auth": [s["port_auth"] for s in seen],
        "events": [(t, d) for t, d in sink.emitted if t.startswith(("auth.", "tenant."))],
        "auth_context": project_auth(ctx.data.get("_auth_context")),
        "data_ids": None if data_ids is None else tuple(None if v is None else str(v)
                                                        for v in data_ids),
        "run_ids": (ctx.org_id, ctx.user_id),
        "ids": {"request_id": None if ctx.request_id is None else str(ctx.request_id),
                "pipeline_run_id": str(ctx.pipeline_run_id)},
    }  # fmt: skip
