"""subpipelines.unusual_parents: spawn_tree's machine, spawning also from the contexts users make.

``subpipelines.spawn_tree`` spawns from roots that carry a ``pipeline_run_id`` and from the
contexts the spawner gave its children. Users make two other kinds, both documented, and spawn
from them:

- a context without ``pipeline_run_id``, what ``PipelineContext.create()`` gives by default
  (``pipeline_run_id: UUID | None = None``, stageflow/stages/context.py:214): here the first
  root. Its children run and count their depth from it, but no tracker entry and no spawned,
  completed or failed event can name it (:func:`models.subpipelines._spawn` quotes why), and
  ``cancel_with_children`` cannot be asked for it (it takes a run id).
- a context forked by hand, ``ctx.fork(child_run_id, parent_stage_id, correlation_id)``
  (docs/advanced/subpipelines.md:49, "Forking Context"), from any live run: the rule
  ``fork_by_hand``. The depth limit counts it one level below the run it came from; no spawn
  made it, so the tracker never holds it and a cascade from that run stops short of it
  (:func:`models.subpipelines.fork_context`). SF-SUB-08 (a parent the spawner never recorded
  counts as depth 0) is adopted while its reproducer shows it for a hand-forked context too.

Everything else, every rule and invariant, is spawn_tree's. The rule lives in this subclass
only, so spawn_tree's own examples (and the planted tests tuned to them) stay as they were.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis import settings
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from stageflow_verify.core.run.checks import Check, reproducing_ids
from stageflow_verify.models.subpipelines import fork_context
from stageflow_verify.properties.subpipeline_depth import FINDINGS as DEPTH_FINDINGS
from stageflow_verify.stateful.subpipeline_machine import FINDINGS, PICK, SubpipelineComparison

CHECK = "subpipelines.unusual_parents"


class UnusualParentsComparison(SubpipelineComparison):
    unidentified_roots: ClassVar[int] = 1
    forks = 0

    @precondition(lambda self: self.state is not None)
    @rule(source=PICK)
    def fork_by_hand(self, source: int) -> None:
        """Fork a live run's context (a root's, a hand fork's, or a parked child's)."""
        runs = self._runs(roots=True, statuses=("live",))
        origin = runs[-1 - source % len(runs)]  # shrinks to the newest
        self.forks += 1
        label = f"f{self.forks}"
        self._h().fork(origin, label)
        self.state = fork_context(self._s(), origin, label)
        self.observation = None


def comparison_with(deviations: frozenset[str]) -> type[UnusualParentsComparison]:
    """An UnusualParentsComparison whose model adopts ``deviations`` (finding ids)."""
    return type("UnusualParentsComparison", (UnusualParentsComparison,), {"deviations": deviations})


def run_unusual_parents(adopted: frozenset[str] | None = None) -> None:
    known = reproducing_ids([*FINDINGS, *DEPTH_FINDINGS]) if adopted is None else adopted
    run_state_machine_as_test(
        comparison_with(known), settings=settings(settings.default, report_multiple_bugs=False)
    )


CHECKS = [
    Check(
        name=CHECK,
        run=run_unusual_parents,
        summary="spawn_tree also spawning from a root without pipeline_run_id and from "
        "hand-forked contexts: tracking, events, depth and cancel cascades vs model",
    ),
]
