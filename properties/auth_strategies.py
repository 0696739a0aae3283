"""Draws for ``auth.enforcement``: one run of an auth stack, as the model's :class:`AuthRun`
and the adapter's :class:`AuthSetup` side by side (the same choices, two vocabularies).

The whole public surface is drawn: the validator given (a scripted identity provider, which
may answer differently per call) or left out (the default ``MockJwtValidator``, fed tokens of
its documented format ``valid_<user_id>_<org_id>_<roles>``, ``expired_*``, ``invalid_*``,
``missing_*``, ``docs/api/auth.md:276-281``); the token under ``_auth_token``, ``auth_token``,
both, neither or empty; ``_resource_org_id`` absent, None, a UUID, a string in any spelling
``uuid.UUID`` accepts, malformed or empty; the run's ``org_id``; a user with or without an org;
client metadata; an AuthContext already in the data; the stacks and doors of the adapter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import strategies as st

from stageflow_verify.core.sut.tenancy import (
    STACKS,
    AuthSetup,
    Claims,
    ScriptedValidator,
    doors,
    include_auth_builds_the_stack,
)
from stageflow_verify.models import tenancy as model

ORGS = tuple(str(uuid.UUID(int=0xA0 + i)) for i in range(3))
USERS = tuple(str(uuid.UUID(int=0xB0 + i)) for i in range(2))
SESSION = str(uuid.UUID(int=0xC0))
# MockJwtValidator's fixed claims (stageflow/auth/interceptors.py MockJwtValidator.validate).
MOCK_SESSION = "00000000-0000-0000-0000-000000000099"
MOCK_USER = "00000000-0000-0000-0000-000000000001"
MOCK_EMAIL = "user@example.com"
ROLES = ("admin", "editor", "viewer")  # no '_': the mock's token format splits on it
SPELLINGS = ("uuid", "canonical", "upper", "braces", "hex", "urn")


@dataclass(frozen=True)
class Drawn:
    run: model.AuthRun
    setup: AuthSetup
    door: str


def spell(org: str, spelling: str) -> object:
    u = uuid.UUID(org)
    return {"uuid": u, "canonical": str(u), "upper": str(u).upper(), "braces": f"{{{u}}}",
            "hex": u.hex, "urn": u.urn}[spelling]  # fmt: skip


@st.composite
def auth_runs(draw: st.DrawFn) -> Drawn:
    parts = draw(st.sampled_from([frozenset({"auth", "org"}), frozenset({"auth"}),
                                  frozenset({"org"})]))  # fmt: skip
    door = draw(st.sampled_from(doors()))
    org = draw(st.sampled_from((*ORGS[:2], None)))
    roles = tuple(draw(st.lists(st.sampled_from((*ROLES, "org_admin")), max_size=2, unique=True)))
    user = draw(st.sampled_from(USERS))
    mock = draw(st.booleans())
    if mock:
        kind = draw(st.sampled_from(("claims", "claims", "plain", "expired", "invalid", "missing")))
        roles = tuple(r for r in roles if "_" not in r)
        token = {"plain": "opaque-token", "expired": "expired_t", "invalid": "invalid_t",
                 "missing": "missing_t"}.get(kind) or (
            f"valid_{user}_{org or 'none'}_{','.join(roles)}")  # fmt: skip
        identity = (model.Identity(MOCK_USER, MOCK_SESSION, None) if kind == "plain" else
                    model.Identity(user, MOCK_SESSION, org, MOCK_EMAIL, roles))  # fmt: skip
        answers: tuple[str, ...] = ("claims",) if kind == "plain" else (kind,)
        validator = None
    else:
        email = draw(st.sampled_from((None, "ada@example.com")))
        identity = model.Identity(user, SESSION, org, email, roles)
        answers = tuple(draw(st.lists(st.sampled_from(model.ANSWERS), min_size=1, max_size=3)))
        token = draw(st.sampled_from(("jwt-1", "jwt-1", "")))
        validator = ScriptedValidator(answers, Claims(user, SESSION, org, email, roles))
    data: dict[str, object] = {}
    where = draw(st.sampled_from(("_auth_token", "auth_token", "both", "none")))
    if where == "both":
        data["_auth_token"] = data["auth_token"] = token
    elif where != "none":
        data[where] = token
    seen_token = None if where == "none" else token
    stack = draw(st.sampled_from([s for s in STACKS if s != "include_auth"
                                  or (mock and parts == {"auth", "org"}
                                      and include_auth_builds_the_stack())]))  # fmt: skip
    resource, malformed = None, False
    kind_of_resource = draw(st.sampled_from(("absent", "none", "same", "other", "malformed")))
    if kind_of_resource != "absent":
        owner = {"same": org or ORGS[0], "other": ORGS[2]}.get(kind_of_resource)
        if owner is not None:
            data["_resource_org_id"] = spell(owner, draw(st.sampled_from(SPELLINGS)))
            resource = owner
        else:
            malformed = kind_of_resource == "malformed"
            data["_resource_org_id"] = draw(st.sampled_from(("org-1", ""))) if malformed else None
    run_org = draw(st.sampled_from((None, None, org or ORGS[0], ORGS[1])))
    if draw(st.booleans()):
        data["_client_ip"], data["_user_agent"] = "203.0.113.7", "curl/8"
    preset = None
    if draw(st.integers(0, 3)) == 3:  # an AuthContext somebody put in the data before the run
        preset = model.Identity(USERS[1], SESSION, ORGS[1], None, ("admin",))
    request_id = draw(st.sampled_from((None, str(uuid.UUID(int=0xD0)))))
    run = model.AuthRun(parts, draw(st.integers(1, 3)), seen_token, answers, identity, resource,
                        malformed, run_org, preset)  # fmt: skip
    setup = AuthSetup(parts, stack, door, run.stages, data, validator, run_org, request_id,
                      None if preset is None else Claims(preset.user, preset.session,
                                                         preset.org, preset.email,
                                                         preset.roles))  # fmt: skip
    return Drawn(run, setup, door)
