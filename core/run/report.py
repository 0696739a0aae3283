"""Verify's outputs: the terminal table, ``reports/verify.json`` and ``reports/verify.md``.

Rows are built by :mod:`core.run.verify` as :class:`Row` values; this module only renders them, so
the JSON schema and the table cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stageflow_verify.core.run.matrix_table import LEGEND, STATUSES
from stageflow_verify.core.run.replay import ReplayKey, failure_script
from stageflow_verify.core.run.report_files import completed
from stageflow_verify.core.run.report_writer import write_report_file


@dataclass(frozen=True)
class Row:
    """One check's verdict. ``detail`` (failure text, N/A reason) goes to reports, not JSON;
    ``fault`` is the suite's ``file:line`` at fault of an ERROR. A failing row also keeps
    Hypothesis's report (``program``: the shrunk example) and the schedules behind the failure
    (``timelines``, :func:`core.sched.timeline.timeline_data`), which the HTML report draws.
    ``statistics`` is what Hypothesis did for it (:mod:`core.run.check_statistics`)."""

    name: str
    status: str
    finding: str | None
    examples: int
    seconds: float
    detail: str = ""
    fault: str = ""
    program: str = ""
    timelines: tuple[dict[str, Any], ...] = ()
    statistics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyReport:
    stageflow_version: str
    stageflow_path: str
    profile: str
    rows: tuple[Row, ...]

    def summary(self) -> dict[str, int]:
        counts = {s.lower(): 0 for s in STATUSES}
        for row in self.rows:
            counts[row.status.lower()] += 1
        return {k: counts[k] for k in ("pass", "known", "new", "fixed", "error")}

    def to_json(self) -> dict[str, Any]:
        return {
            "stageflow_version": self.stageflow_version,
            "stageflow_path": self.stageflow_path,
            "profile": self.profile,
            "checks": [
                {k: v for k, v in asdict(row).items() if k != "detail"} for row in self.rows
            ],
            "summary": self.summary(),
        }


def render_table(report: VerifyReport) -> str:
    header = ("check", "status", "finding", "examples", "seconds")
    body = [
        (r.name, r.status, r.finding or "-", str(r.examples), f"{r.seconds:.2f}")
        for r in report.rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        left = [line[i].ljust(widths[i]) for i in range(3)]
        right = [line[i].rjust(widths[i]) for i in range(3, 5)]
        return "  ".join(left + right).rstrip()

    lines = [fmt(header), fmt(tuple("-" * w for w in widths)), *map(fmt, body)]
    summary = report.summary()
    lines.append(
        f"stageflow {report.stageflow_version} ({report.stageflow_path}), profile "
        f"{report.profile}: "
        + ", ".join(f"{v} {k.upper()}" for k, v in summary.items())
        + f", {sum(r.status == 'N/A' for r in report.rows)} N/A"
    )
    return "\n".join(lines)


def render_markdown(report: VerifyReport) -> str:
    lines = [
        "# stageflow-verify report",
        "",
        f"- stageflow: `{report.stageflow_version}` from `{report.stageflow_path}`",
        f"- profile: `{report.profile}`",
        f"- summary: {report.summary()}",
        "",
        "| check | status | finding | examples | seconds |",
        "|---|---|---|---:|---:|",
    ]
    for r in report.rows:
        lines.append(
            f"| {r.name} | {r.status} | {r.finding or ''} | {r.examples} | {r.seconds:.2f} |"
        )
    lines += ["", *(f"- **{status}**: {LEGEND[status]}" for status in STATUSES)]
    failed = [r for r in report.rows if r.status != "PASS" and r.detail]
    for r in failed:
        lines += ["", f"## {r.name}: {r.status}", "", "```", r.detail.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def write_reports(report: VerifyReport, directory: Path, replay: ReplayKey | None = None) -> None:
    """verify.json, verify.md and, per NEW or ERROR row, ``failures/<row>.txt``; per NEW row
    also ``failures/<row>.py``, the script that replays it (when ``replay`` is known)."""
    directory.mkdir(parents=True, exist_ok=True)
    verdicts = json.dumps(completed(report.to_json()), indent=2) + "\n"
    write_report_file(directory / "verify.json", verdicts)
    write_report_file(directory / "verify.md", render_markdown(report))
    failures = directory / "failures"
    failures.mkdir(exist_ok=True)
    for stale in (*failures.glob("*.txt"), *failures.glob("*.py")):
        stale.unlink()
    for r in report.rows:
        if r.status in ("NEW", "ERROR"):
            write_report_file(failures / f"{r.name}.txt", r.detail)
        if r.status == "NEW" and replay is not None:
            write_report_file(failures / f"{r.name}.py", failure_script(r.name, replay, r.detail))


def write_version_record(
    report: VerifyReport, directory: Path, registered: Collection[str] | None = None
) -> None:
    """Merge ``report`` into the record of its Stageflow version kept in ``directory``.

    The record is what ``make verify-all``'s table and ``reports/findings.md`` read. A run with
    ``CHECKS=...`` updates only the rows it ran: the other rows keep their last verdict, so a
    quick re-check of one finding does not erase what a full run measured. ``registered``, if
    given, names every row the registry holds now: a kept row not among them (a finding merged
    into another or withdrawn, a check renamed) is dropped, so the table never shows a verdict
    on something that no longer exists.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "verify.json"
    rows: dict[str, Row] = {}
    if path.exists():
        for old in json.loads(path.read_text())["checks"]:
            if registered is None or old["name"] in registered:
                rows[old["name"]] = Row(**{**old, "timelines": tuple(old.get("timelines", ()))})
    rows.update((r.name, r) for r in report.rows)
    merged = VerifyReport(
        report.stageflow_version, report.stageflow_path, report.profile, tuple(rows.values())
    )
    write_report_file(path, json.dumps(completed(merged.to_json()), indent=2) + "\n")
    write_report_file(directory / "verify.md", render_markdown(merged))
    failures = directory / "failures"
    failures.mkdir(exist_ok=True)
    for r in report.rows:
        (failures / f"{r.name}.txt").unlink(missing_ok=True)
        if r.status in ("NEW", "ERROR"):
            write_report_file(failures / f"{r.name}.txt", r.detail)
