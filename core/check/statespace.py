"""Breadth-first walks of the reference models' own state spaces, checking their invariants.

The state machines trust the models: a model that can reach a malformed state (a dangling heap
reference, an attempt counter that disagrees with the writes, a child with another tenant's ids)
would make every comparison against it meaningless. So ``make modelcheck`` also walks each model
from ``init()`` over a small alphabet of operations, breadth-first to depth ``k``, visiting each
distinct state once, and checks the invariants below in every state reached:

- context tree (``models/context_tree.py``), with no deviations and with all of them: the heap
  is closed (every reference and every context's box exists, ``next_id`` is fresh), run ids are
  unique, tenant fields equal the parent's, ``canceled`` iff a reason is recorded; with no
  deviations, no two contexts reach a common box (the isolation the model promises).
- OutputBag: each stage's attempt equals the writes acknowledged for it on the path there, and
  reads leave the state unchanged. ContextBag: each key has exactly one writer, the first one.

A walk state is the model state plus what the path knows (acknowledged writes), so the
invariants can compare the two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from stageflow_verify.models import bags
from stageflow_verify.models.context_tree import (
    TENANT_FIELDS,
    AddArtifact,
    ContextTreeModel,
    CreateRoot,
    EditThrough,
    Fork,
    MarkCanceled,
    Operation,
    ReadPath,
    TreeState,
)
from stageflow_verify.models.heap import (
    Append,
    ListBox,
    MapBox,
    Plain,
    Ref,
    SetKey,
    container_paths,
)

W = TypeVar("W")  # a walk state


@dataclass
class WalkReport:
    """What a walk saw: distinct states, transitions, the depth reached, invariant breaches."""

    name: str
    depth: int
    states: int = 0
    transitions: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Walk(Generic[W]):
    name: str
    init: W
    successors: Callable[[W], Iterable[tuple[str, W]]]
    invariant: Callable[[W], str | None]  # None, or what is wrong
    key: Callable[[W], Hashable]


def walk(spec: Walk[W], depth: int, max_states: int = 200_000) -> WalkReport:
    """Visit every state within ``depth`` steps of ``spec.init`` (at most ``max_states``)."""
    report = WalkReport(spec.name, depth)
    start = time.perf_counter()
    seen = {spec.key(spec.init)}
    frontier: list[tuple[W, tuple[str, ...]]] = [(spec.init, ())]
    for level in range(depth + 1):
        following: list[tuple[W, tuple[str, ...]]] = []
        for state, path in frontier:
            report.states += 1
            problem = spec.invariant(state)
            if problem is not None and len(report.violations) < 5:
                report.violations.append(f"after {' ; '.join(path) or 'init'}: {problem}")
            if level == depth or len(seen) >= max_states:
                continue
            for label, nxt in spec.successors(state):
                report.transitions += 1
                k = spec.key(nxt)
                if k not in seen:
                    seen.add(k)
                    following.append((nxt, (*path, label)))
        frontier = following
    report.seconds = time.perf_counter() - start
    return report


# --- context tree ------------------------------------------------------------------------------

_ROOT = CreateRoot(
    identity={"pipeline_run_id": "r", "user_id": "u", "org_id": "o", "session_id": "s"},
    topology=None,
    execution_mode=None,
    service="svc",
    data={"a": {"x": [1]}},
    configuration={"c": {"y": 1}},
    metadata={"m": [1]},
    extensions={"e": {"z": 1}},
)
_PATHS = (ReadPath.DATA, ReadPath.PARENT_DATA, ReadPath.CONFIGURATION, ReadPath.EXTENSIONS)


def _tree_ops(model: ContextTreeModel, state: TreeState, max_contexts: int) -> list[Operation]:
    if not state.contexts:
        return [_ROOT]
    ops: list[Operation] = []
    n = len(state.contexts)
    for i in range(n):
        if n < max_contexts:
            for inherit in (True, False):
                overrides: dict[str, Plain] | None = None if inherit else {"o": {"v": 1}}
                ops.append(Fork(i, f"c{n}", "st", "cor", None, None, inherit, overrides))
        for read_path in _PATHS:
            start = model.root_box(state, i, read_path)
            if start is None:
                continue
            path = container_paths(state.heap, start)[-1]  # the deepest container
            ops.append(EditThrough(i, read_path, path, _edit_for(state, start, path)))
        ops += [MarkCanceled(i, "user"), AddArtifact(i)]
    return ops


def _edit_for(state: TreeState, start: int, path: tuple[str | int, ...]) -> Any:
    from stageflow_verify.models.heap import resolve

    target = resolve(state.heap, start, path)
    assert target is not None
    box = state.heap.box(target)
    return SetKey("n", 2) if isinstance(box, MapBox) else Append(2)


def _reach(state: TreeState, roots: Iterable[int | None]) -> set[int]:
    seen: set[int] = set()
    pending = [r for r in roots if r is not None]
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        box = state.heap.box(ref)
        values = [v for _, v in box.items] if isinstance(box, MapBox) else list(box.items)
        pending += [v.box for v in values if isinstance(v, Ref)]
    return seen


def tree_invariant(state: TreeState, isolated: bool) -> str | None:
    boxes = state.heap.boxes
    if any(ref >= state.heap.next_id for ref in boxes):
        return "a box id is not below next_id: the next allocation would reuse it"
    for ref, box in boxes.items():
        items = [v for _, v in box.items] if isinstance(box, MapBox) else list(box.items)
        assert isinstance(box, MapBox | ListBox)
        if any(isinstance(v, Ref) and v.box not in boxes for v in items):
            return f"box {ref} refers to a box that does not exist"
    run_ids = [c.identity.get("pipeline_run_id") for c in state.contexts]
    if len(set(run_ids)) != len(run_ids):
        return f"two contexts share a pipeline_run_id: {run_ids}"
    by_run = {c.identity.get("pipeline_run_id"): c for c in state.contexts}
    owned: list[set[int]] = []
    for i, c in enumerate(state.contexts):
        own = [c.data, c.configuration, c.metadata, c.extensions, c.parent_data, c.overrides]
        if any(b is not None and b not in boxes for b in own):
            return f"context {i} holds a box that does not exist"
        if c.canceled != (c.cancellation_reason is not None):
            return f"context {i}: canceled={c.canceled} with reason {c.cancellation_reason!r}"
        parent = by_run.get(c.identity.get("parent_run_id"))
        if parent is not None and any(c.identity[f] != parent.identity[f] for f in TENANT_FIELDS):
            return f"context {i} carries other tenant fields than its parent"
        owned.append(_reach(state, own))
    for i in range(len(owned)) if isolated else ():
        for j in range(i):
            if owned[i] & owned[j]:
                return f"contexts {j} and {i} share boxes {sorted(owned[i] & owned[j])}"
    return None


def context_tree_walk(deviations: frozenset[str], max_contexts: int = 3) -> Walk[TreeState]:
    model = ContextTreeModel(deviations)
    isolated = not deviations

    def successors(state: TreeState) -> Iterable[tuple[str, TreeState]]:
        for op in _tree_ops(model, state, max_contexts):
            yield type(op).__name__, model.step(state, op)

    name = "model.context_tree" + ("" if isolated else "+all_deviations")
    return Walk(name, model.init(), successors, lambda s: tree_invariant(s, isolated), repr)


# --- bags --------------------------------------------------------------------------------------

BagWalk = tuple[bags.OutputBagState, tuple[tuple[str, int], ...]]
_BAG_OPS: tuple[bags.BagInput, ...] = (
    *(
        bags.Write(s, bags.OutputView("ok", (("w", i),)), overwrite, data_id=i)
        for s in ("s", "t")
        for i in (0, 1)
        for overwrite in (False, True)
    ),
    bags.MutateWritten(0, "w", 9),
    bags.MutateRead("s", "w", 9),
    bags.Get("s", "get_attempt_count"),
    bags.View("to_dict"),
)


def output_bag_walk(model: bags.OutputBagModel) -> Walk[BagWalk]:
    def successors(w: BagWalk) -> Iterable[tuple[str, BagWalk]]:
        state, acked = w
        for op in _BAG_OPS:
            after, outcome = model.step(state, op)
            counts = dict(acked)
            if isinstance(op, bags.Write) and isinstance(outcome, bags.Returned):
                counts[op.stage] = counts.get(op.stage, 0) + 1
            elif not isinstance(op, bags.MutateWritten | bags.MutateRead) and after != state:
                yield type(op).__name__, (after, (("<read changed the state>", 1),))
                continue
            yield type(op).__name__, (after, tuple(sorted(counts.items())))

    def invariant(w: BagWalk) -> str | None:
        state, acked = w
        counts = dict(acked)
        if "<read changed the state>" in counts:
            return "a read operation changed the model state"
        stages = [s.entry.stage for s in state.stored]
        if len(set(stages)) != len(stages):
            return f"a stage is stored twice: {stages}"
        for s in state.stored:
            if s.entry.attempt != counts.get(s.entry.stage, 0):
                return f"{s.entry.stage}: attempt {s.entry.attempt}, writes acknowledged {counts}"
        return None

    flags = "+aliasing" if model.aliases_written or model.aliases_reads else ""
    return Walk(f"model.output_bag{flags}", (model.init(), ()), successors, invariant, repr)


ContextWalk = tuple[bags.ContextBagState, tuple[tuple[str, str], ...]]
_CONTEXT_OPS: tuple[bags.ContextInput, ...] = (
    *(bags.CWrite(k, v, st) for k in ("a", "b") for v in (1, (("v", 1),)) for st in ("x", "y")),
    bags.MutateCopy("a", "v", 2),
    bags.CRead("a", "get_writer"),
)


def context_bag_walk(model: bags.ContextBagModel) -> Walk[ContextWalk]:
    def successors(w: ContextWalk) -> Iterable[tuple[str, ContextWalk]]:
        state, first = w
        for op in _CONTEXT_OPS:
            after, outcome = model.step(state, op)
            firsts = dict(first)
            if isinstance(op, bags.CWrite) and isinstance(outcome, bags.Returned):
                firsts.setdefault(op.key, op.stage)
            yield type(op).__name__, (after, tuple(sorted(firsts.items())))

    def invariant(w: ContextWalk) -> str | None:
        state, first = w
        keys = [k for k, _ in state.data]
        if keys != [k for k, _ in state.writers] or len(set(keys)) != len(keys):
            return f"keys {keys} and writers {state.writers} disagree"
        if dict(state.writers) != dict(first):
            return f"writers {state.writers}, first acknowledged writes {first}"
        return None

    return Walk("model.context_bag", (model.init(), ()), successors, invariant, repr)
