"""What a ``StageInputs`` made by ``create_stage_inputs`` answers, as a pure function.

The graph runs make their StageInputs one way (every argument given, from the stage's spec);
a user's own tests and tools call ``create_stage_inputs`` with arguments left out, with
``declared_deps`` as a list, a set or a frozenset, and with ``strict=False``. An
:class:`InputsPlan` is plain data: the outputs handed in (in order, each a small ``data`` dict
whose falsy values are values), how each argument was given (``OMIT``: left out), and the
reads made afterwards. :func:`answer` is the model's answer to one read; each rule quotes the
promise it encodes:

- The factory: ``declared_deps`` "Set of declared dependency stage names (optional)",
  ``strict`` "If True, validates dependency access (default: True)" (docs/api/inputs.md:204,
  206); the constructor's defaults are ``frozenset()``, ``None`` and ``True``
  (docs/api/inputs.md:44-51). The attributes read back as given: ``declared_deps`` as a
  frozenset, ``prior_outputs`` holding the outputs handed in ("Dict of outputs from dependency
  stages", :202), ``snapshot`` the very snapshot, ``stage_name`` and ``strict`` as given.
- Keys: ``get``, ``get_from`` and ``require_from`` raise ``TypeError`` for a key that "is None
  or not a string" and ``ValueError`` for "an empty string" (docs/api/inputs.md:78-79,
  102-103, 164-165), before anything else is looked at (the key is what the call is about).
- Validation: ``UndeclaredDependencyError`` "If strict=True and stage is not in declared_deps"
  (docs/api/inputs.md:104, 126, 144, 166), carrying ``stage_name`` (the stage read),
  ``declared_deps`` and ``accessing_stage`` (:17-20). ``get`` "does not validate dependencies
  since it searches all outputs" (stages/inputs.py ``get``). SF-LIFE-01 (adopted while it
  reproduces): an empty declaration validates nothing.
- Answers: ``get`` returns "the value from the first prior output containing the key, or
  default" (:75), in the order the outputs were handed in; ``get_from`` the value, or the
  default "if stage not found or key not present" (:97); ``require_from`` raises ``KeyError``
  "If stage has no output or key is not in output.data" (:167); ``has_output`` and
  ``get_output`` say whether the stage produced output and return it (:123, :141).
- Immutability: "Immutable: frozen=True prevents accidental mutation" (stages/inputs.py:8):
  assigning any attribute raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stageflow_verify.models.run_lifecycle import UNCHECKED_WITHOUT_DEPS, Typed, typed

OMIT = "omit"  # the argument is left out of the call: its default applies
KEYED = ("get", "get_from", "require_from")
Outputs = tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]  # (stage, data items), in order


@dataclass(frozen=True)
class InputsPlan:
    outputs: Outputs  # handed in as prior_outputs, in this order
    outputs_arg: str  # "dict", "none" (None), "empty" ({}), OMIT
    deps: tuple[str, ...]
    deps_arg: str  # "list", "set", "frozenset", "tuple", "none" (None), OMIT
    stage_name: str | None  # None with stage_name_arg OMIT: left out
    stage_name_arg: str  # "given", OMIT
    strict: bool | None  # None: left out
    reads: tuple[tuple[str, str, Any], ...]  # (method, stage read, key)


def declared(plan: InputsPlan) -> frozenset[str]:
    return frozenset(plan.deps) if plan.deps_arg not in ("none", OMIT) else frozenset()


def handed(plan: InputsPlan) -> Outputs:
    return plan.outputs if plan.outputs_arg == "dict" else ()


def attributes(plan: InputsPlan) -> tuple[Any, ...]:
    """``declared_deps``, the prior outputs' names in order, ``stage_name``, ``strict``."""
    name = plan.stage_name if plan.stage_name_arg != OMIT else None
    strict = True if plan.strict is None else plan.strict
    return (tuple(sorted(declared(plan))), tuple(n for n, _ in handed(plan)), name, strict)


def refusal(plan: InputsPlan, target: str) -> tuple[str, str, tuple[str, ...], str | None]:
    name = plan.stage_name if plan.stage_name_arg != OMIT else None
    return ("UndeclaredDependencyError", target, tuple(sorted(declared(plan))), name)


def answer(plan: InputsPlan, read: tuple[str, str, Any], deviations: frozenset[str]) -> Any:
    method, target, key = read
    if method in KEYED:
        if not isinstance(key, str):
            return "TypeError"
        if key == "":
            return "ValueError"
    outputs = dict(handed(plan))
    if method == "get":
        for _, items in handed(plan):
            found = dict(items)
            if key in found:
                return typed(found[key])
        return "default"
    strict = plan.strict is not False
    deps = declared(plan)
    unchecked = not deps and UNCHECKED_WITHOUT_DEPS in deviations
    if strict and target not in deps and not unchecked:
        return refusal(plan, target)
    data = outputs.get(target)
    if method == "has_output":
        return data is not None
    if method == "get_output":
        return None if data is None else tuple(sorted((k, typed(v)) for k, v in data))
    value = dict(data or ()).get(key, _ABSENT)
    if value is _ABSENT:
        return "KeyError" if method == "require_from" else "default"
    return typed(value)


_ABSENT = object()


def answers(plan: InputsPlan, deviations: frozenset[str]) -> tuple[Any, ...]:
    return tuple(answer(plan, r, deviations) for r in plan.reads)


__all__ = ["OMIT", "InputsPlan", "Typed", "answer", "answers", "attributes", "declared"]
