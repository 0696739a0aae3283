"""`make verify`: run every check and finding reproducer against the stageflow Python imports.

Statuses: PASS (the check ran examples and found nothing), KNOWN (a registered finding still
reproduces), NEW (a check failed, or a reproducer crashed: something nobody has registered),
FIXED (a registered finding no longer reproduces), N/A (the check does not apply to this
stageflow version; never counted as a pass). Exit 0 iff nothing is NEW, 1 otherwise, and 2 on bad
input (one line on stderr, nothing run).

Every NEW row keeps Hypothesis's falsifying example, the notes attached to the failure
(swimlanes, explanations) and a replay command, in the terminal and in ``reports/failures/``.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from hypothesis.reporting import with_reporter

from core.run import checks as registry
from core.run.findings_report import write_findings_report
from core.run.profiles import ProfileError, load_selected_profile
from core.run.report import Row, VerifyReport, render_table, write_reports, write_version_record
from core.run.watchdog import REPRODUCER_SECONDS, watchdog
from core.sut import (
    StageflowUnavailableError,
    stageflow_label,
    stageflow_module,
    stageflow_path,
    stageflow_version,
)


class BadInput(Exception):
    """Raised for input verify refuses before running anything (exit 2)."""


def finding_row_name(finding: registry.Finding) -> str:
    return f"finding.{finding.id}"


def run_captured(run: Callable[[], None]) -> tuple[BaseException | None, str]:
    """Run a check, returning what it raised (or None) and what Hypothesis reported."""
    lines: list[str] = []
    try:
        with with_reporter(lambda value: lines.append(str(value))):
            run()
    except Exception as exc:  # a failing check raises whatever it found; all are reported
        return exc, "\n".join(lines)
    return None, "\n".join(lines)


def _failure_text(name: str, exc: BaseException, hypothesis_output: str) -> str:
    notes = "\n".join(getattr(exc, "__notes__", []))
    formatted = "".join(traceback.format_exception(exc))
    parts = [
        f"check {name} failed",
        hypothesis_output,
        formatted,
        notes if notes not in formatted else "",
        f"replay: HYPOTHESIS_PROFILE=ci make verify CHECKS='{name}'",
    ]
    return "\n".join(p for p in parts if p)


def run_check(check: registry.Check, sf: ModuleType) -> Row:
    reason = check.applies(sf)
    if reason is not None:
        return Row(check.name, "N/A", None, 0, 0.0, reason)
    registry.reset_example_count()
    start = time.perf_counter()
    exc, output = run_captured(check.run)
    seconds = time.perf_counter() - start
    examples = registry.example_count()
    if exc is not None:
        return Row(
            check.name, "NEW", None, examples, seconds, _failure_text(check.name, exc, output)
        )
    if examples == 0:
        detail = f"check {check.name} ran no example: a check that runs nothing proves nothing"
        return Row(check.name, "NEW", None, 0, seconds, detail)
    return Row(check.name, "PASS", None, examples, seconds)


def run_finding(finding: registry.Finding, sf: ModuleType) -> Row:
    name = finding_row_name(finding)
    reason = finding.applies(sf)
    if reason is not None:
        return Row(name, "N/A", finding.id, 0, 0.0, reason)
    start = time.perf_counter()
    try:
        with watchdog(REPRODUCER_SECONDS, f"the reproducer of {finding.id}"):
            reproduced = finding.reproduce(sf)
    except Exception as exc:
        text = "".join(traceback.format_exception(exc))
        detail = f"reproducer of {finding.id} crashed instead of answering:\n{text}"
        return Row(name, "NEW", finding.id, 1, time.perf_counter() - start, detail)
    seconds = time.perf_counter() - start
    if reproduced:
        return Row(name, "KNOWN", finding.id, 1, seconds)
    detail = f"{finding.id} ({finding.title}) no longer reproduces on this stageflow"
    return Row(name, "FIXED", finding.id, 1, seconds, detail)


def _selected(name: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def verify(patterns: Sequence[str], reports_dir: Path) -> VerifyReport:
    try:
        profile = load_selected_profile()
        sf = stageflow_module()
    except (ProfileError, StageflowUnavailableError) as exc:
        raise BadInput(str(exc)) from exc
    # A finding row comes with its check: `--checks 'graphs.*'` shows graphs' findings too.
    findings = [
        f
        for f in registry.discover_findings()
        if _selected(finding_row_name(f), patterns) or _selected(f.check, patterns)
    ]
    checks = [c for c in registry.discover_checks() if _selected(c.name, patterns)]
    if not findings and not checks:
        raise BadInput(
            f"--checks {','.join(patterns)!r} matches no check; "
            "run `python -m core.run.verify --list` to see the names"
        )
    rows: list[Row] = []
    for check in checks:
        rows.append(run_check(check, sf))
        _print_progress(rows[-1])
    for finding in findings:
        rows.append(run_finding(finding, sf))
        _print_progress(rows[-1])
    report = VerifyReport(stageflow_version(sf), stageflow_path(sf), profile, tuple(rows))
    write_reports(report, reports_dir)
    # The per-version record feeds verify-all's table and the measured versions of findings.md.
    write_version_record(report, reports_dir / "versions" / stageflow_label(sf))
    write_findings_report(registry.discover_findings(), reports_dir)
    return report


def _print_progress(row: Row) -> None:
    print(f"  {row.status:<5} {row.name} ({row.examples} examples, {row.seconds:.1f}s)", flush=True)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.run.verify", description=__doc__)
    parser.add_argument("--checks", default="", help="comma-separated glob patterns of names")
    parser.add_argument("--reports", default="reports", help="directory for the reports")
    parser.add_argument("--list", action="store_true", help="list check names and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.list:
        for check in registry.discover_checks():
            print(f"{check.name}: {check.summary}")
        for finding in registry.discover_findings():
            print(f"{finding_row_name(finding)}: {finding.title}")
        return 0
    patterns = [p.strip() for p in args.checks.split(",") if p.strip()]
    try:
        report = verify(patterns, Path(args.reports))
    except BadInput as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    print()
    print(render_table(report))
    for row in report.rows:
        if row.status == "NEW":
            print(f"\n==== NEW: {row.name}\n{row.detail}")
    return 1 if report.summary()["new"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
