"""`make verify`: run every check and finding reproducer against the stageflow Python imports.

Statuses: PASS (the check ran examples and found nothing), KNOWN (a registered finding still
reproduces), NEW (Stageflow broke a check, or crashed a reproducer: something nobody has
registered), FIXED (a registered finding no longer reproduces), N/A (the check does not apply to
this stageflow version; never counted as a pass), ERROR (the suite could not drive this
stageflow: an adapter, generator or probe failed; never NEW, never a pass; see
:mod:`core.run.verdicts`). Exit codes: 0 nothing NEW or ERROR, 1 something NEW, 2 bad input (one
line on stderr, nothing run), 3 something ERROR and nothing NEW.

Every NEW row keeps Hypothesis's falsifying example, the notes attached to the failure
(swimlanes, explanations) and the replay command, in the terminal and in ``reports/failures/``,
beside ``<row>.py``, a script that replays it (:mod:`core.run.replay`). An ERROR row names the
suite's file and line at fault.

Run as a command (``main``), verify uses the ``ci`` profile unless ``HYPOTHESIS_PROFILE`` names
another, as ``make verify`` does.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from hypothesis.reporting import with_reporter

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run.check_statistics import collecting
from stageflow_verify.core.run.failure_parts import (
    failure_timelines,
    hypothesis_program,
    show_one_schedule,
)
from stageflow_verify.core.run.findings_report import write_findings_report
from stageflow_verify.core.run.html_report import write_index
from stageflow_verify.core.run.law_asserts import rewrite_law_asserts
from stageflow_verify.core.run.matrix import BadInput as BadSeed
from stageflow_verify.core.run.observe import named_for_observability
from stageflow_verify.core.run.profiles import ProfileError, load_selected_profile
from stageflow_verify.core.run.progress import Progress
from stageflow_verify.core.run.replay import (
    SEED_ENV,
    ReplayKey,
    force_seed,
    forced_seed,
    install_seed,
    target_of,
)
from stageflow_verify.core.run.report import (
    Row,
    VerifyReport,
    render_table,
    write_reports,
    write_version_record,
)
from stageflow_verify.core.run.report_files import running_marker
from stageflow_verify.core.run.variables import PROFILE_ENV
from stageflow_verify.core.run.verdicts import classify, suite_fault
from stageflow_verify.core.run.version_records import record_label
from stageflow_verify.core.run.watchdog import (
    REPRODUCER_SECONDS,
    STALL_SECONDS,
    stall_watchdog,
    watchdog,
)
from stageflow_verify.core.sched import timeline
from stageflow_verify.core.sut import (
    StageflowUnavailableError,
    forget_harness_errors,
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


# The replay key of the running verify: set by verify() once the profile and seed are known.
_replay_key: ReplayKey | None = None


def replay_key(sf: ModuleType) -> ReplayKey:
    """How to repeat this run: the profile, seed and Stageflow verify is using now."""
    if _replay_key is not None:
        return _replay_key
    from stageflow_verify.core.run.profiles import selected_profile_name

    target, pythonpath = target_of(sf, stageflow_label(sf), stageflow_version(sf))
    return ReplayKey(selected_profile_name(), forced_seed(), target, pythonpath)


def failure_text(name: str, exc: BaseException, output: str, sf: ModuleType) -> str:
    """What a failing row keeps: the verdict and why, Hypothesis's report, the traceback, the
    notes (swimlanes), and the command that replays it."""
    verdict = classify(exc)
    notes = "\n".join(getattr(exc, "__notes__", []))
    formatted = "".join(traceback.format_exception(exc))
    heading = f"{name}: {verdict.status}, {verdict.reason}"
    parts = [
        heading + (f"\nsuite code at fault: {verdict.fault}" if verdict.fault else ""),
        output,
        formatted,
        notes if notes not in formatted else "",
        f"replay: {replay_key(sf).command(name)}",
    ]
    return "\n".join(p for p in parts if p)


def probe(
    name: str, finding: str | None, applies: Callable[[ModuleType], str | None], sf: ModuleType
) -> Row | None:
    """The N/A or ERROR row of a check whose feature probe says no or raises; None: it applies.

    A probe is the suite's own question to this Stageflow: whatever it raises, even from inside
    Stageflow, means the probe is wrong, so it is ERROR, never NEW.
    """
    try:
        with watchdog(REPRODUCER_SECONDS, f"the feature probe of {name}"):
            reason = applies(sf)
    except Exception as exc:
        fault = suite_fault(exc)
        text = "".join(traceback.format_exception(exc))
        detail = f"{name}: ERROR, its feature probe raised instead of answering\n{text}"
        return Row(name, "ERROR", finding, 0, 0.0, f"{detail}suite code at fault: {fault}", fault)
    return None if reason is None else Row(name, "N/A", finding, 0, 0.0, reason)


def _no_example(check: registry.Check, seconds: float) -> Row:
    # The suite's fault (a strategy that draws nothing, a machine that never starts): ERROR,
    # named by where the check's body is defined.
    code = getattr(check.run, "__code__", None)
    fault = f"{Path(code.co_filename).name}:{code.co_firstlineno}" if code else check.name
    detail = f"check {check.name} ran no example: a check that runs nothing proves nothing"
    return Row(check.name, "ERROR", None, 0, seconds, detail, fault)


def guarded(check: registry.Check) -> Callable[[], None]:
    """``check.run`` ended by :func:`stall_watchdog` if it stops making progress: a Stageflow
    that spins without awaiting (which the deterministic loop cannot see) becomes a failure
    naming where it spun, not a hang."""

    def run() -> None:
        with stall_watchdog(STALL_SECONDS, f"check {check.name}", registry.example_count):
            check.run()

    return run


def run_check(check: registry.Check, sf: ModuleType) -> Row:
    not_run = probe(check.name, None, check.applies, sf)
    if not_run is not None:
        return not_run
    registry.reset_example_count()
    timeline.forget()
    start = time.perf_counter()
    with collecting() as collected, named_for_observability(check.name):
        exc, output = run_captured(guarded(check))
    seconds = time.perf_counter() - start
    examples = registry.example_count()
    statistics = collected.to_json()
    if exc is not None:
        show_one_schedule(exc)
        verdict = classify(exc)
        detail = failure_text(check.name, exc, output, sf)
        return Row(
            check.name,
            verdict.status,
            None,
            examples,
            seconds,
            detail,
            verdict.fault,
            program=hypothesis_program(exc, output),
            timelines=failure_timelines(exc),
            statistics=statistics,
        )
    if examples == 0:
        return _no_example(check, seconds)
    return Row(check.name, "PASS", None, examples, seconds, statistics=statistics)


def run_finding(finding: registry.Finding, sf: ModuleType) -> Row:
    name = finding_row_name(finding)
    not_run = probe(name, finding.id, finding.applies, sf)
    if not_run is not None:
        return not_run
    start = time.perf_counter()
    forget_harness_errors()  # a reproducer is one example: judged by what it raises itself
    printed = io.StringIO()  # shown only beside a crash
    try:
        reproduced = registry.run_reproducer(finding, sf, printed)
    except Exception as exc:
        verdict = classify(exc)
        detail = f"reproducer of {finding.id} crashed instead of answering\n"
        detail += f"it printed: {printed.getvalue()}" if printed.getvalue() else ""
        detail += failure_text(name, exc, "", sf)
        seconds = time.perf_counter() - start
        return Row(name, verdict.status, finding.id, 1, seconds, detail, verdict.fault)
    seconds = time.perf_counter() - start
    if reproduced:
        return Row(name, "KNOWN", finding.id, 1, seconds)
    detail = f"{finding.id} ({finding.title}) no longer reproduces on this stageflow"
    return Row(name, "FIXED", finding.id, 1, seconds, detail)


def _selected(name: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def verify(patterns: Sequence[str], reports_dir: Path) -> VerifyReport:
    global _replay_key
    rewrite_law_asserts()  # before discovery imports the laws: failures name their clause
    previous_seed = forced_seed()
    try:
        profile = load_selected_profile()
        seed = install_seed()
        sf = stageflow_module()
    except (ProfileError, StageflowUnavailableError, BadSeed) as exc:
        raise BadInput(str(exc)) from exc
    target, pythonpath = target_of(sf, stageflow_label(sf), stageflow_version(sf))
    _replay_key = ReplayKey(profile, seed, target, pythonpath)
    if seed is not None:
        print(f"verify: profile {profile}, seed {seed} ({SEED_ENV}={seed} repeats this run)")
    # The reports this run replaces read as superseded until it writes them (report_files).
    record = f"versions/{record_label(sf)}/verify.json"
    replaced = ("verify.json", "verify.md", "index.html", "findings.md", record)
    try:
        selected = _select(patterns)  # bad input: nothing run, nothing marked
        with running_marker(reports_dir, "verify", replaced):
            return _verify(selected, reports_dir, profile, sf)
    finally:
        # The pin is this run's: a caller (a test, the mutation runner) keeps its own.
        force_seed(previous_seed)
        _replay_key = None


def _select(patterns: Sequence[str]) -> tuple[list[registry.Finding], list[registry.Check]]:
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
            "run `python -m stageflow_verify.core.run.verify --list` to see the names"
        )
    return findings, checks


def _verify(
    selected: tuple[list[registry.Finding], list[registry.Check]],
    reports_dir: Path,
    profile: str,
    sf: ModuleType,
) -> VerifyReport:
    findings, checks = selected
    rows: list[Row] = []
    progress = Progress(len(checks), len(findings))
    for check in checks:
        rows.append(run_check(check, sf))
        progress.print_row(rows[-1], is_check=True)
    for finding in findings:
        rows.append(run_finding(finding, sf))
        progress.print_row(rows[-1], is_check=False)
    report = VerifyReport(stageflow_version(sf), stageflow_path(sf), profile, tuple(rows))
    write_reports(report, reports_dir, replay_key(sf))
    # The per-version record feeds verify-all's table and the measured versions of findings.md.
    registered = {
        *(c.name for c in registry.discover_checks()),
        *(finding_row_name(f) for f in registry.discover_findings()),
    }
    write_version_record(report, reports_dir / "versions" / record_label(sf), registered)
    write_findings_report(registry.discover_findings(), reports_dir)
    write_index(report, findings, reports_dir, "make verify")
    return report


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.core.run.verify", description=__doc__
    )
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
    # Unset or empty, the profile is ci, as make's (HYPOTHESIS_PROFILE ?= ci): `stageflow-verify
    # verify` from an installed wheel, with no Makefile around it, judges as `make verify` does.
    if not os.environ.get(PROFILE_ENV):
        os.environ[PROFILE_ENV] = "ci"
    patterns = [p.strip() for p in args.checks.split(",") if p.strip()]
    try:
        report = verify(patterns, Path(args.reports))
    except BadInput as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    print()
    print(render_table(report))
    for row in report.rows:
        if row.status in ("NEW", "ERROR"):
            print(f"\n==== {row.status}: {row.name}\n{row.detail}")
    return exit_code(report)


def exit_code(report: VerifyReport) -> int:
    """1 if anything is NEW, else 3 if anything is ERROR, else 0 (2, bad input, is raised
    before a report exists). NEW wins: an ERROR elsewhere does not make a real bug less real."""
    summary = report.summary()
    if summary["new"]:
        return 1
    return 3 if summary["error"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
