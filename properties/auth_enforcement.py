"""``auth.enforcement``: runs of a real auth stack judged against ``models/tenancy.py``.

Each example draws one run (``properties/auth_strategies.py``: validator, token, resource org,
the run's org, stack and door), plays it (``core/sut/tenancy.py``) and compares every read path
with the model: which stages ran and how each was reported, every field of every ``auth.*`` and
``tenant.*`` event, ``data["_auth_context"]`` (and what its methods answer), ``_user_id`` /
``_org_id``, the run's own ids, and what a running stage reads as ``ports.auth``. The findings
adopted while they reproduce (SF-AUTH-01..04, and SF-RUN-08 for how a denied stage is reported)
are the model's named deviations; anything else fails the check. Canonical runs follow the
search, one per rule's edge, so a derandomized ``ci`` draw that misses one still judges it.

For example::

    enforcement_law(active=frozenset())  # fails: pristine 1.2.0 lets a user without an org in
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, Finding, adopting_known, count_example
from stageflow_verify.core.sut.tenancy import (
    AuthSetup,
    Claims,
    ScriptedValidator,
    doors,
    play_auth_run,
)
from stageflow_verify.core.sut.tenancy_reuse import play_tenant_runs
from stageflow_verify.models import tenancy as model
from stageflow_verify.properties.auth_strategies import (
    MOCK_EMAIL,
    MOCK_SESSION,
    MOCK_USER,
    ORGS,
    SESSION,
    USERS,
    Drawn,
    auth_runs,
    spell,
)
from stageflow_verify.stateful.auth_findings import FINDINGS as AUTH_FINDINGS
from stageflow_verify.stateful.auth_findings import has_auth


def _identity(seen: dict[str, Any] | None) -> model.Identity | None:
    if seen is None:
        return None
    return model.Identity(seen["user"], seen["session"], seen["org"], seen["email"],
                          seen["roles"])  # fmt: skip


def _auth_methods_agree(seen: dict[str, Any]) -> bool:
    # has_role / is_admin ("'admin' or 'org_admin' role", docs/api/auth.md:56), is_authenticated
    # ("Always returns True", :71), and a repr that hides the email (context.py:64).
    admin = bool({"admin", "org_admin"} & set(seen["roles"]))
    answers = (seen["has_roles"], seen["is_admin"] == admin, seen["is_authenticated"])
    return all(answers) and bool(seen["repr_hides_email"])


def _event_agrees(event: model.Event, seen: tuple[str, dict[str, Any]]) -> bool:
    kind, data = seen
    if kind != event.type or data.get("type") != event.type:
        return False
    try:
        datetime.fromisoformat(str(data.get("timestamp")))
    except ValueError:
        return False
    # A user without an org has no user_org_id to report: any value passes (SF-AUTH-01's fix).
    return all(data.get(k, "<missing>") == v for k, v in event.fields
               if not (k == "user_org_id" and v is None))  # fmt: skip


def judge_auth_run(drawn: Drawn, seen: dict[str, Any], active: frozenset[str]) -> None:
    run, door = drawn.run, drawn.door
    ids = {**seen["ids"], "ip_address": drawn.setup.data.get("_client_ip"),
           "user_agent": drawn.setup.data.get("_user_agent")}  # fmt: skip
    want = model.predict_run(run, ids, active)
    where = (
        f"\n  run: {run}\n  door: {door}, stack: {drawn.setup.stack}\n  adopted: {sorted(active)}"
    )
    ran = [f"s{i}" for i, v in enumerate(want.stages) if v.ran]
    assert seen["ran"] == ran, f"stages run {seen['ran']}, model {ran}{where}"
    reported = [v.reported_ok for v in want.stages]
    if door == "direct":
        assert seen["reported"] == reported, f"reported {seen['reported']}, model {reported}{where}"
    else:
        assert seen["stopped"] == want.stopped, f"run failed: {seen['stopped']}{where}"
        if not want.stopped:
            assert seen["reported"] == reported, (
                f"reported {seen['reported']}, model {reported}{where}"
            )
    events = seen["events"]
    assert len(events) == len(want.events) and all(
        _event_agrees(e, s) for e, s in zip(want.events, events, strict=True)
    ), f"events {events}\n  model {list(want.events)}{where}"
    context = seen["auth_context"]
    assert _identity(context) == want.auth_context, (
        f"data['_auth_context'] {context}, model {want.auth_context}{where}"
    )
    assert context is None or _auth_methods_agree(context), f"AuthContext answers {context}{where}"
    assert seen["data_ids"] == want.data_ids, f"_user_id/_org_id {seen['data_ids']}{where}"
    run_org, run_user = seen["run_ids"]
    assert (None if run_org is None else str(run_org)) == run.run_org and run_user is None, (
        f"the run's own ids changed to {seen['run_ids']}{where}"
    )
    if door != "direct":  # a stage context is Stageflow's only through a graph
        ran_verdicts = [v for v in want.stages if v.ran]
        ports = [_identity(p) for p in seen["port_auth"]]
        want_ports = [model.stage_port_auth(v, active) for v in ran_verdicts]
        assert ports == want_ports, f"ports.auth {ports}, model {want_ports}{where}"


@given(drawn=auth_runs())
def enforcement_law(drawn: Drawn, active: frozenset[str]) -> None:
    count_example()
    judge_auth_run(drawn, play_auth_run(drawn.setup), active)


def _canonical(answers: tuple[str, ...], org: str | None, resource: object, run_org: str | None,
               stack: frozenset[str], stages: int = 2, door: str = "direct") -> Drawn:  # fmt: skip
    claims = Claims(USERS[0], SESSION, org, "ada@example.com", ("admin",))
    identity = model.Identity(USERS[0], SESSION, org, "ada@example.com", ("admin",))
    data: dict[str, object] = {"_auth_token": "jwt-1"}
    owner: str | None = None
    malformed = isinstance(resource, str) and resource.startswith("not-")
    if resource is not None:
        data["_resource_org_id"] = resource
        owner = None if malformed else str(__import__("uuid").UUID(str(resource)))
    run = model.AuthRun(stack, stages, "jwt-1", answers, identity, owner, malformed, run_org)
    setup = AuthSetup(stack, "alone", door, stages, data, ScriptedValidator(answers, claims),
                      run_org, None)  # fmt: skip
    return Drawn(run, setup, door)


def _mock_canonical(token: str) -> Drawn:
    # The default validator (jwt_validator left out) and a token of its documented format.
    both = frozenset({"auth", "org"})
    kind = token.partition("_")[0]
    answers = (kind,) if kind in model.RAISES else ("claims",)
    identity = (
        model.Identity(USERS[0], MOCK_SESSION, ORGS[0], MOCK_EMAIL, ("admin", "editor"))
        if kind == "valid"
        else model.Identity(MOCK_USER, MOCK_SESSION, None)
    )
    run = model.AuthRun(both, 2, token, answers, identity, None, False, None)
    setup = AuthSetup(both, "alone", "direct", 2, {"auth_token": token}, None, None, None)
    return Drawn(run, setup, "direct")


def canonical_runs() -> list[Drawn]:
    both = frozenset({"auth", "org"})
    mock_tokens = (
        "expired_t",
        "invalid_t",
        "missing_t",
        "opaque",
        f"valid_{USERS[0]}_{ORGS[0]}_admin,editor",
    )
    return [
        *(_mock_canonical(token) for token in mock_tokens),
        # claims Stageflow itself refuses, one per stage (SF-RUN-08 lets the chain go on)
        _canonical(("no_session_id", "no_user_id", "bad_uuid"), ORGS[0], None, None, both, 3),
        _canonical(("claims",), ORGS[0], spell(ORGS[2], "uuid"), None, both),  # a UUID object
        _canonical(("claims",), None, ORGS[2], None, both),  # a user without an org (SF-AUTH-01)
        _canonical(("claims",), ORGS[0], None, ORGS[1], both),  # another run's org (SF-AUTH-02)
        _canonical(("claims", "crash"), ORGS[0], None, None, both),  # IdP down mid-run (03)
        _canonical(("crash",), ORGS[0], None, None, frozenset({"auth"})),  # auth alone (03)
        _canonical(("claims",), ORGS[0], spell(ORGS[2], "upper"), None, both),  # denied
        _canonical(("claims",), ORGS[0], spell(ORGS[0], "urn"), None, both),  # same org
        _canonical(("claims",), ORGS[0], "not-a-uuid", None, both),  # malformed
        *(  # what a stage reads of its identity needs Stageflow's own StageContext
            [_canonical(("claims",), ORGS[0], None, None, both, door="graph")]
            if "graph" in doors()
            else []
        ),
    ]


# Several tenants' requests on one built graph: the shared interceptors keep nothing of one
# run for another, whether the runs follow each other or interleave.
DIRECTORY = {
    "tok-a": (USERS[0], ORGS[0]),
    "tok-b": (USERS[1], ORGS[1]),
    "tok-none": (USERS[0], None),
}
tenant_requests = st.tuples(st.sampled_from(sorted(DIRECTORY)), st.sampled_from((None, *ORGS[:2])))


@given(runs=st.lists(tenant_requests, min_size=2, max_size=4), concurrent=st.booleans())
def tenant_runs_law(
    runs: list[tuple[str, str | None]], concurrent: bool, active: frozenset[str]
) -> None:
    count_example()
    seen = play_tenant_runs(DIRECTORY, runs, concurrent)
    both = frozenset({"auth", "org"})
    ids: dict[str, str | None] = dict.fromkeys(
        ("request_id", "pipeline_run_id", "ip_address", "user_agent")
    )
    for n, ((token, resource), (ran, events)) in enumerate(zip(runs, seen, strict=True)):
        user, org = DIRECTORY[token]
        run = model.AuthRun(
            both, 1, token, ("claims",), model.Identity(user, SESSION, org), resource
        )
        want = model.predict_run(run, ids, active)
        types = [e.type for e in want.events]
        assert (ran, events) == (want.stages[0].ran, types), (
            f"request {n} of {runs} on one graph ({'concurrent' if concurrent else 'in turn'}): "
            f"ran {ran}, events {events}; model ran {want.stages[0].ran}, events {types}"
        )


def enforcement_check(active: frozenset[str]) -> None:
    enforcement_law(active=active)
    tenant_runs_law(active=active)
    for drawn in canonical_runs():
        judge_auth_run(drawn, play_auth_run(drawn.setup), active)


def _adopted() -> list[Finding]:
    # How a denied stage is reported is SF-RUN-08's (the short-circuit status it shares with
    # an open breaker, pipeline/interceptors.py:467): adopted here under the same id.
    from stageflow_verify.stateful.graph_findings import FINDINGS as GRAPH_FINDINGS

    return [*AUTH_FINDINGS, *(f for f in GRAPH_FINDINGS if f.id == model.DENIED_REPORTED_OK)]


CHECKS = [
    Check(
        name="auth.enforcement",
        run=adopting_known(enforcement_check, _adopted),
        summary="auth stacks let a stage run only for its own tenant, with every audit event",
        applies=has_auth,
    ),
]
