"""The context machines' state and invariants for every read path beyond a context's fields.

:class:`ContextViewState` is the base of :class:`stateful.context_machine.ContextTreeComparison`
(and so of :class:`stateful.context_views_machine.ContextViewsComparison`): it owns the
``contexts`` bundle and, next to the tree model's state, the per-context state of
:mod:`models.context_views` (hooks, stage metadata), each root's recording event sink, and the
``StageContext`` objects derived so far. After every step, every context's ``to_dict()``,
snapshot, ``get_parent_data`` default, cancellation checks, hooks and stage metadata must read as
the model says, and every StageContext derived earlier must read as derived from its context
*now* (its cancellation is live). The rules that register hooks, set stage metadata, emit events
and derive StageContexts live in the views machine, so that the fork machine's budget goes to
forks and writes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant

from stageflow_verify.core.sut import context_views as views
from stageflow_verify.models.context_tree import ContextTreeModel, TreeState
from stageflow_verify.models.context_views import (
    CREATE_DEFAULTS,
    Extras,
    expected_snapshot,
    expected_stage_context,
    expected_views,
)
from stageflow_verify.models.heap import Plain

# Arguments of create a root may leave out: the model gives them create's defaults.
# Mostly nothing left out (and shrinking towards that): roots then hold the nested data that
# the fork machine's leaks need.
OMISSIONS = st.sampled_from(
    [frozenset[str]()] * 8
    + [frozenset({n}) for n in CREATE_DEFAULTS]
    + [frozenset(CREATE_DEFAULTS)]
)
CREATED_AT = st.sampled_from([None, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)])


@st.composite
def root_extras(draw: st.DrawFn) -> tuple[frozenset[str], bool, datetime | None, bool]:
    """Omitted arguments, whether events are recorded, created_at (None: left out), a db."""
    return draw(OMISSIONS), draw(st.booleans()), draw(CREATED_AT), draw(st.booleans())


# The fork machine draws only what create leaves out: the other extras spend its budget on what
# only the views machine reads (events, created_at, ports).
FORK_ROOT_EXTRAS = OMISSIONS.map(lambda omit: (omit, False, None, False))

RootExtras = tuple[frozenset[str], bool, datetime | None, bool]


class ContextViewState(RuleBasedStateMachine):
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
        # Snapshots taken earlier: (context, the snapshot, what it read when taken, the model's
        # boxes for its metadata and extensions), read again after every later step.
        self.snapshots: list[tuple[int, Any, dict[str, Plain], int, int | None]] = []

    def _add_root_view_state(self, sink: Any, created_at: str, db: Any) -> None:
        self.extras.append(Extras(created_at=created_at))
        self.sinks.append(sink)
        self.dbs.append(db)

    def _add_child_view_state(self, parent: int) -> None:
        self.extras.append(self.extras[parent].forked())
        self.sinks.append(self.sinks[parent])
        self.dbs.append(self.dbs[parent])

    @invariant()
    def every_view_matches_model(self) -> None:
        missing = views.fields_lacking(self.real[0]) if self.real else ()
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

    def _keep_snapshot(self, context: int, snapshot: Any) -> None:
        when_taken = expected_snapshot(
            self.model.observe(self.state, context), self.extras[context].created_at
        )
        self.state, metadata, extensions = self.model.take_snapshot(self.state, context)
        self.snapshots.append((context, snapshot, when_taken, metadata, extensions))

    @invariant()
    def earlier_snapshots_keep_what_they_read(self) -> None:
        for context, snapshot, when_taken, metadata, extensions in self.snapshots:
            expected = when_taken | {
                "metadata": self.model.load_box(self.state, metadata),
                "extensions": self.model.load_box(self.state, extensions),
            }
            actual = views.snapshot_fields(snapshot)
            assert actual == expected, (
                f"a snapshot taken earlier of context {context} reads {actual}, the model says "
                f"{expected}"
            )

    @invariant()
    def derived_stage_contexts_follow_their_context(self) -> None:
        for context, name, declared, stage_ctx in self.stage_contexts:
            observation = self.model.observe(self.state, context)
            has_ports = views.holds_ports(self.real[context])
            actual = views.stage_context_view(stage_ctx, self.dbs[context], has_ports)
            expected = {
                key: views.ABSENT if actual.get(key) == views.ABSENT else want
                for key, want in expected_stage_context(observation, name, declared).items()
            }
            assert actual == expected, (
                f"a StageContext {name!r} derived from context {context} reads {actual}, "
                f"the model says {expected}"
            )
