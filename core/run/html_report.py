"""``reports/index.html``: the report people open first, one self-contained file.

verify, nightly and verify-all each write it (:func:`write_index`, :func:`write_matrix_index`)
from the same :class:`~core.run.report.VerifyReport` rows their JSON holds, so the page and the
JSON cannot disagree. The page has, in order:

- the verdict table (verify, nightly) or the version x check grid (verify-all), with filters by
  status and by name;
- every NEW and ERROR row: Hypothesis's shrunk program, the schedule behind the failure drawn as
  a timeline (lanes per task, steps, picks and faults marked, the operation on hover), the
  replay command, and the whole failure text folded away;
- every registered finding: id, title, severity, basis with its quotes, its verdict here, the
  reproducer, and for a finding about an interleaving the reproducer's schedule as a timeline.

Everything is inline (:mod:`core.run.html_assets`): no network, no other file, so the page can be
mailed or attached to a CI run. Timelines are drawn by the inline script from JSON embedded in the
page; the table and texts are plain HTML, readable with scripts off.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from stageflow_verify.core.run.checks import Finding
from stageflow_verify.core.run.findings_report import finding_order
from stageflow_verify.core.run.html_assets import SCRIPT, STYLE
from stageflow_verify.core.run.matrix_table import LEGEND, STATUSES, load_record
from stageflow_verify.core.run.report import Row, VerifyReport
from stageflow_verify.core.run.report_writer import write_report_file
from stageflow_verify.core.run.reproducer_script import reproducer_source
from stageflow_verify.core.run.reproducer_swimlanes import reproducer_traces, schedule_title
from stageflow_verify.core.sched.timeline import timeline_data

FAILING = ("NEW", "ERROR")


def _status(status: str) -> str:
    css = status.replace("/", "")
    return f'<span class="status status-{css}">{escape(status)}</span>'


def replay_command(detail: str) -> str:
    """The ``replay: ...`` line a failure text ends with, without its label ('' if none)."""
    for line in reversed(detail.splitlines()):
        if line.startswith("replay: "):
            return line.removeprefix("replay: ")
    return ""


class Page:
    """One report page being built: its sections, and the timelines its script will draw."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.timelines: list[dict[str, Any]] = []

    def add(self, html: str) -> None:
        self.parts.append(html)

    def timeline(self, data: dict[str, Any]) -> str:
        self.timelines.append(data)
        return f'<div class="timeline" data-timeline="{len(self.timelines) - 1}"></div>'

    def render(self) -> str:
        # "</" cannot appear inside a <script> element: escaped, the JSON still parses the same.
        data = json.dumps(self.timelines).replace("</", "<\\/")
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(self.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(self.title)}</h1>{''.join(self.parts)}"
            f'<script type="application/json" id="timeline-data">{data}</script>'
            f"<script>{SCRIPT}</script></body></html>\n"
        )


def _filters(statuses: Sequence[str], *, severity: bool) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" value="{s}" checked> {_status(s)}</label>' for s in statuses
    )
    select = ""
    if severity:
        options = "".join(f'<option value="{s}">{s}</option>' for s in ("high", "medium", "low"))
        select = (
            '<label>findings of severity <select id="filter-severity">'
            f'<option value="">any</option>{options}</select></label>'
        )
    return (
        f'<div id="filters">show {boxes}<label>name contains '
        f'<input type="text" id="filter-text"></label>{select}</div>'
    )


def statistics_summary(statistics: dict[str, Any]) -> tuple[str, str]:
    """A row's statistics as one short line and a longer hover text ('' for none)."""
    if not statistics:
        return "", ""
    examples = statistics["examples"]
    seconds = statistics["phase_seconds"]
    database = statistics["database"]
    used = database["read"] or database["written"]
    short = (
        f"{examples['valid']} valid, {examples['gave_up']} gave up, {examples['overrun']} overrun;"
        f" generate {seconds['generate']:.1f} s, shrink {seconds['shrink']:.1f} s;"
        f" database {database['kind']}"
        + (f": {database['replayed']} replayed, {database['saved']} saved" if used else ", unused")
    )
    counts = [f"rule {k}: {v}" for k, v in statistics["rules"].items()]
    counts += [f"invariant {k}: {v}" for k, v in statistics["invariants"].items()]
    phases = [f"{p} {v:.2f} s" for p, v in seconds.items()]
    stopped = statistics["stopped_because"]
    long = "; ".join([*phases, *counts, *(f"stopped: {why}" for why in stopped)])
    return short, long


def _verdict_table(report: VerifyReport) -> str:
    head = (
        "<tr><th>check</th><th>status</th><th>finding</th><th>examples</th><th>seconds</th>"
        "<th>Hypothesis</th></tr>"
    )
    rows = []
    for r in report.rows:
        short, hover = statistics_summary(r.statistics)
        name = escape(r.name)
        link = f'<a href="#failure-{name}">{name}</a>' if r.status in FAILING else name
        rows.append(
            f'<tr class="verdict" data-status="{escape(r.status)}" data-name="{name}">'
            f"<td>{link}</td><td>{_status(r.status)}</td><td>{escape(r.finding or '')}</td>"
            f'<td class="num">{r.examples}</td><td class="num">{r.seconds:.2f}</td>'
            f'<td class="stats" title="{escape(hover)}">{escape(short)}</td></tr>'
        )
    return f'<table id="verdicts">{head}{"".join(rows)}</table>'


def _failure(page: Page, row: Row, heading: str) -> str:
    name = escape(row.name)
    parts = [f'<article class="failure" id="failure-{name}" data-status="{row.status}">']
    parts.append(f"<h3>{heading} {_status(row.status)}</h3>")
    if row.fault:
        parts.append(f"<p>suite code at fault: <code>{escape(row.fault)}</code></p>")
    if row.program:
        parts.append(f'<h4>shrunk program</h4><pre class="program">{escape(row.program)}</pre>')
    for data in row.timelines:
        parts.append("<h4>schedule</h4>" + page.timeline(data))
    replay = replay_command(row.detail)
    if replay:
        parts.append(f'<h4>replay</h4><pre class="replay">{escape(replay)}</pre>')
    parts.append(
        f"<details><summary>the whole failure text</summary><pre>{escape(row.detail)}</pre>"
        "</details></article>"
    )
    return "".join(parts)


def _finding(page: Page, finding: Finding, status: str) -> str:
    severity = finding.severity.level if finding.severity else "unrated"
    why = finding.severity.why if finding.severity else ""
    parts = [
        f'<article class="finding" id="finding-{escape(finding.id)}" '
        f'data-severity="{severity}" data-status="{escape(status)}">',
        f"<h3>{escape(finding.id)}: {escape(finding.title)} {_status(status)}</h3>",
        f"<p>severity <b>{severity}</b>: {escape(why)}</p>",
    ]
    basis = finding.basis
    if basis is not None:
        quotes = "".join(
            f"<li>&ldquo;{escape(q.text)}&rdquo; (<code>{escape(q.where)}</code>)</li>"
            for q in basis.quotes
        )
        argument = f"<p>{escape(basis.argument)}</p>" if basis.argument else ""
        parts.append(f"<p>basis <b>{basis.kind}</b></p><ul>{quotes}</ul>{argument}")
    parts.append(f"<p>promise: {escape(finding.promise)}</p>")
    parts.append(f"<p>observed: {escape(finding.observed)}</p>")
    try:
        source = reproducer_source(finding)
    except Exception as exc:  # the page is still written; it says why the script is missing
        source = f"(the reproducer could not be printed: {exc!r})"
    parts.append(
        f'<details><summary>reproducer</summary><pre class="reproducer">{escape(source)}</pre>'
        "</details>"
    )
    if status == "KNOWN":
        traces, problem = reproducer_traces(finding)
        for n, trace in enumerate(traces, 1):
            title = schedule_title(finding, n)
            parts.append("<h4>schedule</h4>" + page.timeline(timeline_data(trace, title)))
        if problem:
            parts.append(f"<p>{escape(problem)}</p>")
    if finding.swimlane:
        parts.append(f"<h4>shrunk schedule</h4><pre>{escape(finding.swimlane)}</pre>")
    parts.append("</article>")
    return "".join(parts)


def _findings_section(page: Page, findings: Sequence[Finding], rows: Sequence[Row]) -> None:
    status = {r.finding: r.status for r in rows if r.finding}
    page.add(f'<h2 id="findings">Findings ({len(findings)})</h2>')
    for finding in sorted(findings, key=finding_order):
        page.add(_finding(page, finding, status.get(finding.id, "not run")))


def _legend() -> str:
    items = "".join(f"<li>{_status(s)} {escape(LEGEND[s])}</li>" for s in STATUSES)
    return f"<ul>{items}</ul>"


def render_index(report: VerifyReport, findings: Sequence[Finding], command: str) -> str:
    """The page of one verify (or nightly) run: table, failures, findings."""
    page = Page(f"stageflow-verify: {command}")
    summary = ", ".join(f"{v} {k.upper()}" for k, v in report.summary().items())
    page.add(
        f"<p>stageflow <b>{escape(report.stageflow_version)}</b> from "
        f"<code>{escape(report.stageflow_path)}</code>, profile <b>{escape(report.profile)}</b>:"
        f" {summary}, {sum(r.status == 'N/A' for r in report.rows)} N/A</p>"
    )
    page.add(_filters(STATUSES, severity=bool(findings)) + _verdict_table(report) + _legend())
    failing = [r for r in report.rows if r.status in FAILING]
    page.add(f'<h2 id="failures">NEW and ERROR ({len(failing)})</h2>')
    for row in failing:
        page.add(_failure(page, row, escape(row.name)))
    _findings_section(page, findings, report.rows)
    return page.render()


def write_index(
    report: VerifyReport, findings: Sequence[Finding], reports_dir: Path, command: str
) -> Path:
    return write_report_file(reports_dir / "index.html", render_index(report, findings, command))


def render_matrix_index(versions: Sequence[str], reports_dir: Path) -> str:
    """verify-all's page: the version x check grid, then every version's NEW and ERROR rows."""
    page = Page("stageflow-verify: make verify-all")
    records = {v: load_record(reports_dir, v) for v in versions}
    names: list[str] = []
    for record in records.values():
        names += [n for n in record if n not in names]
    head = "".join(f"<th>{escape(v)}</th>" for v in versions)
    body = []
    for name in names:
        cells = "".join(f"<td>{_status(records[v].get(name, '-'))}</td>" for v in versions)
        statuses = " ".join(sorted({records[v].get(name, "-") for v in versions}))
        body.append(
            f'<tr class="verdict" data-status="{escape(statuses)}" data-name="{escape(name)}">'
            f"<td>{escape(name)}</td>{cells}</tr>"
        )
    page.add(_filters(STATUSES, severity=False))
    page.add(
        f'<table class="grid" id="verdicts"><tr><th>check</th>{head}</tr>{"".join(body)}</table>'
    )
    page.add(_legend() + '<h2 id="failures">NEW and ERROR</h2>')
    for version in versions:
        path = reports_dir / "versions" / version / "verify.json"
        if not path.exists():
            continue
        for old in json.loads(path.read_text())["checks"]:
            if old["status"] in FAILING:
                detail_file = path.parent / "failures" / f"{old['name']}.txt"
                detail = detail_file.read_text() if detail_file.exists() else ""
                row = Row(**{**old, "detail": detail, "timelines": tuple(old.get("timelines", ()))})
                page.add(_failure(page, row, f"{escape(version)}: {escape(row.name)}"))
    return page.render()


def write_matrix_index(versions: Sequence[str], reports_dir: Path) -> Path:
    return write_report_file(reports_dir / "index.html", render_matrix_index(versions, reports_dir))
