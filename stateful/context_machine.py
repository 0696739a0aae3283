"""``ContextTreeComparison``: the context model and real ``PipelineContext`` objects, side by side.

Rules grow a forest of contexts (roots of different tenants, children, grandchildren), write at
the top level and deep inside nested values through every read path a user has (own data,
inherited data, ``get_parent_data``, configuration, metadata, extensions, the caller's
``data_overrides``), cancel contexts and add artifacts. After every step the invariants compare
the observation of *every* context, parents included, with the model: a write that leaks from a
child to its parent shows at the step that made it, and Hypothesis shrinks the rules to the
fewest that still leak.

The model adopts, as named deviations, the known findings that still reproduce on the Stageflow
under test (``stateful/context_findings.py``), so the machine keeps hunting past them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule, run_state_machine_as_test

from stageflow_verify.core.run.checks import Check, count_example, reproducing_ids
from stageflow_verify.core.sut import context as sut
from stageflow_verify.core.sut import context_views as views
from stageflow_verify.models.context_tree import (
    ROOT_ID_FIELDS,
    TENANT_FIELDS,
    AddArtifact,
    ContextTreeModel,
    CreateRoot,
    EditThrough,
    Fork,
    MarkCanceled,
    ReadPath,
)
from stageflow_verify.models.context_views import CREATE_DEFAULTS
from stageflow_verify.models.heap import (
    Append,
    DeleteKey,
    Edit,
    ListBox,
    MapBox,
    Plain,
    PopLast,
    SetIndex,
    SetKey,
    container_paths,
    resolve,
)
from stageflow_verify.stateful.context_findings import CHECK, FINDINGS
from stageflow_verify.stateful.context_view_state import (
    FORK_ROOT_EXTRAS,
    ContextViewState,
    RootExtras,
)

KEYS = st.sampled_from(["profile", "tier", "a", "b"])
SCALARS = st.one_of(st.integers(-3, 3), st.text("xyz", max_size=2), st.none(), st.booleans())
# Containers first: shrinking then keeps the nesting that a leak needs and drops the rest.
VALUES: st.SearchStrategy[Plain] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.dictionaries(KEYS, inner, min_size=1, max_size=2), st.lists(inner, max_size=2)
    ),
    max_leaves=4,
)
NESTED: st.SearchStrategy[Plain] = st.one_of(
    st.dictionaries(KEYS, VALUES, min_size=1, max_size=2), st.lists(VALUES, max_size=2), VALUES
)
DICTS = st.dictionaries(KEYS, NESTED, max_size=3)
TENANTS = st.sampled_from([str(UUID(int=n)) for n in (0xA1, 0xB2)])
OPTIONAL_IDS = st.one_of(st.sampled_from([str(UUID(int=n)) for n in (0xC3, 0xD4)]), st.none())
NAMES = st.sampled_from([None, "chat_fast", "", "voice_accurate"])


@st.composite
def root_operations(draw: st.DrawFn) -> CreateRoot:
    identity = {f: draw(OPTIONAL_IDS) for f in ROOT_ID_FIELDS}
    identity.update({f: draw(TENANTS) for f in ("user_id", "org_id")})
    return CreateRoot(
        identity=identity,
        topology=draw(NAMES),
        execution_mode=draw(NAMES),
        service=draw(st.sampled_from(["pipeline", "voice"])),
        data=draw(DICTS),
        configuration=draw(DICTS),
        metadata=draw(DICTS),
        extensions=draw(st.one_of(DICTS, st.none())),
    )


def fit_edit(box: MapBox | ListBox, kind: int, key: str, index: int, value: Plain) -> Edit:
    """Turn drawn numbers into an edit that fits the container (always applicable)."""
    if isinstance(box, MapBox):
        if kind % 2 == 1 and box.items:
            return DeleteKey(box.keys()[index % len(box.items)])
        return SetKey(key, value)
    if kind % 3 == 1 and box.items:
        return SetIndex(index % len(box.items), value)
    if kind % 3 == 2 and box.items:
        return PopLast()
    return Append(value)


class ContextTreeComparison(ContextViewState):
    def __init__(self) -> None:
        super().__init__()
        count_example()
        self.model = ContextTreeModel(deviations=self.adopted_deviations())
        self.state = self.model.init()
        self.real: list[Any] = []
        self.overrides: list[Any] = []  # the caller's data_overrides dict of each context
        self.roots: list[int] = []  # the root each context descends from
        self.next_id = 0x100

    def adopted_deviations(self) -> frozenset[str]:
        return reproducing_ids(FINDINGS)

    def _fresh_uuid(self) -> str:
        self.next_id += 1
        return str(UUID(int=self.next_id))

    def _add(self, real: Any, overrides: Any, root: int) -> int:
        self.real.append(real)
        self.overrides.append(overrides)
        self.roots.append(root)
        return len(self.real) - 1

    @initialize(target=ContextViewState.contexts, op=root_operations(), extras=FORK_ROOT_EXTRAS)
    def create_first_root(self, op: CreateRoot, extras: RootExtras) -> int:
        return self._create_root(op, extras)

    @rule(target=ContextViewState.contexts, op=root_operations(), extras=FORK_ROOT_EXTRAS)
    def create_root(self, op: CreateRoot, extras: RootExtras) -> int:
        return self._create_root(op, extras)

    def _create_root(self, op: CreateRoot, extras: RootExtras) -> int:
        omit, record_events, created_at, with_db = extras
        # Left out is the same as passed at its default (docs/api/context.md:14-29).
        defaults: dict[str, Any] = {name: CREATE_DEFAULTS[name] for name in omit}
        op = replace(op, **defaults)
        op = sut.bridge_root(op)  # only what this Stageflow version can hold
        self.state = self.model.step(self.state, op)
        sink = views.RecordingSink() if record_events else None
        db = object() if with_db else None
        passed = {"event_sink": sink, "created_at": created_at, "db": db}
        real = sut.create_root(op, omit, {k: v for k, v in passed.items() if v is not None})
        # Left out, created_at is "now" (datetime.now(UTC)): only its zone can be predicted.
        # A version without created_at (0.5.1) has no snapshot to show it in either.
        held = getattr(real, "created_at", None)
        assert created_at is not None or held is None or held.utcoffset() == timedelta(0)
        self._add_root_view_state(sink, (created_at or held or datetime.min).isoformat(), db)
        return self._add(real, None, len(self.real))

    @rule(
        target=ContextViewState.contexts,
        parent=ContextViewState.contexts,
        topology=NAMES,
        execution_mode=NAMES,
        inherit=st.one_of(st.just(False), st.just(True), st.lists(KEYS, max_size=3).map(tuple)),
        overrides=st.one_of(st.none(), DICTS),
        stage=st.sampled_from(["stage_a", "stage_b"]),
        spell_defaults=st.booleans(),
    )
    def fork_child(
        self,
        parent: int,
        topology: str | None,
        execution_mode: str | None,
        inherit: bool | tuple[str, ...],
        overrides: dict[str, Plain] | None,
        stage: str,
        spell_defaults: bool,
    ) -> int:
        op = Fork(
            parent, self._fresh_uuid(), stage, self._fresh_uuid(), topology, execution_mode,
            inherit, overrides,
        )  # fmt: skip
        op = sut.bridge_fork(op)  # only the fork arguments this Stageflow version takes
        self.state = self.model.step(self.state, op)
        caller_overrides = sut.fresh_overrides(op)
        child = sut.fork(self.real[parent], op, caller_overrides, spell_defaults)
        self._add_child_view_state(parent)
        return self._add(child, caller_overrides, self.roots[parent])

    @rule(
        context=ContextViewState.contexts,
        read_path=st.sampled_from(ReadPath),
        selector=st.integers(0, 63),
        kind=st.integers(0, 2),
        key=KEYS,
        value=NESTED,
    )
    def edit_through(
        self, context: int, read_path: ReadPath, selector: int, kind: int, key: str, value: Plain
    ) -> None:
        if not sut.reachable(read_path):
            return  # this Stageflow version has no such container (0.5.1: no metadata)
        start = self.model.root_box(self.state, context, read_path)
        if start is None:
            return  # nothing to reach: a root's parent data, no extensions, no overrides
        heap = self.state.heap
        # Nested containers first: they are where shallow copies leak, so the small selectors
        # that Hypothesis tries (and shrinks to) reach them; the top level comes last.
        paths = container_paths(heap, start)
        paths = paths[1:] + paths[:1]
        path = paths[selector % len(paths)]
        target = resolve(heap, start, path)
        assert target is not None
        edit = fit_edit(heap.box(target), kind, key, selector // len(paths), value)
        self.state = self.model.step(self.state, EditThrough(context, read_path, path, edit))
        accepted = sut.edit_through(
            self.real[context], read_path, path, edit, self.overrides[context]
        )
        assert accepted or not self.model.writable(read_path, path), (
            f"Stageflow refused {edit} through {read_path.value}{list(path)} of context "
            f"{context}, which the model says the user may change"
        )

    @rule(context=ContextViewState.contexts, reason=st.sampled_from([None, "user", "timeout"]))
    def mark_canceled(self, context: int, reason: str | None) -> None:
        reason = sut.bridge_reason(reason)
        self.state = self.model.step(self.state, MarkCanceled(context, reason))
        sut.mark_canceled(self.real[context], reason)

    @rule(context=ContextViewState.contexts)
    def add_artifact(self, context: int) -> None:
        self.state = self.model.step(self.state, AddArtifact(context))
        sut.add_artifact(self.real[context])

    @invariant()
    def every_context_matches_model(self) -> None:
        for index, real in enumerate(self.real):
            expected = sut.comparable(self.model.observe(self.state, index))
            actual = sut.observe(real, self.overrides[index])
            if expected != actual:
                raise AssertionError(self._describe_mismatch(index, expected, actual))

    @invariant()
    def tenant_fields_equal_the_roots(self) -> None:
        for index, real in enumerate(self.real):
            root = self.real[self.roots[index]]
            for field in TENANT_FIELDS:
                assert getattr(real, field) == getattr(root, field), (
                    f"context {index} has {field}={getattr(real, field)}, its root "
                    f"{self.roots[index]} has {getattr(root, field)}: a tenant leak"
                )

    def _describe_mismatch(
        self, index: int, expected: dict[str, Plain], actual: dict[str, Plain]
    ) -> str:
        lines = [f"context {index} differs from the model (root {self.roots[index]}):"]
        for field in expected:
            if expected[field] != actual.get(field):
                lines.append(f"  {field}: model {expected[field]!r}, stageflow {actual[field]!r}")
        adopted = ", ".join(sorted(self.model.deviations)) or "none"
        lines.append(f"  known deviations adopted: {adopted}")
        return "\n".join(lines)


def machine_adopting(deviations: frozenset[str]) -> type[ContextTreeComparison]:
    """The machine with a fixed set of adopted deviations instead of the reproducing ones.

    Adopting fewer than reproduce shows the machine finds a known bug on its own.
    """

    class Adopting(ContextTreeComparison):
        def adopted_deviations(self) -> frozenset[str]:
            return deviations

    return Adopting


def run_fork_tree() -> None:
    run_state_machine_as_test(ContextTreeComparison)


CHECKS = [
    Check(
        CHECK,
        run_fork_tree,
        "fork/write/cancel on context trees: every context equals the model after every step",
    )
]
