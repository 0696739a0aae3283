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
    "FIXED": "a registered finding no longer reproduces",
    "N/A": "the check does not apply: this Stageflow lacks a feature it needs (probed)",
    "ERROR": "the suite could not drive this Stageflow (adapter, generator or probe at fault)",
    "-": "not run on this version",
    "FIXED (not yet)": "does not reproduce on this release, reproduces on a newer one and on no "
    "older one: the bug came later, nothing was fixed",
}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.partition("+")[0].split("."))


def cells(name: str, versions: Sequence[str], records: Sequence[dict[str, str]]) -> list[str]:
    """The row of ``name``: each version's status, a FIXED before the bug came marked so."""
    statuses = [r.get(name, "-") for r in records]
    known = [_release(v) for v, s in zip(versions, statuses, strict=True) if s == "KNOWN"]
    marked = []
    for version, status in zip(versions, statuses, strict=True):
        older = any(k < _release(version) for k in known)
        newer = any(k > _release(version) for k in known)
        marked.append("FIXED (not yet)" if status == "FIXED" and newer and not older else status)
    return marked


def load_record(reports: Path, version: str) -> dict[str, str]:
    """``{row name: status}`` of the last verify of ``version`` (empty if never verified)."""
    path = reports / "versions" / version / "verify.json"
    if not path.exists():
        return {}
    return {row["name"]: row["status"] for row in json.loads(path.read_text())["checks"]}


def transitions(
    versions: Sequence[str], records: Sequence[dict[str, str]], names: Sequence[str]
) -> list[str]:
    """Every row whose status changes between neighbouring versions, one line each: the list
    a triage reads against both releases' source (README, "Versions")."""
    found = []
    for name in names:
        row = cells(name, versions, records)
        for i in range(1, len(versions)):
            if row[i] != row[i - 1]:
                found.append(
                    f"- {versions[i - 1]} -> {versions[i]}: {name} {row[i - 1]} -> {row[i]}"
                )
    return found


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
    changes = transitions(versions, records, names) or ["- none"]
    return "\n".join(
        [
            line(header),
            "|" + "---|" * len(header),
            *(line([n, *cells(n, versions, records)]) for n in names),
            *totals,
            "",
            *legend,
            "",
            "Changes between neighbouring versions:",
            "",
            *changes,
        ]
    )
