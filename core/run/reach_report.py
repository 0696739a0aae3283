"""`make reach`'s outputs: the terminal table, ``reports/reach.json``, ``reports/reach.html`` and
``reports/reach.md`` (the README's table).

The numbers come from coverage.py's own JSON report (its public schema), one :class:`Reach` per
in-scope module; this module only adds them up and renders them, so the table, the JSON and the
HTML page cannot drift apart. Coverage's annotated sources are in ``reports/reach-html/``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stageflow_verify.core.run.reach_scope import MODELLED, TARGET, Module
from stageflow_verify.core.run.report_files import atomic_write_json, atomic_write_text, completed


@dataclass(frozen=True)
class Reach:
    """One module's (or one total's) statements and branches, and what of them never ran."""

    name: str
    group: str
    owner: str
    statements: int
    missing_statements: int
    branches: int
    missing_branches: int
    excluded: int
    uncovered: str  # line ranges never run, then branches never taken ("356->359")

    @property
    def pct_statements(self) -> float:
        return _pct(self.statements - self.missing_statements, self.statements)

    @property
    def pct_branches(self) -> float:
        return _pct(self.branches - self.missing_branches, self.branches)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "pct_statements": round(self.pct_statements, 2),
            "pct_branches": round(self.pct_branches, 2),
        }


def _pct(covered: int, total: int) -> float:
    return 100.0 if total == 0 else 100.0 * covered / total


def _floor1(value: float) -> str:
    # Truncated, never rounded up: 94.96% must not read as the 95% a goal asks for.
    return f"{math.floor(value * 10) / 10:.1f}"


def line_ranges(statements: Sequence[int], missing: Iterable[int]) -> str:
    """Missing lines as ranges over the statements, as coverage prints them: a range runs on
    across lines that are not statements (blank lines, comments), so 117-139 is one block."""
    missed = set(missing)
    ranges: list[tuple[int, int]] = []
    run: list[int] = []
    for line in sorted(statements):
        if line in missed:
            run.append(line)
        elif run:
            ranges.append((run[0], run[-1]))
            run = []
    if run:
        ranges.append((run[0], run[-1]))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def module_reach(module: Module, measured: dict[str, Any]) -> Reach:
    """A module's Reach from its entry in coverage.py's JSON report (``files[...]``)."""
    summary = measured["summary"]
    missing = list(measured["missing_lines"])
    statements = sorted([*measured["executed_lines"], *missing])
    # A branch whose source line never ran is already in the line ranges.
    arcs = [
        f"{a}->{b if b > 0 else 'exit'}"
        for a, b in measured.get("missing_branches", [])
        if a not in set(missing)
    ]
    uncovered = ", ".join(p for p in (line_ranges(statements, missing), ", ".join(arcs)) if p)
    return Reach(
        name=module.path,
        group=module.group,
        owner=module.owner,
        statements=summary["num_statements"],
        missing_statements=summary["missing_lines"],
        branches=summary.get("num_branches", 0),
        missing_branches=summary.get("missing_branches", 0),
        excluded=summary.get("excluded_lines", 0),
        uncovered=uncovered,
    )


def total(name: str, owner: str, rows: Sequence[Reach]) -> Reach:
    return Reach(
        name=name,
        group="",
        owner=owner,
        statements=sum(r.statements for r in rows),
        missing_statements=sum(r.missing_statements for r in rows),
        branches=sum(r.branches for r in rows),
        missing_branches=sum(r.missing_branches for r in rows),
        excluded=sum(r.excluded for r in rows),
        uncovered="",
    )


def totals(rows: Sequence[Reach]) -> list[Reach]:
    return [
        total(f"total {MODELLED}", MODELLED, [r for r in rows if r.owner == MODELLED]),
        total(f"total {TARGET}", TARGET, [r for r in rows if r.owner == TARGET]),
        total("total in scope", "", rows),
    ]


_HEADER = ("module", "group", "stmts", "miss", "branches", "miss", "% stmts", "% branches")


def _cells(r: Reach) -> tuple[str, ...]:
    return (
        r.name,
        r.group,
        str(r.statements),
        str(r.missing_statements),
        str(r.branches),
        str(r.missing_branches),
        _floor1(r.pct_statements),
        _floor1(r.pct_branches),
    )


def render_table(rows: Sequence[Reach]) -> str:
    body = [_cells(r) for r in [*rows, *totals(rows)]]
    widths = [max(len(line[i]) for line in [_HEADER, *body]) for i in range(len(_HEADER))]

    def row(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [row(line) for line in body]
    header = row(_HEADER)
    rule = row(["-" * w for w in widths])
    split = len(rows)
    table = [header, rule, *lines[:split], rule, *lines[split:]]
    uncovered = [f"  {r.name}: {r.uncovered}" for r in rows if r.uncovered]
    return "\n".join([*table, "", "never run (lines, then branches never taken):", *uncovered])


def render_markdown(rows: Sequence[Reach]) -> str:
    """The table as the README's Reach section shows it."""
    head = "| module | group | stmts | branches | % stmts | % branches |\n|---|---|---|---|---|---|"
    body = [
        f"| {r.name} | {r.group or r.owner} | {r.statements} | {r.branches} "
        f"| {_floor1(r.pct_statements)} | {_floor1(r.pct_branches)} |"
        for r in [*rows, *totals(rows)]
    ]
    return "\n".join([head, *body])


def to_json(rows: Sequence[Reach], context: dict[str, Any]) -> dict[str, Any]:
    return {
        **context,
        "modules": [r.to_json() for r in rows],
        "totals": [t.to_json() for t in totals(rows)],
    }


def write_reports(rows: Sequence[Reach], context: dict[str, Any], reports: Path) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    atomic_write_json(reports / "reach.json", completed(to_json(rows, context)))
    # The README's Reach section is this file's table, pasted with its date and profile.
    atomic_write_text(
        reports / "reach.md",
        f"`make reach` on {context['date']}, stageflow {context['stageflow_version']}, "
        f"profile `{context['profile']}`:\n\n{render_markdown(rows)}\n",
    )
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>"
        for r in [*rows, *totals(rows)]
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _HEADER)
    title = html.escape(
        f"reach: stageflow {context['stageflow_version']}, profile {context['profile']}"
    )
    atomic_write_text(
        reports / "reach.html",
        f"<!doctype html><meta charset='utf-8'><title>{title}</title><h1>{title}</h1>\n"
        f"<p>{html.escape(context['date'])}; annotated sources (coverage.py): "
        "<a href='reach-html/index.html'>reach-html/index.html</a></p>\n"
        f"<table border='1'><tr>{head}</tr>\n{body}\n</table>\n",
    )
