"""Planted bugs in ChildRunTracker fail subpipelines.child_tracker, naming the read path that
shows them; pristine Stageflow passes it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from stageflow_verify.stateful.child_tracker_machine import (
    ChildTrackerComparison,
    run_child_tracker,
)
from tests.quality.planting import expect_failure, expect_pass

sub = pytest.importorskip("stageflow.pipeline.subpipeline")
Tracker = sub.ChildRunTracker


async def live_children(self: Any, parent_id: UUID) -> set[UUID]:
    async with self._lock:
        self._lookup_count += 1
        children: set[UUID] = self._children.get(parent_id, set())
        return children  # the planted bug: the caller gets the tracker's own set, not a copy


async def direct_children_only(self: Any, run_id: UUID) -> set[UUID]:
    self._tree_traversal_count += 1
    return set(self._children.get(run_id, set()))


async def parent_as_root(self: Any, run_id: UUID) -> UUID:
    self._lookup_count += 1
    parent: UUID = self._parents.get(run_id, run_id)
    if parent != run_id:
        self._max_depth_seen = max(self._max_depth_seen, 1)
    return parent


async def cleanup_keeps_parent_link(self: Any, run_id: UUID) -> None:
    self._parents.pop(run_id, None)
    self._children.pop(run_id, None)
    self._cleanup_count += 1


async def unregister_keeps_empty_parent(self: Any, parent_id: UUID, child_id: UUID) -> None:
    self._children.get(parent_id, set()).discard(child_id)
    self._parents.pop(child_id, None)
    self._unregistration_count += 1


original_reset = Tracker.reset_metrics


async def reset_keeps_max_depth(self: Any) -> None:
    depth = self._max_depth_seen
    await original_reset(self)
    self._max_depth_seen = depth


async def get_parent_uncounted(self: Any, child_id: UUID) -> UUID | None:
    parent: UUID | None = self._parents.get(child_id)
    return parent


@pytest.mark.parametrize(
    ("owner", "name", "bug", "symptom"),
    [
        (Tracker, "get_children", live_children, "children of"),
        (Tracker, "get_all_descendants", direct_children_only, "get_all_descendants("),
        (Tracker, "get_root_run", parent_as_root, "get_root_run("),
        (Tracker, "cleanup_run", cleanup_keeps_parent_link, "children of"),
        (Tracker, "unregister_child", unregister_keeps_empty_parent, "get_metrics()"),
        (Tracker, "reset_metrics", reset_keeps_max_depth, "get_metrics()"),
        (Tracker, "get_parent", get_parent_uncounted, "get_metrics()"),
        (sub, "clear_child_tracker", lambda: None, "after clear_child_tracker()"),
    ],
    ids=lambda v: getattr(v, "__name__", "") if callable(v) else "",
)
def test_planted_tracker_bug_fails_the_machine(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, bug: Any, symptom: str
) -> None:
    monkeypatch.setattr(owner, name, bug)
    # Its own budget, as in test_planted_context_views: in make test's worker order the ci
    # budget missed two of these bugs that it finds in isolation.
    budget = settings(settings.get_profile("ci"), max_examples=300)
    caught = expect_failure(
        lambda: run_state_machine_as_test(ChildTrackerComparison, settings=budget)
    )
    assert symptom in str(caught.error), caught.report


def test_pristine_tracker_passes() -> None:
    expect_pass(run_child_tracker)


async def max_follows_the_last_parent(self: Any, parent_id: UUID, child_id: UUID) -> None:
    async with self._lock:
        self._children.setdefault(parent_id, set()).add(child_id)
        self._parents[child_id] = parent_id
        count = len(self._children[parent_id])
        if count != self._max_concurrent_children:  # the planted bug: `!=` where `>` belongs
            self._max_concurrent_children = count
    async with self._metrics_lock:
        self._registration_count += 1


def test_a_maximum_that_falls_is_caught_by_the_check_as_ci_runs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The check itself at the ci budget (the machine, then the canonical scenarios), as
    # verify runs it: the generated mutant subpipeline.py:205 escaped the machine alone.
    monkeypatch.setattr(Tracker, "register_child", max_follows_the_last_parent)
    caught = expect_failure(run_child_tracker)
    assert "max_concurrent_children" in str(caught.error), caught.report
