"""How an illegal history is shown: a swimlane, then an explanation that ends in a contradiction.

The swimlane has one lane per task and one row per event on the logical time axis (a call
immediately followed by its own return shares one row); the ``step`` column is the scheduler step
the event happened in.

The explanation is built as data first (:class:`Explanation`, after elle's ``explain-pair-data``)
and rendered in a separate step (:func:`render_explanation`). It binds a letter to each operation
("Let:"), then states the ordering facts real time imposes, each with its reason, then walks every
order those facts allow and says where each one breaks ("Then:"), ending in the contradiction.
Explanations are meant for the 1-minimal sub-histories the checker produces, which have a
handful of operations; above :data:`MAX_ORDERS` failing orders the walk is summarised.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from stageflow_verify.core.check import _search
from stageflow_verify.core.check.history import I, Model, O, Operation, S

MAX_ORDERS = 12


@dataclass(frozen=True)
class Binding:
    name: str
    task: str
    op: str
    span: str


@dataclass(frozen=True)
class Precedes:
    first: str
    second: str
    returned: int
    began: int


@dataclass(frozen=True)
class Overlaps:
    first: str
    second: str


@dataclass(frozen=True)
class Unfinished:
    name: str
    began: int


@dataclass(frozen=True)
class OrderFails:
    """In the order ``order`` the last operation would return ``expected``, not ``actual``."""

    order: tuple[str, ...]
    expected: str
    actual: str


Fact = Precedes | Overlaps | Unfinished


@dataclass(frozen=True)
class Explanation:
    initial: str
    bindings: tuple[Binding, ...]
    facts: tuple[Fact, ...]
    failures: tuple[OrderFails, ...]
    complete: bool  # False: more than MAX_ORDERS failing orders, only the first are listed


def _span(op: Operation[I, O]) -> str:
    if op.ret_step is None:
        return f"step {op.call_step}, never returned"
    if op.ret_step == op.call_step:
        return f"step {op.call_step}"
    return f"steps {op.call_step}-{op.ret_step}"


def _names(ops: Sequence[Operation[I, O]]) -> dict[int, str]:
    letters = string.ascii_uppercase
    ordered = sorted(ops, key=lambda o: o.call)
    return {op.id: letters[k] if k < 26 else f"O{k}" for k, op in enumerate(ordered)}


def explain(model: Model[S, I, O], ops: Sequence[Operation[I, O]], initial: S) -> Explanation:
    """Explain why no order of ``ops`` (an illegal history) matches what they returned.

    post: len(__return__.bindings) == len(ops)
    """
    name = _names(ops)
    ordered = sorted(ops, key=lambda o: o.call)
    bindings = tuple(Binding(name[o.id], o.task, _describe(model, o), _span(o)) for o in ordered)
    facts: list[Fact] = []
    for k, a in enumerate(ordered):
        if a.ret is None:
            facts.append(Unfinished(name[a.id], a.call_step))
        for b in ordered[k + 1 :]:
            if a.precedes(b):
                # Only the direct facts: skip a -> b when some c has a -> c -> b.
                if not any(a.precedes(c) and c.precedes(b) for c in ordered):
                    facts.append(Precedes(name[a.id], name[b.id], a.ret_step or 0, b.call_step))
            else:
                facts.append(Overlaps(name[a.id], name[b.id]))
    orders, complete = _search.failing_orders(model, ordered, initial, MAX_ORDERS)
    by_id = {o.id: o for o in ops}
    failures = tuple(
        OrderFails(
            tuple(name[i] for i in order),
            model.describe_output(expected),
            model.describe_output(by_id[order[-1]].output),
        )
        for order, expected in orders
    )
    return Explanation(model.describe_state(initial), bindings, tuple(facts), failures, complete)


def _describe(model: Model[S, I, O], op: Operation[I, O]) -> str:
    if op.ret is None:
        return f"{model.describe_op(op.input, None)} -> ?"
    return model.describe_op(op.input, op.output)


def render_explanation(explanation: Explanation) -> str:
    lines = ["Let:", f"  the object start as {explanation.initial}"]
    lines += [f"  {b.name} = {b.task} {b.op}  ({b.span})" for b in explanation.bindings]
    lines.append("Then:")
    for fact in explanation.facts:
        if isinstance(fact, Precedes) and fact.returned == fact.began:
            lines.append(
                f"  - {fact.first} returned before {fact.second} began (both in step"
                f" {fact.began}), so {fact.first} comes before {fact.second};"
            )
        elif isinstance(fact, Precedes):
            lines.append(
                f"  - {fact.first} returned at step {fact.returned}, before {fact.second} began"
                f" at step {fact.began}, so {fact.first} comes before {fact.second};"
            )
        elif isinstance(fact, Overlaps):
            lines.append(f"  - {fact.first} and {fact.second} overlap, so either may come first;")
        else:
            lines.append(
                f"  - {fact.name} never returned, so it took effect after step {fact.began}"
                " or not at all;"
            )
    for f in explanation.failures:
        what = f"{f.order[0]} first" if len(f.order) == 1 else " then ".join(f.order)
        lines.append(
            f"  - {what}: {f.order[-1]} would return {f.expected}, but it returned {f.actual};"
        )
    if not explanation.complete:
        lines.append(f"  - (only the first {MAX_ORDERS} failing orders are listed)")
    names = ", ".join(b.name for b in explanation.bindings)
    lines.append(f"  - However, no order of {names} gives what they returned: a contradiction!")
    return "\n".join(lines)


def render_swimlane(model: Model[S, I, O], ops: Sequence[Operation[I, O]]) -> str:
    """One lane per task (in order of first call), one row per event, with a step column.

    For example::

        step  T0 w0                         T1 w1
        1     |- write('s') -> attempt 1 -|
        2                                   |- write('s') -> attempt 1 -|
    """
    tasks = list(dict.fromkeys(o.task for o in sorted(ops, key=lambda o: o.call)))
    events = sorted(
        [(o.call, "call", o) for o in ops] + [(o.ret, "ret", o) for o in ops if o.ret is not None]
    )
    rows: list[tuple[int, dict[str, str]]] = []
    k = 0
    while k < len(events):
        _, what, op = events[k]
        lane = {}
        if what == "call":
            text = f"|- {model.describe_op(op.input, None)}"
            if k + 1 < len(events) and events[k + 1][2] is op:
                text += f" -> {model.describe_output(op.output)} -|"
                k += 1
            elif op.ret is None:
                text += " -> ? (never returned)"
            lane[op.task] = text
            rows.append((op.call_step, lane))
        else:
            lane[op.task] = f"-> {model.describe_output(op.output)} -|"
            rows.append((op.ret_step or 0, lane))
        k += 1
    labels = [f"T{i} {task}" for i, task in enumerate(tasks)]
    width = [
        max([len(labels[i]), *(len(r.get(task, "")) for _, r in rows)]) + 2
        for i, task in enumerate(tasks)
    ]
    header = "step  " + "".join(lbl.ljust(w) for lbl, w in zip(labels, width, strict=True))
    body = [
        str(step).ljust(6)
        + "".join(r.get(task, "").ljust(w) for task, w in zip(tasks, width, strict=True))
        for step, r in rows
    ]
    return "\n".join(line.rstrip() for line in [header, *body])


def render_report(
    model: Model[S, I, O], ops: Sequence[Operation[I, O]], explanation: Explanation
) -> str:
    return (
        "Not linearizable. Smallest illegal sub-history:\n"
        + render_swimlane(model, ops)
        + "\n"
        + render_explanation(explanation)
    )
