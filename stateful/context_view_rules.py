"""The context machine's rules and invariants for every read path beyond a context's fields.

:class:`ContextViewRules` is the base of :class:`stateful.context_machine.ContextTreeComparison`:
it owns the ``contexts`` bundle and, next to the tree model's state, the per-context state of
:mod:`models.context_views` (hooks, stage metadata), each root's recording event sink, and the
``StageContext`` objects derived so far. After every step, every context's ``to_dict()``,
snapshot, ``get_parent_data`` default, cancellation checks, hooks and stage metadata must read as
the model says, and every StageContext derived earlier must read as derived from its context
*now* (its cancellation is live). Events are checked as they are emitted, field by field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from core.sut import context as sut
from core.sut import context_views as views
from models.context_tree import ContextTreeModel, TreeState
from models.context_views import (
    CREATE_DEFAULTS,
    ROOT_STAGE_NAME,
    STAGES,
    Extras,
    expected_event,
    expected_stage_context,
    expected_stage_event,
    expected_views,
)
from models.heap import Plain

EVENT_DATA = st.dictionaries(
    st.sampled_from(["route", "n"]), st.one_of(st.integers(0, 3), st.text("ab", max_size=2))
)
OMITTED = views.omitted()

# Arguments of create a root may leave out: the model gives them create's defaults.
OMISSIONS = st.frozensets(st.sampled_from(sorted(CREATE_DEFAULTS)))
CREATED_AT = st.sampled_from([None, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)])


@st.composite
def root_extras(draw: st.DrawFn) -> tuple[frozenset[str], bool, datetime | None, bool]:
    """Omitted arguments, whether events are recorded, created_at (None: left out), a db."""
    return draw(OMISSIONS), draw(st.booleans()), draw(CREATED_AT), draw(st.booleans())


RootExtras = tuple[frozenset[str], bool, datetime | None, bool]


class ContextViewRules(RuleBasedStateMachine):
    contexts = Bundle("contexts")
    model: ContextTreeModel
    state: TreeState
    real: list[Any]
    roots: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.extras: list[Extras] = []
        self.sinks: list[views.RecordingSink | None] = []  # a root's sink; forks share it
        self.hook_log: list[tuple[int, Any]] = []
        self.next_hook = 0
        self.stage_contexts: list[tuple[int, str, list[str], Any]] = []
        self.dbs: list[Any] = []  # each context's db (a fork's is its parent's)

    def _add_root_view_state(self, sink: Any, created_at: str, db: Any) -> None:
        self.extras.append(Extras(created_at=created_at))
        self.sinks.append(sink)
        self.dbs.append(db)

    def _add_child_view_state(self, parent: int) -> None:
        self.extras.append(self.extras[parent].forked())
        self.sinks.append(self.sinks[parent])
        self.dbs.append(self.dbs[parent])

    @rule(context=contexts, asynchronous=st.booleans())
    def add_hook(self, context: int, asynchronous: bool) -> None:
        real = self.real[context]
        if not hasattr(real, "add_before_stage_start_hook"):
            return  # 0.5.1 has no hooks
        self.next_hook += 1
        real.add_before_stage_start_hook(
            views.make_hook(self.next_hook, asynchronous, self.hook_log)
        )
        self.extras[context] = self.extras[context].with_hook(self.next_hook)

    @rule(context=contexts, stage=st.sampled_from(STAGES), value=st.dictionaries(
        st.sampled_from(["ms", "ok"]), st.integers(0, 3), max_size=2))  # fmt: skip
    def set_stage_metadata(self, context: int, stage: str, value: dict[str, Plain]) -> None:
        self.real[context].set_stage_metadata(stage, dict(value))
        self.extras[context] = self.extras[context].with_stage_metadata(stage, dict(value))

    @rule(context=contexts, event_type=st.sampled_from(["tool.done", "custom"]), data=EVENT_DATA)
    def emit_event(self, context: int, event_type: str, data: dict[str, Plain]) -> None:
        sink = self.sinks[context]
        if sink is None or not hasattr(self.real[context], "try_emit_event"):
            return  # a root created without our sink emits to the process-wide one
        views.emit(self.real[context], event_type, dict(data))
        expected = expected_event(self.model.observe(self.state, context), data)
        assert sink.events[-1:] == [(event_type, expected)], (
            f"context {context}: try_emit_event({event_type!r}, {data}) emitted "
            f"{sink.events[-1:]}, the model says {[(event_type, expected)]}"
        )

    @rule(
        context=contexts,
        stage=st.sampled_from(STAGES),
        status=st.sampled_from(["started", "completed"]),
        payload=st.one_of(st.just(OMITTED), st.none(), EVENT_DATA),
    )
    def record_stage_event(self, context: int, stage: str, status: str, payload: Any) -> None:
        sink = self.sinks[context]
        if sink is None:
            return
        views.record_stage_event(self.real[context], stage, status, payload)
        given = None if payload is OMITTED else payload
        expected = expected_stage_event(
            self.model.observe(self.state, context), stage, status, given
        )
        assert sink.events, f"context {context}: record_stage_event emitted nothing"
        event_type, data = sink.events[-1]
        assert isinstance(data, dict)
        stamp = data.pop("timestamp", None)
        assert (event_type, data) == (f"stage.{stage}.{status}", expected) and isinstance(
            stamp, str
        ), (
            f"context {context}: record_stage_event({stage!r}, {status!r}, {payload}) emitted "
            f"{event_type} {data} (timestamp {stamp!r}); the model says "
            f"stage.{stage}.{status} {expected} with a timestamp"
        )

    @rule(
        context=contexts,
        root=st.booleans(),
        stage_name=st.sampled_from([None, "stage_a"]),
        deps=st.sampled_from([OMITTED, None, ("a",), frozenset({"a", "b"})]),
        as_set=st.booleans(),
    )
    def derive_stage_context(
        self, context: int, root: bool, stage_name: str | None, deps: Any, as_set: bool
    ) -> None:
        if isinstance(deps, tuple):
            deps = set(deps) if as_set else list(deps)
        stage_ctx = views.derive_stage_context(self.real[context], root, stage_name, deps)
        if stage_ctx is None:
            return  # this version derives no StageContext from a PipelineContext
        name = stage_name or (ROOT_STAGE_NAME if root else "stage_x")
        declared = [] if root or deps is OMITTED or deps is None else sorted(deps)
        self.stage_contexts.append((context, name, declared, stage_ctx))

    @invariant()
    def every_view_matches_model(self) -> None:
        missing = sut.features().missing_fields()
        for index, real in enumerate(self.real):
            actual = views.views(real, self.hook_log)
            expected = expected_views(self.model.observe(self.state, index), self.extras[index])
            for name, seen in actual.items():
                want = views.ABSENT if seen == views.ABSENT else expected[name]
                if name == "to_dict" and isinstance(want, dict) and isinstance(seen, dict):
                    want = {k: v for k, v in want.items() if k not in missing}
                    seen = {k: seen.get(k, "<missing>") for k in want} | {
                        k: v for k, v in seen.items() if k not in want and k not in missing
                    }
                assert seen == want, (
                    f"context {index}: {name} reads {seen!r}, the model says {want!r}"
                )

    @invariant()
    def derived_stage_contexts_follow_their_context(self) -> None:
        for context, name, declared, stage_ctx in self.stage_contexts:
            observation = self.model.observe(self.state, context)
            expected = expected_stage_context(observation, name, declared)
            actual = views.stage_context_view(stage_ctx, self.dbs[context])
            assert actual == expected, (
                f"a StageContext {name!r} derived from context {context} reads {actual}, "
                f"the model says {expected}"
            )
