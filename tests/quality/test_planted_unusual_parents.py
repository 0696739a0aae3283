"""Planted bugs in spawns from unusual parents, caught by subpipelines.unusual_parents.

``PipelineContext.create()`` makes a context without ``pipeline_run_id`` by default. A child
spawned from one runs, counts its depth from 0 and is recorded, and is neither registered under
the parent (the tracker keys children by the parent's run id) nor announced (the spawned,
completed and failed events carry the parent's run id): ``models.subpipelines._spawn`` quotes
why. Each test plants one departure from that (the way ``test_planted_subpipelines`` does,
recompiling a spawner method with one textual edit) and expects the check to fail with a
shrunk program; each is invisible to ``subpipelines.spawn_tree``, whose roots all have ids.

A context forked by hand is nested below its run for the depth limit, but the tracker never
holds it (``models.subpipelines.fork_context``): SF-SUB-08 left out, and a fork that keeps its
parent's run id, must each fail the check.
"""

from __future__ import annotations

from typing import Any

import pytest

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties.subpipeline_depth import FINDINGS as DEPTH_FINDINGS
from stageflow_verify.stateful.subpipeline_findings import SUBPIPELINE_FINDINGS
from stageflow_verify.stateful.subpipeline_machine import run_spawn_tree
from stageflow_verify.stateful.subpipeline_parents_machine import run_unusual_parents
from tests.quality.planting import expect_failure, expect_pass
from tests.quality.test_planted_subpipelines import plant

# Exact lines of the dedented methods (plant() refuses an edit that does not match once).
REGISTER = "    if parent_run_id:\n        await self._tracker.register_child("
UNREGISTER = "        if parent_run_id:\n            await self._tracker.unregister_child("
SPAWNED = "    if self._emit_events and parent_run_id:\n        await self._emit_spawned("
NO_ID_DEPTH = "if parent_run_id is None:\n        return 0"


def always(line: str) -> str:
    return line.replace("parent_run_id:", "True:", 1).replace(" and True:", ":", 1)


PLANTED: dict[str, tuple[str, list[tuple[str, str]]]] = {
    # The tracker holds the child under None, a key no cancel can name.
    "registered_under_none": (
        "spawn", [(REGISTER, always(REGISTER)), (UNREGISTER, always(UNREGISTER))]
    ),
    # pipeline.spawned_child announced with parent_run_id "None".
    "announced_without_a_parent": ("spawn", [(SPAWNED, always(SPAWNED))]),
    # A parent without a run id counted one level deep: its children sit two deep.
    "depth_counted_from_one": ("_get_current_depth", [(NO_ID_DEPTH, NO_ID_DEPTH[:-1] + "1")]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PLANTED))
def test_a_planted_unidentified_root_bug_is_found(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    method, edits = PLANTED[name]
    plant(monkeypatch, method, edits)
    caught = expect_failure(run_unusual_parents)
    assert isinstance(caught.error, AssertionError), caught.error
    assert any(s.startswith("state.configure") for s in caught.steps), caught.report
    expect_pass(run_spawn_tree)  # every root there has a run id: the bug is out of its sight


def test_pristine_stageflow_passes_with_an_unidentified_root() -> None:
    expect_pass(run_unusual_parents)


def test_sf_sub_08_left_out_is_found_through_a_hand_fork() -> None:
    # Its hand-forked symptom is what this check adopts; without it, a spawn from a fork is
    # counted at the fork's true depth, and the spawner's depth disagrees.
    known = reproducing_ids([*SUBPIPELINE_FINDINGS, *DEPTH_FINDINGS])
    caught = expect_failure(lambda: run_unusual_parents(known - {"SF-SUB-08"}))
    assert isinstance(caught.error, AssertionError), caught.error
    assert "state.fork_by_hand(" in caught.report, caught.report


def test_a_fork_that_reuses_its_parents_run_id_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planted bug: the plain three-argument fork (the "Forking Context" call, no keyword
    # the spawner's own forks pass) keeps the parent's run id, so what the fork spawns is
    # registered, announced and cancelled as the parent's children.
    context_class = stageflow_module().PipelineContext
    fork = context_class.fork

    def fork_keeping_the_run_id(self: Any, child_run_id: Any, *args: Any, **kwargs: Any) -> Any:
        return fork(self, child_run_id if kwargs else self.pipeline_run_id, *args, **kwargs)

    monkeypatch.setattr(context_class, "fork", fork_keeping_the_run_id)
    caught = expect_failure(run_unusual_parents)
    assert isinstance(caught.error, AssertionError), caught.error
    assert "state.fork_by_hand(" in caught.report, caught.report
    expect_pass(run_spawn_tree)  # spawn_tree forks nothing by hand: out of its sight
