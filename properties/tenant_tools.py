"""Laws of the tenant helpers, judged against ``models/tenant_tools.py``:

- ``auth.isolation_validator``: a ``TenantIsolationValidator`` (strict, non-strict, or strict
  left out) through up to six ``record_access`` calls (an org that is the expected one,
  another, or none; resource type and id given or left out), every read after every call; and
  a ``TenantContext`` asked about resources of its own tenant, another and none, with its
  tenant-aware logger, ``to_dict`` and ``from_snapshot``.
- ``auth.current_tenant``: the current-tenant functions in the main task, in tasks it
  created, in threads and in ``asyncio.to_thread`` workers, interleaved step by step: what
  one lane sets must never be what a sibling or another thread reads.

For example::

    current_tenant_law()  # a ContextVar replaced by a global fails with the shrunk program
"""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.sut.tenant_tools import (
    LEVELS,
    Step,
    play_current_tenant,
    play_org_context,
    play_tenant_context,
    play_validator,
)
from stageflow_verify.models import tenant_tools as model
from stageflow_verify.stateful.auth_findings import has_auth

ORGS = tuple(str(uuid.UUID(int=0xA0 + i)) for i in range(3))
FEATURES = ("advanced_analytics", "custom_models")
accesses = st.builds(
    model.Access,
    org=st.sampled_from((ORGS[0], ORGS[1], ORGS[2], None)),
    resource_type=st.sampled_from((None, "document")),
    resource_id=st.sampled_from((None, "42")),
)


@given(strict=st.sampled_from((None, True, False)), calls=st.lists(accesses, max_size=6),
       resources=st.lists(st.sampled_from((ORGS[0], ORGS[1], None)), max_size=3),
       with_user=st.booleans(),
       features=st.lists(st.sampled_from(FEATURES), unique=True, max_size=2).map(tuple),
       plan=st.sampled_from((None, "starter", "pro", "enterprise")))  # fmt: skip
def validator_law(
    strict: bool | None,
    calls: list[model.Access],
    resources: list[str | None],
    with_user: bool,
    features: tuple[str, ...],
    plan: str | None,
) -> None:
    count_example()
    state = model.ValidatorState(ORGS[0], strict is not False)
    where = f"\n  TenantIsolationValidator(strict={strict}), calls {calls}"
    for access, seen in zip(calls, play_validator(ORGS[0], strict, calls), strict=True):
        state, answer = model.record(state, access)
        assert seen["answer"] == answer, (
            f"record_access({access}) -> {seen['answer']}, model {answer}{where}"
        )
        if answer == model.RAISES:
            assert seen["error"] == (ORGS[0], access.org), f"error names {seen['error']}{where}"
        violations = [tuple(sorted(v)) for v in state.violations]
        assert seen["violations"] == violations, f"violations {seen['violations']}{where}"
        assert seen["after_edit"] == len(violations), f"a caller's edit changed the record{where}"
        assert seen["accessed"] == sorted(state.accessed), f"accessed {seen['accessed']}{where}"
        assert seen["isolated"] == (not violations), f"is_isolated() {seen['isolated']}{where}"
    tenant = play_tenant_context(ORGS[0], resources, with_user)
    allowed = [model.validate_access(ORGS[0], r) for r in resources]
    assert tenant["allowed"] == allowed, f"validate_access {resources} -> {tenant['allowed']}"
    # logger.exception() logs at ERROR, as logging's own does.
    names = [level.replace("exception", "error") for level in LEVELS]
    logged = [(name, ORGS[0], None if name == "info" else "v") for name in names]
    assert tenant["logged"] == logged, f"tenant-aware log records {tenant['logged']}"
    user = str(uuid.UUID(int=0xB0)) if with_user else None
    want: dict[str, object] = {
        "org_id": ORGS[0],
        "user_id": user,
        "session_id": None,
        "metadata": {},
    }
    assert tenant["to_dict"] == want, f"to_dict {tenant['to_dict']}"
    assert tenant["from_snapshot"] == ORGS[0] and tenant["from_empty"] is None, tenant
    org = play_org_context(features, plan, FEATURES)
    # "Check if feature is enabled" (docs/api/auth.md:113); plan_tier "starter" and tenant_id
    # None by default (:93-95); "immutable dataclasses" (stageflow/auth/context.py:3).
    has = [f in features for f in FEATURES]
    want_org = {"has": has, "plan": plan or "starter", "tenant": None, "frozen": True,
                "repr_names_org": True}  # fmt: skip
    assert org == want_org, f"OrgContext(features={features}, plan_tier={plan}): {org}"


lane_kinds = st.lists(st.sampled_from(("task", "thread", "to_thread")), min_size=1, max_size=3)
ops = st.sampled_from(("set", "clear", "get", "require"))


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[tuple[str, str | None]], list[str], list[Step]]:
    prefix = draw(st.lists(st.tuples(st.sampled_from(("set", "clear")),
                                     st.sampled_from(ORGS)), max_size=2))  # fmt: skip
    kinds = draw(lane_kinds)
    lanes = st.integers(0, len(kinds))
    steps: list[Step] = draw(st.lists(st.tuples(lanes, ops, st.sampled_from(ORGS)),
                                      min_size=1, max_size=8))  # fmt: skip
    return [(op, v if op == "set" else None) for op, v in prefix], kinds, steps


@given(program=programs())
def current_tenant_law(
    program: tuple[list[tuple[str, str | None]], list[str], list[Step]],
) -> None:
    count_example()
    prefix, kinds, steps = program
    main: str | None = None
    for op, value in prefix:
        main = value if op == "set" else None
    values = {"L0": main} | {f"L{i + 1}": model.lane_start(k, main) for i, k in enumerate(kinds)}
    seen = play_current_tenant(prefix, kinds, steps)
    for n, ((lane, op, value), answer) in enumerate(zip(steps, seen, strict=True)):
        values, want = model.step(values, f"L{lane}", op, value)
        assert answer == want, (
            f"step {n}: lane {lane} ({(['main', *kinds])[lane]}) {op}() -> {answer}, model "
            f"{want}\n  prefix {prefix}, lanes {['main', *kinds]}, steps {steps}"
        )


CHECKS = [
    Check(
        name="auth.isolation_validator",
        run=validator_law,
        summary="TenantIsolationValidator and TenantContext answer and record as documented",
        applies=has_auth,
    ),
    Check(
        name="auth.current_tenant",
        run=current_tenant_law,
        summary="the current tenant is per task and per thread: never a sibling's",
        applies=has_auth,
    ),
]
