"""``lifecycle.stage_inputs``: ``create_stage_inputs`` and the ``StageInputs`` it makes, against
:mod:`models.stage_inputs`, with every argument given, left out or given as ``None``.

The lifecycle machine reads StageInputs as a graph run builds them (every argument given, the
dependencies as the spec's tuple, strict); this law calls the factory as a user's own code and
tests do: ``declared_deps`` as a list, set, frozenset or tuple, ``strict=False``, no
``stage_name``, no outputs, and keys that are not strings. Each example draws up to three
outputs (falsy values drawn as often as truthy ones), the arguments and up to six reads, and
compares every answer, the attributes read back, the frozen dataclass refusing an assignment,
the snapshot handed in and the tool registry with the model. It also builds
``UndeclaredDependencyError`` directly (it is exported) and checks its attributes and that its
message names what it is about.

For example::

    run_stage_inputs_law()  # raises with the shrunk plan and the first answer that differs
"""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, adopting_known, count_example
from stageflow_verify.core.sut.stage_inputs import (
    attributes,
    make_inputs,
    message_names_all,
    read,
    refuses_assignment,
    snapshot,
    tool_registry_is_global,
    undeclared_error,
)
from stageflow_verify.models import stage_inputs as model
from stageflow_verify.models.run_lifecycle import UNCHECKED_WITHOUT_DEPS
from stageflow_verify.models.stage_inputs import OMIT, InputsPlan
from stageflow_verify.stateful.lifecycle_findings import FINDINGS as LIFECYCLE_FINDINGS

CHECK = "lifecycle.stage_inputs"
NAMES = "abcd"  # "d" is never handed an output: a declared dependency that has none
VALUES: tuple[Any, ...] = (0, False, "", [], None, 1, "x", [0])


def applies(sf: ModuleType) -> str | None:
    if importlib.util.find_spec("stageflow.stages.inputs") is None:
        return "this stageflow has no stageflow.stages.inputs"
    return None


@st.composite
def plans(draw: st.DrawFn) -> InputsPlan:
    names = draw(st.lists(st.sampled_from(NAMES[:3]), max_size=3, unique=True))
    data = st.lists(st.tuples(st.sampled_from(["v", "w"]), st.sampled_from(VALUES)), max_size=2)
    outputs = tuple((n, tuple(dict(draw(data)).items())) for n in names)
    reads = st.tuples(
        st.sampled_from(["get", "get_from", "require_from", "has_output", "get_output"]),
        st.sampled_from(NAMES),
        st.sampled_from(["v", "w", "", None, 7]),  # None and 7: not strings
    )
    return InputsPlan(
        outputs,
        draw(st.sampled_from(["dict", "dict", "none", "empty", OMIT])),
        tuple(draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))),
        draw(st.sampled_from(["list", "set", "frozenset", "tuple", "none", OMIT])),
        draw(st.sampled_from([None, "me"])),
        draw(st.sampled_from(["given", OMIT])),
        draw(st.sampled_from([None, True, False])),
        tuple(draw(st.lists(reads, min_size=1, max_size=6))),
    )


# Plans at each rule's edge, drawn about half the time (ci's draws are few and fixed): two
# outputs holding one key (get's first match), a declaration with an output-less stage and
# every kind of key, no declaration at all (SF-LIFE-01), strict=False.
_TWO = (("a", (("v", 0),)), ("b", (("v", 1), ("w", False))))
_READS = (("get", "a", "v"), ("get_from", "c", "v"), ("require_from", "b", "w"),
          ("get", "a", None), ("has_output", "d", "v"), ("get_output", "a", 7))  # fmt: skip
CANONICAL = (
    InputsPlan(_TWO, "dict", ("a", "b", "d"), "list", "me", "given", None, _READS),
    InputsPlan(_TWO, "dict", (), OMIT, None, OMIT, None, (("get_from", "a", "v"),)),
    InputsPlan(_TWO, "dict", ("a",), "set", "me", "given", False, (("get_output", "b", "v"),)),
)


@given(plan=st.one_of(plans(), st.sampled_from(CANONICAL)))
def stage_inputs_law(plan: InputsPlan, active: frozenset[str]) -> None:
    count_example()
    snap = snapshot()
    inputs = make_inputs(plan, snap)
    assert attributes(inputs) == model.attributes(plan), (
        f"create_stage_inputs kept other arguments than it was given for {plan}\n"
        f"  model (declared, outputs, stage_name, strict): {model.attributes(plan)}\n"
        f"  stageflow:                                     {attributes(inputs)}"
    )
    assert inputs.snapshot is snap, "StageInputs.snapshot is not the snapshot handed in"
    assert refuses_assignment(inputs), "StageInputs took an assignment: it is documented frozen"
    assert tool_registry_is_global(inputs) in (None, True), (
        "StageInputs.tool_registry is not the global tool registry"
    )
    for r, expected in zip(plan.reads, model.answers(plan, active), strict=True):
        seen = read(inputs, *r)
        assert seen == expected, (
            f"StageInputs answered {r[0]}{r[1:]} differently for {plan}\n"
            f"  model:     {expected!r}\n  stageflow: {seen!r}\n"
            f"  adopted: {sorted(active) or 'none'}"
        )


@given(
    stage=st.sampled_from(NAMES),
    deps=st.frozensets(st.sampled_from(NAMES), max_size=3),
    accessing=st.sampled_from([None, "me"]),
)
def undeclared_error_law(
    stage: str, deps: frozenset[str], accessing: str | None, active: frozenset[str]
) -> None:
    # docs/api/inputs.md:17-20: stage_name is "The undeclared dependency that was accessed",
    # declared_deps "The set of declared dependencies", accessing_stage "The stage that tried".
    count_example()
    exc = undeclared_error(stage, deps, accessing)
    seen = (exc.stage_name, exc.declared_deps, exc.accessing_stage)
    assert seen == (stage, deps, accessing), f"UndeclaredDependencyError keeps {seen}"
    assert message_names_all(str(exc), stage, deps, accessing), (
        f"UndeclaredDependencyError({stage!r}, {set(deps)}, {accessing!r}) says {str(exc)!r}"
    )


def _findings() -> list[Any]:
    # SF-LIFE-01 (an empty declaration validates nothing) is the one deviation this model has.
    return [f for f in LIFECYCLE_FINDINGS if f.id == UNCHECKED_WITHOUT_DEPS]


def run_stage_inputs_law() -> None:
    adopting_known(stage_inputs_law, _findings)()
    adopting_known(undeclared_error_law, _findings)()


CHECKS = [
    Check(
        name=CHECK,
        run=run_stage_inputs_law,
        summary="create_stage_inputs with arguments left out, StageInputs' reads and its error",
        applies=applies,
    ),
]
