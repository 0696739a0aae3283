"""A ``StageInputs`` made with ``create_stage_inputs`` from an
:class:`~models.stage_inputs.InputsPlan`, and read back as :mod:`models.stage_inputs` answers.

Arguments the plan leaves out (``OMIT``) are left out of the call, so the factory's and the
dataclass's defaults are what is checked; ``declared_deps`` is passed in the plan's container
(list, set, frozenset, tuple). The reads also cover what the model compares once per plan: the
attributes, the frozen dataclass refusing an assignment, the snapshot handed in, and the tool
registry the inputs name (where the release has ``tool_registry``).

For example::

    inputs = make_inputs(plan)
    [read(inputs, r) for r in plan.reads] == list(answers(plan, deviations))
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.models.run_lifecycle import typed
from stageflow_verify.models.stage_inputs import OMIT, InputsPlan

sf = stageflow_module()
_MISSING = object()
CONTAINERS: dict[str, Any] = {"list": list, "set": set, "frozenset": frozenset, "tuple": tuple}


def snapshot() -> Any:
    return sf.context.ContextSnapshot(input_text="inputs")


def make_inputs(plan: InputsPlan, snap: Any) -> Any:
    from stageflow.stages.inputs import create_stage_inputs

    kwargs: dict[str, Any] = {}
    outputs = {name: sf.StageOutput.ok(data=dict(data)) for name, data in plan.outputs}
    if plan.outputs_arg != OMIT:
        kwargs["prior_outputs"] = {"dict": outputs, "none": None, "empty": {}}[plan.outputs_arg]
    if plan.deps_arg != OMIT:
        kwargs["declared_deps"] = (
            None if plan.deps_arg == "none" else CONTAINERS[plan.deps_arg](plan.deps)
        )
    if plan.stage_name_arg != OMIT:
        kwargs["stage_name"] = plan.stage_name
    if plan.strict is not None:
        kwargs["strict"] = plan.strict
    return create_stage_inputs(snap, **kwargs)


def attributes(inputs: Any) -> tuple[Any, ...]:
    return (
        tuple(sorted(inputs.declared_deps)),
        tuple(inputs.prior_outputs),
        inputs.stage_name,
        inputs.strict,
    )


def refuses_assignment(inputs: Any) -> bool:
    try:
        inputs.strict = not inputs.strict
    except (dataclasses.FrozenInstanceError, AttributeError):
        return True
    return False


def tool_registry_is_global(inputs: Any) -> bool | None:
    """None where the release's StageInputs names no tool registry (before 0.9.x)."""
    if not hasattr(type(inputs), "tool_registry"):
        return None
    from stageflow.tools import get_tool_registry

    return inputs.tool_registry is get_tool_registry()


def read(inputs: Any, method: str, target: str, key: Any) -> Any:
    """One read, as the model writes its answer (an error by its type's name; a refusal with
    the attributes the error carries, checked against its message)."""
    try:
        if method == "get":
            got = inputs.get(key, _MISSING)
        elif method == "get_from":
            got = inputs.get_from(target, key, _MISSING)
        elif method == "require_from":
            got = inputs.require_from(target, key)
        elif method == "has_output":
            return bool(inputs.has_output(target))
        else:
            out = inputs.get_output(target)
            return (
                None if out is None else tuple(sorted((k, typed(v)) for k, v in out.data.items()))
            )
    except sf.stages.inputs.UndeclaredDependencyError as exc:
        return refusal_seen(exc)
    except (KeyError, ValueError, TypeError) as exc:
        return type(exc).__name__
    return "default" if got is _MISSING else typed(got)


def refusal_seen(exc: Any) -> Any:
    deps = tuple(sorted(exc.declared_deps))
    seen = ("UndeclaredDependencyError", exc.stage_name, deps, exc.accessing_stage)
    if not message_names_all(str(exc), exc.stage_name, exc.declared_deps, exc.accessing_stage):
        return (*seen, "with the message", str(exc))
    return seen


def message_names_all(
    message: str, stage: str, deps: frozenset[str], accessing: str | None
) -> bool:
    """The message says what the docstring says the error is about: the dependency read, the
    declared ones ("To fix, add the dependency to the stage's depends_on list") and, when
    known, the stage that read. Its wording is not a promise; what it names is."""
    named = [f"'{stage}'", "depends_on", *(f"'{d}'" for d in deps)]
    if accessing:
        named.append(f"'{accessing}'")
    return all(word in message for word in named)


def undeclared_error(stage: str, deps: frozenset[str], accessing: str | None) -> Any:
    """The error built directly (it is exported), as a user's own validation raises it."""
    from stageflow.stages.inputs import UndeclaredDependencyError

    if accessing is None:
        return UndeclaredDependencyError(stage, deps)
    return UndeclaredDependencyError(stage, deps, accessing)
