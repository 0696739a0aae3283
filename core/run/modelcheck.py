"""`make modelcheck`: every schedule of small real-Stageflow scenarios, and the models' own states.

Part one runs the scheduler's exhaustive mode (:func:`core.sched.exhaustive.explore`) over the
canonical scenarios of :mod:`core.sut.modelcheck_scenarios` (2 and 3 concurrent writers on each
bag, spawn racing cancel, two runs of one graph), each within a preemption bound and a budget of
schedules. A row reports the schedules explored, whether the bound was exhausted (``complete``:
otherwise the budget cut the search and a clean row proves less), the distinct outcomes, the
violations, and a status: PASS (no violation), KNOWN (violations, and the scenario registers a
finding that still reproduces), NEW (a violation nobody registered), FIXED (a registered finding
no longer shows). Every violation prints its ``ReplayChooser`` schedule.

Part two walks the reference models breadth-first (:mod:`core.check.statespace`) and checks their
invariants in every state within depth ``k``.

Exit 0 when nothing is NEW and no model invariant broke, 1 otherwise; writes
``reports/modelcheck.json``.

For example::

    .venv/bin/stageflow-verify modelcheck --preemption-bound 2 --max-schedules 5000 --depth 4
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stageflow_verify.core.check.statespace import (
    WalkReport,
    context_bag_walk,
    context_tree_walk,
    output_bag_walk,
    walk,
)
from stageflow_verify.core.run.checks import discover_findings, reproducing_ids, still_reproduces
from stageflow_verify.core.run.report_files import atomic_write_json, completed, running_marker
from stageflow_verify.core.run.watchdog import STALL_SECONDS, StageflowStuckError, stall_watchdog
from stageflow_verify.core.sched.exhaustive import ExplorationReport, Violation, explore
from stageflow_verify.core.sut import modelcheck_scenarios as sc
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.models import bags
from stageflow_verify.models.bags import ContextBagModel, OutputBagModel
from stageflow_verify.models.context_tree import (
    EMPTY_OVERRIDE_IGNORED,
    LIVE_EXTENSIONS,
    SHALLOW_CONFIGURATION,
    SHALLOW_INHERITED_DATA,
    SHALLOW_METADATA,
    SHALLOW_PARENT_SNAPSHOT,
    UNIDENTIFIED_PARENT_NOT_CHILD,
)
from stageflow_verify.stateful.bag_findings import FINDINGS as BAG_FINDINGS
from stageflow_verify.stateful.bag_findings import READ_DATA_WRITES_BAG, WRITTEN_DICT_SHOWS

ALL_CONTEXT_DEVIATIONS = frozenset(
    {
        SHALLOW_PARENT_SNAPSHOT,
        SHALLOW_INHERITED_DATA,
        SHALLOW_CONFIGURATION,
        SHALLOW_METADATA,
        LIVE_EXTENSIONS,
        EMPTY_OVERRIDE_IGNORED,
        UNIDENTIFIED_PARENT_NOT_CHILD,
    }
)


@dataclass(frozen=True)
class Entry:
    """A scenario and the findings that explain its violations (if they still reproduce)."""

    name: str
    scenario: sc.Scenario
    findings: tuple[str, ...] = ()


def output_bag_model() -> OutputBagModel:
    """The OutputBag model with the bag findings that still reproduce adopted."""
    adopted = reproducing_ids(BAG_FINDINGS)
    return OutputBagModel(
        aliases_written=WRITTEN_DICT_SHOWS in adopted, aliases_reads=READ_DATA_WRITES_BAG in adopted
    )


def context_bag_model() -> ContextBagModel:
    # No deviation to adopt: to_dict's shared values are the documented rule (SF-BAG-03 withdrawn).
    return ContextBagModel()


def scenarios() -> list[Entry]:
    output_model, context_model = output_bag_model(), context_bag_model()
    return [
        Entry("output_bag.2_writers", sc.output_bag_writers(2, output_model)),
        Entry("output_bag.3_writers", sc.output_bag_writers(3, output_model)),
        Entry("context_bag.2_writers", sc.context_bag_writers(2, context_model)),
        Entry("context_bag.3_writers", sc.context_bag_writers(3, context_model)),
        Entry("subpipeline.spawn_racing_cancel", sc.spawn_racing_cancel, ("SF-SUB-02",)),
        Entry("graph.two_runs_of_one_graph", sc.two_runs_of_one_graph),
    ]


@dataclass(frozen=True)
class Result:
    entry: Entry
    report: ExplorationReport
    status: str
    seconds: float


def check_scenario(entry: Entry, bound: int, max_schedules: int) -> Result:
    start = time.perf_counter()
    try:
        # The deterministic loop's step budget ends a spin that awaits; the stall watchdog ends
        # one that never awaits (no step is taken), and names where it spun.
        with quiet(), stall_watchdog(STALL_SECONDS, f"scenario {entry.name}", lambda: 0):
            report = explore(entry.scenario, preemption_bound=bound, max_schedules=max_schedules)
    except StageflowStuckError as exc:
        stuck = ExplorationReport(violations=[Violation((), exc)], violations_found=1)
        stuck.bound = f"preemption bound {bound}"
        # A hang is no registered finding: NEW when Stageflow was stuck, ERROR when we were.
        status = "NEW" if exc.in_stageflow else "ERROR"
        return Result(entry, stuck, status, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    findings = {f.id: f for f in discover_findings()}
    registered = [findings[i] for i in entry.findings]
    reproducing = bool(registered) and all(still_reproduces(f) for f in registered)
    if report.violations_found:
        status = "KNOWN" if reproducing else "NEW"
    else:
        status = "FIXED" if registered and not reproducing else "PASS"
    return Result(entry, report, status, seconds)


def walks(depth: int | None) -> list[WalkReport]:
    # Default depths keep each walk near a second: the context tree branches far more.
    tree, bag = (5, 7) if depth is None else (depth, depth)
    return [
        walk(context_tree_walk(frozenset()), tree),
        walk(context_tree_walk(ALL_CONTEXT_DEVIATIONS), tree),
        walk(output_bag_walk(bags.OutputBagModel()), bag),
        walk(output_bag_walk(bags.OutputBagModel(aliases_written=True, aliases_reads=True)), bag),
        walk(context_bag_walk(bags.ContextBagModel()), bag),
    ]


def render(results: list[Result], walked: list[WalkReport]) -> str:
    lines = [
        f"{'scenario':<32} {'bound':>5} {'schedules':>9} {'complete':>8} {'outcomes':>8} "
        f"{'violations':>10} {'status':<6} {'seconds':>7}"
    ]
    for r in results:
        rep = r.report
        lines.append(
            f"{r.entry.name:<32} {rep.bound.split()[-1]:>5} {rep.schedules_explored:>9} "
            f"{'yes' if rep.complete else 'NO':>8} {len(rep.distinct_outcomes):>8} "
            f"{rep.violations_found:>10} {r.status:<6} {r.seconds:>7.2f}"
        )
    lines += ["", f"{'model walk':<34} {'depth':>5} {'states':>7} {'transitions':>11} "
              f"{'violations':>10} {'seconds':>7}"]  # fmt: skip
    for w in walked:
        lines.append(
            f"{w.name:<34} {w.depth:>5} {w.states:>7} {w.transitions:>11} "
            f"{len(w.violations):>10} {w.seconds:>7.2f}"
        )
    for r in results:
        if r.report.violations:
            first = r.report.violations[0]
            message = str(first.error).splitlines()[0] if str(first.error) else ""
            lines += ["", f"{r.status} {r.entry.name}: {r.report.summary()}", f"  {message}"]
            lines.append(f"  replay: run(scenario, {first.replay_hint()})")
    for w in walked:
        lines += [f"MODEL {w.name}: {v}" for v in w.violations]
    return "\n".join(lines)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.core.run.modelcheck", description=__doc__
    )
    parser.add_argument("--preemption-bound", type=int, default=3)
    parser.add_argument("--max-schedules", type=int, default=20_000, help="per scenario")
    parser.add_argument("--depth", type=int, default=None, help="walk depth (default per model)")
    parser.add_argument("--reports", default="reports")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    with running_marker(Path(args.reports), "modelcheck", ("modelcheck.json",)):
        bound, most = args.preemption_bound, args.max_schedules
        results = [check_scenario(e, bound, most) for e in scenarios()]
        walked = walks(args.depth)
        print(render(results, walked))
        bad = any(r.status == "NEW" for r in results) or any(w.violations for w in walked)
        _write(Path(args.reports), results, walked)
    if bad:
        return 1
    return 3 if any(r.status == "ERROR" for r in results) else 0  # 3: verify's code for ERROR


def _write(directory: Path, results: list[Result], walked: list[WalkReport]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    data = {
        "scenarios": [
            {
                "name": r.entry.name,
                "bound": r.report.bound,
                "schedules": r.report.schedules_explored,
                "complete": r.report.complete,
                "distinct_outcomes": len(r.report.distinct_outcomes),
                "violations": r.report.violations_found,
                "status": r.status,
                "findings": list(r.entry.findings),
                "seconds": round(r.seconds, 3),
            }
            for r in results
        ],
        "walks": [
            {
                "name": w.name,
                "depth": w.depth,
                "states": w.states,
                "transitions": w.transitions,
                "violations": w.violations,
                "seconds": round(w.seconds, 3),
            }
            for w in walked
        ],
    }
    atomic_write_json(directory / "modelcheck.json", completed(data))


if __name__ == "__main__":
    raise SystemExit(main())
