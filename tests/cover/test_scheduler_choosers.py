"""Every chooser replays from what it prints, and each finds the planted lost update."""

from __future__ import annotations

import pytest

from stageflow_verify.core.sched.choosers import PCTChooser, ReplayChooser, SeededChooser
from stageflow_verify.core.sched.scheduler import run
from tests.cover.test_scheduler_counter import Counter, staggered_increments


def lost_updates(chooser: SeededChooser | PCTChooser | ReplayChooser) -> int:
    return 3 - run(staggered_increments(Counter(), 3), chooser).value


def test_a_seed_replays_the_same_schedule() -> None:
    first, again = SeededChooser(42), SeededChooser(42)
    assert (
        run(staggered_increments(Counter(), 3), first).trace
        == run(staggered_increments(Counter(), 3), again).trace
    )
    assert first.choices == again.choices
    assert first.replay_hint().startswith("SeededChooser(seed=42) or ReplayChooser([")


def test_an_unseeded_chooser_prints_the_seed_it_drew() -> None:
    chooser = SeededChooser()
    run(staggered_increments(Counter(), 2), chooser)
    replayed = SeededChooser(chooser.seed)
    run(staggered_increments(Counter(), 2), replayed)
    assert replayed.choices == chooser.choices


def test_seeded_random_schedules_find_the_lost_update() -> None:
    assert sum(lost_updates(SeededChooser(seed)) > 0 for seed in range(30)) >= 10


def test_pct_finds_the_lost_update_at_least_as_often_as_its_bound_promises() -> None:
    # Depth 2 bug, 4 lanes, ~12 decisions: the bound promises 1 / (4 * 12) per run.
    found = sum(lost_updates(PCTChooser(seed, depth=2, steps=12)) > 0 for seed in range(60))
    assert found >= 2


def test_pct_without_change_points_runs_strictly_by_priority() -> None:
    chooser = PCTChooser(7, depth=1)
    run(staggered_increments(Counter(), 3), chooser)
    assert PCTChooser(7, depth=1).replay_hint().startswith("PCTChooser(seed=7, depth=1")
    again = ReplayChooser(chooser.choices)
    assert lost_updates(again) == lost_updates(PCTChooser(7, depth=1))


def test_pct_rejects_a_depth_below_one() -> None:
    with pytest.raises(ValueError, match="depth >= 1"):
        PCTChooser(1, depth=0)


def test_replay_hint_drops_trailing_zeros_because_replay_pads_with_zeros() -> None:
    chooser = ReplayChooser([0, 2, 0, 0])
    for n in (2, 3, 2, 2):
        chooser.choose(n)
    assert chooser.replay_hint() == "ReplayChooser([0, 2])"
