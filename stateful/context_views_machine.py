"""``context.views``: the fork machine plus the rules that use a context's other read paths.

:class:`ContextViewsComparison` is :class:`stateful.context_machine.ContextTreeComparison` with
rules that register before-stage hooks, set stage metadata, emit events (checked field by field
as they are emitted), derive StageContexts and take snapshots (both read again after every
later step) and fork with a key string. Its invariants are the fork machine's
(:mod:`stateful.context_view_state`): every field and every view of every context, after every
step. It is a check of its own so that the
fork machine keeps its ci budget for forks and writes, where the leaks are.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule, run_state_machine_as_test

from stageflow_verify.core.run.checks import Check
from stageflow_verify.core.sut import context as sut
from stageflow_verify.core.sut import context_views as views
from stageflow_verify.models.context_tree import CreateRoot, Fork
from stageflow_verify.models.context_views import (
    ROOT_STAGE_NAME,
    STAGES,
    expected_event,
    expected_stage_event,
)
from stageflow_verify.models.heap import Plain
from stageflow_verify.stateful.context_machine import ContextTreeComparison, root_operations
from stageflow_verify.stateful.context_view_state import ContextViewState, RootExtras, root_extras

contexts = ContextViewState.contexts
EVENT_DATA = st.dictionaries(
    st.sampled_from(["route", "n"]), st.one_of(st.integers(0, 3), st.text("ab", max_size=2))
)
OMITTED = views.omitted()
# A payload that is there (an empty one is None to record_stage_event: ``if payload:``).
PAYLOADS = st.dictionaries(
    st.sampled_from(["route", "n"]), st.integers(0, 3), min_size=1, max_size=2
)


class ContextViewsComparison(ContextTreeComparison):
    # Roots here also get a recording event sink, a created_at and a db, or leave them out.
    @initialize(target=contexts, op=root_operations(), extras=root_extras())
    def create_first_root(self, op: CreateRoot, extras: RootExtras) -> int:
        return self._create_root(op, extras)

    @rule(target=contexts, op=root_operations(), extras=root_extras())
    def create_root(self, op: CreateRoot, extras: RootExtras) -> int:
        return self._create_root(op, extras)

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
        payload=st.one_of(st.just(OMITTED), st.none(), PAYLOADS),
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
        # A set of deps comes with the context's own snapshot passed in (as a graph run does).
        stage_ctx = views.derive_stage_context(
            self.real[context], root, stage_name, deps, with_snapshot=as_set
        )
        if stage_ctx is None:
            return  # this version derives no StageContext from a PipelineContext
        name = stage_name or (ROOT_STAGE_NAME if root else "stage_x")
        declared = [] if root or deps is OMITTED or deps is None else sorted(deps)
        self.stage_contexts.append((context, name, declared, stage_ctx))

    @rule(context=contexts)
    def take_snapshot(self, context: int) -> None:
        # "Derive immutable snapshot view" (stageflow/stages/context.py:179): read again after
        # every later step by ContextViewState.earlier_snapshots_keep_what_they_read.
        if not hasattr(self.real[context], "to_snapshot"):
            return  # 0.5.1 has no to_snapshot
        self._keep_snapshot(context, self.real[context].to_snapshot())

    @rule(parent=contexts, keys=st.sampled_from(["a", "ab", ""]))
    def fork_with_a_key_string(self, parent: int, keys: str) -> None:
        # "inherit_data must be a bool or iterable of keys": a str is refused, not read as
        # its characters (docs/api/context.md:71-73 list the accepted forms).
        if not sut.features().inherit_data:
            return
        op = Fork(parent, self._fresh_uuid(), "stage_a", self._fresh_uuid(), None, None, (), None)
        try:
            child = self.real[parent].fork(
                UUID(op.child_run_id), op.parent_stage_id, UUID(op.correlation_id),
                inherit_data=keys,
            )  # fmt: skip
        except TypeError:
            return
        raise AssertionError(f"fork(inherit_data={keys!r}) was accepted: child data {child.data}")


def run_context_views() -> None:
    run_state_machine_as_test(ContextViewsComparison)


CHECKS = [
    Check(
        "context.views",
        run_context_views,
        "hooks, stage metadata, events, derived StageContexts: every view equals the model",
    )
]
