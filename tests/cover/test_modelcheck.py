"""make modelcheck's parts: scenario verdicts on pristine Stageflow, and the model walks."""

from __future__ import annotations

from stageflow_verify.core.check.statespace import Walk, context_tree_walk, tree_invariant, walk
from stageflow_verify.core.run.modelcheck import (
    ALL_CONTEXT_DEVIATIONS,
    Entry,
    check_scenario,
    main,
    scenarios,
)


def test_bag_scenarios_pass_and_spawn_racing_cancel_is_the_known_finding() -> None:
    by_name = {e.name: e for e in scenarios()}
    for name in ("output_bag.2_writers", "context_bag.2_writers"):
        result = check_scenario(by_name[name], bound=2, max_schedules=1_000)
        assert result.status == "PASS" and result.report.complete, result.report.summary()
        assert len(result.report.distinct_outcomes) == 2  # either writer may go first
    spawn = check_scenario(by_name["subpipeline.spawn_racing_cancel"], 2, 1_000)
    assert spawn.status == "KNOWN" and spawn.report.violations_found > 0
    unregistered = Entry("unregistered", by_name["subpipeline.spawn_racing_cancel"].scenario)
    assert check_scenario(unregistered, 2, 1_000).status == "NEW"


def test_context_tree_walk_finds_no_broken_invariant_to_depth_four() -> None:
    report = walk(context_tree_walk(frozenset()), depth=4)
    assert report.states > 100 and report.violations == []


def test_isolation_invariant_fires_on_a_model_that_shares_boxes() -> None:
    # The deviations make parent and child share boxes: claiming isolation must fail.
    shared = context_tree_walk(ALL_CONTEXT_DEVIATIONS)
    claimed = Walk(shared.name, shared.init, shared.successors, lambda s: tree_invariant(s, True),
                   shared.key)  # fmt: skip
    report = walk(claimed, depth=2)
    assert report.violations and "share boxes" in report.violations[0]
    assert report.violations[0].startswith("after CreateRoot ; Fork:")


def test_modelcheck_exits_zero_on_pristine_stageflow(tmp_path: object) -> None:
    assert main(["--preemption-bound", "1", "--depth", "2", "--reports", str(tmp_path)]) == 0
