"""Tenant isolation in ``stageflow.auth`` as a pure model: which stages of a run an
``AuthInterceptor`` / ``OrgEnforcementInterceptor`` stack lets run, what it writes into the
run's ``data``, and which audit events it emits.

A :class:`AuthRun` is a chain of stages run on one context whose ``data`` carries a token, a
resource org, client metadata and the run's own ``org_id``; each stage passes through the
stack, which calls the JWT validator once per stage (so an identity provider that answers
differently mid-run is drawn as a script of answers). :func:`predict_run` walks the stages in
order, threading the run's data (what ``AuthInterceptor`` wrote for one stage is what the
next stage's ``OrgEnforcementInterceptor`` reads). Every rule quotes its basis:

- Token: "Extracts token from ``ctx.data["_auth_token"]`` or ``ctx.data.get("auth_token")``"
  (``docs/api/auth.md:169``); no token denies the stage with ``auth.failure`` reason
  ``missing_token`` (``:374``). A validator's ``AuthenticationError`` denies the stage with
  ``auth.failure`` (``:174``) whose reason is the error's code (``stageflow/auth/errors.py``:
  ``token_expired``, ``invalid_token``, ``missing_claims``); claims without ``user_id`` /
  ``session_id`` or with a malformed UUID are such errors (``:247-250``, ``:686`` "Validate
  token format - Ensure UUIDs are properly formatted").
- Success: "Stores AuthContext in ``ctx.data["_auth_context"]``", "Sets
  ``ctx.data["_user_id"]`` and ``ctx.data["_org_id"]``", "Emits ``auth.login`` event on
  success" (``:171-173``). The docstring says instead "sets ctx.user_id and ctx.org_id"
  (``stageflow/auth/interceptors.py:126``); the API reference and the code's own comment
  (``:150``, slots) agree on the data keys, so the model keeps the run's ids as the caller set
  them and reads the data keys.
- Any other failure to authenticate: "This interceptor runs first (priority=1) to validate
  authentication before any other processing occurs" (``interceptors.py:101-102``): a stage
  runs only authenticated, so a validator that raises anything else (an identity provider
  down) or claims Stageflow cannot parse deny the stage, and the run keeps no identity from
  an earlier stage. SF-AUTH-03 (adopted while it reproduces): the error is logged and the
  stage runs; the previous stage's ``_auth_context`` stays for ``OrgEnforcementInterceptor``.
- Enforcement: "Requires AuthContext to be present", "Checks ``ctx.data["_resource_org_id"]``
  against authenticated user's org_id", "Blocks cross-tenant access attempts", "Emits
  ``tenant.access_denied`` event on violations" (``docs/api/auth.md:212-215``). A string is a
  UUID in any spelling ``uuid.UUID`` accepts; a malformed one is denied without an event (it
  names no tenant).
- A user without an org: the docstring reads "matches the authenticated user's org_id if both
  are present" (``interceptors.py:266-267``), the reference "Blocks cross-tenant access
  attempts". A user in no tenant reading tenant X's resource is outside X; the model takes
  the reader's side and denies. SF-AUTH-01 (adopted while it reproduces) is the docstring's
  reading: no check at all.
- The run's org: "Verifies ctx.org_id matches AuthContext.org_id" (``docs/guides/
  authentication.md:111``, ``docs/guides/interceptors.md:185``): a run whose ``org_id`` is set
  is denied for any other authenticated org (or none), with ``tenant.access_denied`` naming the
  run's org as the resource's. SF-AUTH-02 (adopted while it reproduces): never compared.
- A denied stage does not run; it is reported failed, or OK with empty data while SF-RUN-08
  is adopted (the short-circuit is reported like an open breaker's, ``interceptors.py:467``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NO_ORG_PASSES = "SF-AUTH-01"
RUN_ORG_UNCHECKED = "SF-AUTH-02"
AUTH_ERRORS_FAIL_OPEN = "SF-AUTH-03"
NO_AUTH_PORT = "SF-AUTH-04"
DENIED_REPORTED_OK = "SF-RUN-08"

# The validator's answers (one per call): claims it returns, or what it raises.
CLAIMS = ("claims", "claims_uuid_objects", "no_user_id", "no_session_id", "bad_uuid")
RAISES = {"expired": "token_expired", "invalid": "invalid_token", "missing": "missing_claims"}
CRASH = "crash"  # anything but an AuthenticationError: an identity provider that is down
ANSWERS = (*CLAIMS, *RAISES, CRASH)
# Reasons Stageflow's own claim parsing gives (AuthInterceptor._validate_token).
PARSED_REASON = {"no_user_id": "missing_claims", "no_session_id": "missing_claims",
                 "bad_uuid": "invalid_token"}  # fmt: skip


@dataclass(frozen=True)
class Identity:
    """What a token proves: the claims of an accepted token."""

    user: str  # a canonical UUID string
    session: str
    org: str | None
    email: str | None = None
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthRun:
    stack: frozenset[str]  # of {"auth", "org"}
    stages: int
    token: str | None  # what the data's token key(s) yield (None or "" is no token)
    answers: tuple[str, ...]  # the validator's answer per call (the last one repeats)
    identity: Identity  # the claims an accepted token carries
    resource: str | None  # the canonical UUID _resource_org_id names, None if absent/None
    resource_malformed: bool = False
    run_org: str | None = None  # the context's own org_id
    preset: Identity | None = None  # an AuthContext already in data before the run


@dataclass(frozen=True)
class Event:
    type: str
    fields: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class StageVerdict:
    ran: bool
    reported_ok: bool
    auth: Identity | None  # the AuthContext the stage was let through with (if any)


@dataclass(frozen=True)
class RunPrediction:
    stages: tuple[StageVerdict, ...]
    events: tuple[Event, ...]
    auth_context: Identity | None  # data["_auth_context"] after the run
    data_ids: tuple[str | None, str | None] | None  # data["_user_id"], data["_org_id"]
    stopped: bool = False  # a stage was reported failed: the chain stopped there


@dataclass
class _State:
    auth: Identity | None
    ids: tuple[str | None, str | None] | None = None
    calls: int = 0
    events: list[Event] = field(default_factory=list)


def _answer(run: AuthRun, call: int) -> str:
    return run.answers[min(call, len(run.answers) - 1)]


def _authenticate(run: AuthRun, st: _State, active: frozenset[str], ids: dict[str, str | None]
                  ) -> bool:  # fmt: skip
    """The AuthInterceptor's part of one stage; False denies the stage."""
    if not run.token:
        st.events.append(failure("missing_token", ids))
        return False
    answer = _answer(run, st.calls)
    st.calls += 1
    if answer in RAISES or answer in PARSED_REASON:
        st.events.append(failure(RAISES.get(answer) or PARSED_REASON[answer], ids))
        return False
    if answer in (CRASH, "claims_uuid_objects"):
        # Not an AuthenticationError (claims already holding UUIDs make Stageflow's parser
        # raise AttributeError): the stage must not run unauthenticated.
        return AUTH_ERRORS_FAIL_OPEN in active  # adopted: logged, no event, data untouched
    who = run.identity
    st.auth, st.ids = who, (who.user, who.org)
    fields = (
        *(("user_id", who.user), ("org_id", who.org), ("session_id", who.session)),
        *(("request_id", ids["request_id"]), ("pipeline_run_id", ids["pipeline_run_id"])),
    )
    st.events.append(Event("auth.login", fields))
    return True


def failure(reason: str, ids: dict[str, str | None]) -> Event:
    return Event("auth.failure", (("reason", reason), ("request_id", ids["request_id"]),
                                  ("ip_address", ids["ip_address"]),
                                  ("user_agent", ids["user_agent"])))  # fmt: skip


def _denied(user: Identity, resource: str, ids: dict[str, str | None]) -> Event:
    return Event("tenant.access_denied", (("user_org_id", user.org),
                                          ("resource_org_id", resource),
                                          ("user_id", user.user),
                                          ("request_id", ids["request_id"]),
                                          ("pipeline_run_id", ids["pipeline_run_id"])))  # fmt: skip


def _enforce(run: AuthRun, st: _State, active: frozenset[str], ids: dict[str, str | None]
             ) -> bool:  # fmt: skip
    """The OrgEnforcementInterceptor's part of one stage; False denies the stage."""
    user = st.auth
    if user is None:
        return False  # "Requires AuthContext to be present"
    if run.resource_malformed:
        return False
    for owner, excused in ((run.resource, NO_ORG_PASSES), (run.run_org, RUN_ORG_UNCHECKED)):
        if owner is None or owner == user.org:
            continue
        if excused in active and (excused == RUN_ORG_UNCHECKED or user.org is None):
            continue
        st.events.append(_denied(user, owner, ids))
        return False
    return True


def predict_run(run: AuthRun, ids: dict[str, str | None], active: frozenset[str]
                ) -> RunPrediction:  # fmt: skip
    """What the run does, stage by stage. ``ids`` holds the context's ``request_id`` and
    ``pipeline_run_id`` and the data's ``_client_ip`` / ``_user_agent`` (as text or None)."""
    st = _State(auth=run.preset)
    verdicts: list[StageVerdict] = []
    stopped = False
    for _ in range(run.stages):
        ok = True
        if "auth" in run.stack:
            ok = _authenticate(run, st, active, ids)
        if ok and "org" in run.stack:
            ok = _enforce(run, st, active, ids)
        reported = ok or DENIED_REPORTED_OK in active
        verdicts.append(StageVerdict(ran=ok, reported_ok=reported, auth=st.auth if ok else None))
        if not reported:
            stopped = True
            break
    return RunPrediction(tuple(verdicts), tuple(st.events), st.auth, st.ids, stopped)


def stage_port_auth(verdict: StageVerdict, active: frozenset[str]) -> Identity | None:
    """What a running stage reads as ``ctx.inputs.ports.auth``: "Auth context is injected via
    StageInputs ports" (``docs/guides/authentication.md:260``); SF-AUTH-04: never."""
    return None if NO_AUTH_PORT in active else verdict.auth
