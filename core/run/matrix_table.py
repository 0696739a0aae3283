"""verify-all's table: a row per check, a column per version, totals per version and a legend.

Standard library only, like :mod:`core.run.matrix`, which the Makefile runs before ``.venv``
exists. The table is read from the per-version records verify keeps in
``reports/versions/<version>/verify.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

STATUSES = ("PASS", "KNOWN", "NEW", "FIXED", "N/A", "ERROR")
LEGEND = {
    "PASS": "the check ran its examples and found no violation",
    "KNOWN": "a registered finding reproduces",
    "NEW": "Stageflow broke a check (or crashed a reproducer) and nobody has registered it yet",
    "FIXED": "a registered finding does not reproduce: fixed, or not yet introduced",
    "N/A": "the check does not apply: this Stageflow lacks a feature it needs (probed)",
    "ERROR": "the suite could not drive this Stageflow (adapter, generator or probe at fault)",
    "-": "not run on this version",
}


def load_record(reports: Path, version: str) -> dict[str, str]:
    """``{row name: status}`` of the last verify of ``version`` (empty if never verified)."""
    path = reports / "versions" / version / "verify.json"
    if not path.exists():
        return {}
    return {row["name"]: row["status"] for row in json.loads(path.read_text())["checks"]}


def render_matrix(versions: Sequence[str], reports: Path) -> str:
    """A row per check, a column per version, each version's totals, and the legend."""
    records = [load_record(reports, v) for v in versions]
    names: list[str] = []
    for record in records:
        names += [n for n in record if n not in names]
    header = ["check", *versions]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    totals = [
        line([f"**{status}**", *(str(sum(s == status for s in r.values())) for r in records)])
        for status in STATUSES
    ]
    legend = [f"- **{status}**: {meaning}" for status, meaning in LEGEND.items()]
    return "\n".join(
        [
            line(header),
            "|" + "---|" * len(header),
            *(line([n, *(r.get(n, "-") for r in records)]) for n in names),
            *totals,
            "",
            *legend,
        ]
    )
