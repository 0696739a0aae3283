"""How many of `ci`'s examples each catalogued bug needs before verify sees it (issue 15 item 4).

`make mutation` plants every bug of ``tests/quality/mutants.py`` and runs verify on it; each
verify row's statistics (:mod:`core.run.check_statistics`, counted from Hypothesis's own) say at
which valid example the first generated failure came. Set beside what the same check spends on
pristine Stageflow (its valid examples: the profile's budget for it, summed over its Hypothesis
runs), that says how close to the end of the budget each kill is. A bug found only in the last
part of the budget is *fragile*: a change in how examples are generated (a new strategy, a
reordered rule) can push its first failure past the end, and the kill is lost with no other
change. :data:`FRAGILE_SHARE` draws that line.

A bug killed by several checks counts its earliest detection: any NEW row is a kill. A row
without a generated failure is ``outside the search``: an explicit example, a finding's
reproducer, or a run the stall watchdog ended (a hang, which aborts Hypothesis before it notes
its statistics); then the count says nothing about the budget, and the table says so.

:func:`write_table` runs at the end of the catalog (``core/run/mutation.py``) and writes
``reports/ci_power.md`` and ``reports/ci_power.json``; ``python -m
stageflow_verify.core.run.ci_power`` writes them again from ``reports/mutation.json``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stageflow_verify.core.run.report_files import atomic_write_json

# Detected after more than this share of the check's budget: fragile. Three quarters leaves a
# quarter of the budget as margin; a first failure past it is one a modest change could lose.
FRAGILE_SHARE = 0.75
CI_POWER_FILES = ("ci_power.md", "ci_power.json")


@dataclass(frozen=True)
class Detection:
    """One killed bug's earliest detection: which check, at which example, of how many."""

    bug: str
    check: str
    detected_at: int | None  # None: outside the search (no generated failure was counted)
    budget: int | None  # the check's valid examples on pristine Stageflow

    @property
    def share(self) -> float | None:
        if self.detected_at is None or not self.budget:
            return None
        return self.detected_at / self.budget

    @property
    def fragile(self) -> bool:
        share = self.share
        return share is not None and share > FRAGILE_SHARE


def detections(outcomes: Sequence[Mapping[str, Any]]) -> list[Detection]:
    """The earliest detection of every killed mutant among ``outcomes`` (the catalog section of
    mutation.json: the pristine outcome first, then one per mutant)."""
    budgets = {
        name: row.get("valid")
        for o in outcomes
        if o["id"] == "pristine"
        for name, row in o.get("examples", {}).items()
    }
    found: list[Detection] = []
    for outcome in outcomes:
        if outcome["id"] == "pristine" or outcome["verdict"] != "killed":
            continue
        rows = outcome.get("examples", {})
        candidates = [
            Detection(outcome["id"], name, row.get("first_failing_example"), budgets.get(name))
            for name, row in rows.items()
        ]
        if not candidates:  # killed, but the rows carry no statistics (an older report)
            found.append(Detection(outcome["id"], ",".join(outcome["new_rows"]), None, None))
            continue
        # Counted detections first, earliest share of budget first: the kill the search made.
        found.append(min(candidates, key=_earliness))
    return found


def _earliness(d: Detection) -> tuple[int, float]:
    if d.detected_at is None:
        return (1, 0.0)
    return (0, d.share if d.share is not None else float(d.detected_at))


def render(found: Sequence[Detection]) -> str:
    lines = [
        "| bug | check | examples to detect (ci) | ci budget of the check | share | fragile |",
        "|---|---|---|---|---|---|",
    ]
    for d in found:
        at = "outside the search" if d.detected_at is None else str(d.detected_at)
        budget = "-" if d.budget is None else str(d.budget)
        share = "-" if d.share is None else f"{d.share:.0%}"
        lines.append(
            f"| {d.bug} | {d.check} | {at} | {budget} | {share} | {'yes' if d.fragile else ''} |"
        )
    fragile = [d.bug for d in found if d.fragile]
    lines.append("")
    lines.append(
        f"{len(found)} killed bugs; {sum(d.detected_at is None for d in found)} detected "
        f"outside the search; fragile (after {FRAGILE_SHARE:.0%} of the budget): "
        f"{', '.join(fragile) or 'none'}"
    )
    return "\n".join(lines) + "\n"


def write_table(reports: Path, outcomes: Sequence[Mapping[str, Any]]) -> list[Detection]:
    found = detections(outcomes)
    reports.mkdir(parents=True, exist_ok=True)
    (reports / CI_POWER_FILES[0]).write_text(render(found))
    bugs = [asdict(d) | {"fragile": d.fragile} for d in found]
    atomic_write_json(reports / CI_POWER_FILES[1], {"fragile_share": FRAGILE_SHARE, "bugs": bugs})
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    reports = Path(args[0] if args else "reports")
    path = reports / "mutation.json"
    if not path.exists():
        print(f"ci_power: no {path}; run `make mutation` first", file=sys.stderr)
        return 2
    catalog = json.loads(path.read_text()).get("catalog")
    if not catalog:
        print(f"ci_power: {path} has no catalog section; run `make mutation`", file=sys.stderr)
        return 2
    print(render(write_table(reports, catalog)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
