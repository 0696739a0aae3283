"""Several tenants' runs on one built graph (or, where a built graph runs no interceptors, one
shared stack through ``run_with_interceptors``), one after another or all at once.

A server builds its graph once and runs it per request; the auth interceptors are then shared
by every tenant's run. :func:`play_tenant_runs` runs one request per entry of ``runs`` (a
token naming its user's org, and the resource org the request touches) on one graph, either
sequentially or concurrently with ``asyncio.gather``, against a validator that answers by
token as an identity provider does (no per-call script: the runs interleave). It answers, per
run, whether its one stage ran and the audit event types its own context's sink received.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import features, new_pipeline
from stageflow_verify.core.sut.subpipeline_roots import RecordingSink
from stageflow_verify.core.sut.tenancy import _silent

SESSION = str(uuid.UUID(int=0xC0))


class TokenDirectory:
    """A JwtValidator answering by token: ``token -> (user, org or None)``."""

    def __init__(self, users: dict[str, tuple[str, str | None]]) -> None:
        self.users = users

    async def validate(self, token: str) -> dict[str, Any]:
        await asyncio.sleep(0)  # an identity provider answers later: other runs go on
        user, org = self.users[token]
        return {"user_id": user, "session_id": SESSION, "org_id": org}


def play_tenant_runs(
    users: dict[str, tuple[str, str | None]],
    runs: list[tuple[str, str | None]],
    concurrent: bool,
) -> list[tuple[bool, list[str]]]:
    sf = stageflow_module()
    from stageflow.auth import AuthInterceptor, OrgEnforcementInterceptor

    stack = [AuthInterceptor(jwt_validator=TokenDirectory(users)), OrgEnforcementInterceptor()]
    ran: set[str] = set()  # the pipeline_run_id of every run whose stage ran

    async def stage(ctx: Any) -> Any:
        ran.add(str(ctx.snapshot.pipeline_run_id))  # each run's snapshot names its own run
        await asyncio.sleep(0)
        return sf.StageOutput.ok()

    graph = None
    if features().interceptors:
        pipeline = new_pipeline("tenants").with_stage("s", stage, sf.StageKind.TRANSFORM)
        graph = pipeline.build(interceptors=stack)
    run_ids = [uuid.uuid4() for _ in runs]

    async def one(i: int, token: str, resource: str | None) -> list[str]:
        sink = RecordingSink()
        data: dict[str, Any] = {"_auth_token": token}
        if resource is not None:
            data["_resource_org_id"] = resource
        ctx = sf.PipelineContext(pipeline_run_id=run_ids[i], request_id=None, session_id=None,
                                 user_id=None, org_id=None, interaction_id=None,
                                 event_sink=sink, data=data)  # fmt: skip

        async def run_stage() -> Any:
            ran.add(str(run_ids[i]))
            await asyncio.sleep(0)
            now = datetime.now(UTC)
            return sf.StageResult(name="s", status="completed", started_at=now, ended_at=now)

        if graph is not None:
            await graph.run(ctx)
        else:
            await sf.run_with_interceptors("s", run_stage, ctx, stack)
        return [t for t, _ in sink.emitted if t.startswith(("auth.", "tenant."))]

    async def main() -> list[list[str]]:
        calls = [one(i, token, resource) for i, (token, resource) in enumerate(runs)]
        if concurrent:
            return list(await asyncio.gather(*calls))
        return [await c for c in calls]

    with _silent():
        events = asyncio.run(main())
    return [(str(r) in ran, e) for r, e in zip(run_ids, events, strict=True)]
