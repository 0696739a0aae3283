"""``reports/findings.md``: every known finding, where it reproduces, and how to see it yourself.

Verify writes this file after every run. Each finding gets its id, title, severity and basis,
promise and observation, its affected versions, a runnable reproducer, the replay commands and,
for a finding about an interleaving (tagged ``interleaving``), the swimlane of its reproducer's
schedule, drawn by running the reproducer on the suite's deterministic loop.

*Affected versions* are measured, not declared: verify keeps one record per Stageflow version it
ran on (``reports/versions/<version>/verify.json``), and a finding affects a version when its row
there is KNOWN. The versions a finding declares in the registry are printed beside the measured
ones, and a disagreement is spelled out, so a stale declaration cannot pass for a measurement.
Records of source trees (``SUT=PATH``, labelled ``<version>+path``) are listed apart: a modified
copy is not a release.

The reproducer is the finding's own ``reproduce`` function, printed with what it needs (helper
functions, constants, and every import its code and annotations name, as its module imports them),
after ``import stageflow as sf``. The script ends by calling it: it prints ``VIOLATION: <id>: ...``
and exits 1 while the finding reproduces, and exits 0 once it does not, so it pastes as a plain
program and as a bisect test. Findings are ordered by severity, then basis (documented before
expected). ``reports/issues/<id>.md`` is each finding as a bug report ready to file upstream, and
the findings checked and withdrawn (documented as intended) are listed with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from stageflow_verify.core.run.checks import BASIS_ORDER, SEVERITY_ORDER, Basis, Finding
from stageflow_verify.core.run.report_files import atomic_write_text
from stageflow_verify.core.run.reproducer_script import reproducer_source
from stageflow_verify.core.run.reproducer_swimlanes import reproducer_swimlanes, schedule_title
from stageflow_verify.core.run.version_records import (
    Records,
    declaration_disagreement,
    load_records,
    measured_versions,
    version_key,
    versions_with,
)
from stageflow_verify.core.run.withdrawn import Withdrawn, discover_withdrawn


def _swimlane_lines(finding: Finding) -> list[str]:
    lines: list[str] = []
    for n, lane in enumerate(reproducer_swimlanes(finding), 1):
        lines += ["", f"Swimlane of {schedule_title(finding, n)}:", "", "```", lane, "```"]
    if finding.swimlane:
        lines += ["", "Swimlane of the shrunk schedule:", "", "```", finding.swimlane, "```"]
    return lines


# --- the report --------------------------------------------------------------------------------


def _listing(labels: Iterable[str]) -> str:
    return ", ".join(labels) or "none"


def finding_order(finding: Finding) -> tuple[int, int, str]:
    """Severity first (high, medium, low), then basis (documented before expected), then id."""
    severity = finding.severity.level if finding.severity else "low"
    basis = finding.basis.kind if finding.basis else "expected"
    return (SEVERITY_ORDER[severity], BASIS_ORDER[basis], finding.id)


def _severity(finding: Finding) -> str:
    if finding.severity is None:
        return "unrated"
    return f"**{finding.severity.level}**: {finding.severity.why}"


def _basis_lines(basis: Basis | None) -> list[str]:
    if basis is None:
        return ["- basis: not stated"]
    lines = [f"- basis: **{basis.kind}**"]
    lines += [f'  - "{q.text}" (`{q.where}`)' for q in basis.quotes]
    if basis.argument:
        lines.append(f"  - {basis.argument}")
    return lines


def _script_note(finding: Finding) -> str:
    return (
        "Reproducer (a standalone script: exits 1 and prints `VIOLATION: "
        f"{finding.id}: ...` while the finding reproduces, exits 0 once it does not):"
    )


def render_finding(finding: Finding, records: Records, check_status: Callable[[str], str]) -> str:
    row = f"finding.{finding.id}"
    measured = measured_versions(records, finding)
    trees = [v for v in versions_with(records, row, "KNOWN") if "+" in v]
    lines = [
        f"## {finding.id}: {finding.title}",
        "",
        f"- severity: {_severity(finding)}",
        *_basis_lines(finding.basis),
        f"- affected versions (measured): **{_listing(measured)}**",
    ]
    for status, meaning in (("FIXED", "not reproduced"), ("N/A", "not applicable"),
                            ("NEW", "reproducer crashed in Stageflow"),
                            ("ERROR", "not judged (the suite could not drive it)")):  # fmt: skip
        labels = versions_with(records, row, status)
        if labels:
            lines.append(f"- {meaning} on: {_listing(labels)}")
    lines.append(f"- declared in the registry: {_listing(finding.versions)}")
    unverified = [v for v in finding.versions if f"finding.{finding.id}" not in records.get(v, {})]
    if unverified:
        lines.append(f"- declared, not verified here: {_listing(unverified)}")
    if trees:
        lines.append(f"- also reproduced on source trees: {_listing(trees)}")
    disagreement = declaration_disagreement(records, finding)
    if disagreement:
        lines.append(f"- **the declaration disagrees with the measurement**: {disagreement}")
    lines += [
        f"- check: `{finding.check}` ({check_status(finding.check)})",
        f"- promise: {finding.promise}",
        f"- observed: {finding.observed}",
    ]
    if finding.merged:
        lines.append(f"- absorbs (same root cause): {', '.join(finding.merged)}")
    if finding.symptoms:
        lines.append("- symptoms (the reproducer checks each):")
        lines += [f"  {n}. {symptom}" for n, symptom in enumerate(finding.symptoms, 1)]
    if finding.fix:
        lines.append(f"- where the fix belongs: {finding.fix}")
    lines += [
        "",
        _script_note(finding),
        "",
        "```python",
        reproducer_source(finding).rstrip(),
        "```",
        "",
        f"Replay: `make verify CHECKS='{row}'` (on another release: "
        f"`make verify STAGEFLOW=0.5.1 CHECKS='{row}'`); the check that finds it: "
        f"`make verify CHECKS='{finding.check}'`.",
    ]
    lines += _swimlane_lines(finding)
    return "\n".join(lines)


def render_withdrawn(withdrawn: Iterable[Withdrawn]) -> list[str]:
    lines = [
        "## Checked, not a bug",
        "",
        "Registered once, then withdrawn: Stageflow documents the behaviour as intended. The "
        "models now state the documented behaviour as their own rule.",
        "",
    ]
    for w in withdrawn:
        see = f" The promise really broken nearby is {w.see}." if w.see else ""
        lines.append(f"- **{w.id}** ({w.title}): {w.reason}{see}")
        lines += [f'  - "{q.text}" (`{q.where}`)' for q in w.basis.quotes]
    return lines


def render_findings_report(
    findings: Iterable[Finding],
    records: Records,
    withdrawn: Iterable[Withdrawn] | None = None,
) -> str:
    findings = sorted(findings, key=finding_order)
    withdrawn = discover_withdrawn() if withdrawn is None else list(withdrawn)
    versions = sorted(records, key=version_key)

    def check_status(check: str) -> str:
        statuses = [f"{v}: {records[v].get(check, 'not run')}" for v in versions]
        return "; ".join(statuses) or "not run yet"

    def level(f: Finding) -> str:
        return f.severity.level if f.severity else "unrated"

    def kind(f: Finding) -> str:
        return f.basis.kind if f.basis else "unstated"

    lines = [
        "# Stageflow findings",
        "",
        "Generated by `make verify` from the per-version records in `reports/versions/`"
        f" (versions verified: {_listing(versions)}). `make verify-all` refreshes every version."
        " Ordered by severity, then basis (documented before expected); each finding is also a "
        "ready-to-file bug report in `reports/issues/<id>.md`.",
        "",
        "| id | title | severity | basis | affected versions (measured) | declared |",
        "|---|---|---|---|---|---|",
        *(
            f"| {f.id} | {f.title} | {level(f)} | {kind(f)} | "
            f"{_listing(measured_versions(records, f))} | {_listing(f.versions)} |"
            for f in findings
        ),
    ]
    unregistered = sorted(
        {name for rows in records.values() for name, s in rows.items() if s == "NEW"}
    )
    if unregistered:
        lines += ["", "Failing rows nobody has registered as a finding yet (see each version's "
                  "`failures/`): " + ", ".join(f"`{n}`" for n in unregistered)]  # fmt: skip
    unjudged = sorted(
        {f"{name} ({label})" for label, rows in records.items() for name, s in rows.items()
         if s == "ERROR"}
    )  # fmt: skip
    if unjudged:
        listed = ", ".join(f"`{n}`" for n in unjudged)
        lines += ["", "Rows the suite could not judge (ERROR: its own code is at fault, see "
                  f"each version's `failures/`): {listed}"]  # fmt: skip
    for finding in findings:
        lines += ["", render_finding(finding, records, check_status)]
    if withdrawn:
        lines += ["", *render_withdrawn(withdrawn)]
    return "\n".join(lines) + "\n"


def render_issue(finding: Finding, records: Records) -> str:
    """``finding`` as a bug report to paste into Stageflow's tracker."""
    measured = measured_versions(records, finding)
    affected = _listing(measured) if measured else f"{_listing(finding.versions)} (declared)"
    lines = [
        f"# {finding.title}",
        "",
        f"- stageflow-core versions affected: {affected} (Python 3.11)",
        f"- severity: {_severity(finding)}",
        f"- suite id: {finding.id}"
        + (f" (absorbs {', '.join(finding.merged)})" if finding.merged else ""),
        "",
        "## What Stageflow promises",
        "",
    ]
    basis = finding.basis
    if basis is not None:
        if basis.kind == "documented":
            lines.append("What Stageflow documents:")
        else:
            lines.append("Nothing documents this either way; what a user expects:")
        lines.append("")
        for q in basis.quotes:  # in quotation marks: a quoted "# comment" is no heading
            lines += [f'> "{q.text}"', ">", f"> `{q.where}`", ""]
        if basis.argument:
            lines += [basis.argument, ""]
    lines += [
        "## Reproducer",
        "",
        "```python",
        reproducer_source(finding).rstrip(),
        "```",
        "",
        f"`python repro.py` exits 1 and prints `VIOLATION: {finding.id}: ...` while the bug is "
        "there, and exits 0 once it is fixed.",
        "",
        "## Expected",
        "",
        finding.promise,
        "",
        "## Actual",
        "",
        finding.observed,
    ]
    if finding.symptoms:
        lines += ["", "The same cause shows in several places (the reproducer checks each):", ""]
        lines += [f"{n}. {symptom}" for n, symptom in enumerate(finding.symptoms, 1)]
    swimlanes = _swimlane_lines(finding)
    if swimlanes:
        note = (
            "One column per asyncio task, one row per step, on a loop that runs the same "
            "steps as a stock asyncio loop."
        )
        if finding.schedules is not None:
            note = (
                "One column per OS thread, one at a time, switching only where the row says. "
                "A thread's event loop there stops with DeadlockError once it has nothing to "
                "run, where a real loop sleeps in select(): for a lost wakeup the picture ends "
                "at the wait, and the reproducer shows that the wakeup never comes."
            )
        lines += ["", "## Interleaving", "", note, *swimlanes]
    if finding.fix:
        lines += ["", "## Where the fix belongs", "", finding.fix]
    return "\n".join(lines) + "\n"


def write_findings_report(findings: Iterable[Finding], reports_dir: Path) -> Path:
    """``reports/findings.md``, and ``reports/issues/<id>.md`` for every finding (stale issue
    files of findings no longer registered are removed, so the folder is the registry)."""
    findings = list(findings)
    records = load_records(reports_dir)
    path = reports_dir / "findings.md"
    atomic_write_text(path, render_findings_report(findings, records))
    issues = reports_dir / "issues"
    issues.mkdir(parents=True, exist_ok=True)
    current = {f"{f.id}.md" for f in findings}
    for stale in issues.glob("*.md"):
        if stale.name not in current:
            stale.unlink()
    for finding in findings:
        atomic_write_text(issues / f"{finding.id}.md", render_issue(finding, records))
    return path


def main() -> int:
    """``python -m stageflow_verify.core.run.findings_report``: rewrite findings.md and
    issues/ from the records already in ``reports/`` (no check is run)."""
    from stageflow_verify.core.run.checks import discover_findings

    reports_dir = Path(__file__).resolve().parents[2] / "reports"
    reports_dir.mkdir(exist_ok=True)
    print(write_findings_report(discover_findings(), reports_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
