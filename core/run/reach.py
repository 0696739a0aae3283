"""`make reach`: how much of Stageflow's in-scope code `make verify` runs.

Runs verify (same ``HYPOTHESIS_PROFILE``, default ``ci``; ``--checks`` as verify's) under
coverage.py with branch coverage, measured over the ``stageflow`` package Python would import
(``PYTHONPATH=DIR`` or ``SUT=PATH`` copies included), and reports the modules of
:mod:`core.run.reach_scope`: a table per module (statements, branches, % of each, the line ranges
and branches never run) with totals, ``reports/reach.json``, ``reports/reach.html`` and coverage's
annotated sources in ``reports/reach-html/``.

Coverage runs in this process, through its API, around ``core.run.verify.main``, rather than as
``coverage run -m stageflow_verify.core.run.verify``: bad input (an unknown profile, no stageflow)
is refused before anything runs, with one line and exit 2; the package directory is found without
importing it (an import before coverage starts would count its module-level lines as never run);
and the numbers are read back from the same Coverage object, with no data file between two
processes. Exit codes are verify's: 0 nothing NEW, 1 something NEW (the reach reports are still
written), 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stageflow_verify.core.run.profiles import ProfileError, selected_profile_name
from stageflow_verify.core.run.reach_report import Reach, module_reach, render_table, write_reports
from stageflow_verify.core.run.reach_scope import IN_SCOPE, NOT_A_PROMISE, NotAPromise
from stageflow_verify.core.run.report_files import running_marker
from stageflow_verify.core.run.variables import PROFILE_ENV
from stageflow_verify.core.sut import StageflowUnavailableError, stageflow_location

DEFAULT_PROFILE = "ci"


class BadInput(Exception):
    pass


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.core.run.reach", description=__doc__
    )
    parser.add_argument("--checks", default="", help="verify's --checks: glob patterns of names")
    parser.add_argument("--reports", default="reports", help="directory for the reports")
    return parser.parse_args(argv)


def package_dir() -> Path:
    """The real directory of the stageflow to measure, refusing one already imported."""
    try:
        location = Path(os.path.realpath(stageflow_location()))
    except StageflowUnavailableError as exc:
        raise BadInput(str(exc)) from exc
    if "stageflow" in sys.modules:
        raise BadInput("stageflow is already imported; run reach in a fresh process")
    missing = [m.path for m in IN_SCOPE if not (location / m.path).is_file()]
    if missing:
        raise BadInput(f"{location} lacks in-scope modules {', '.join(missing)}")
    problems = exclusion_problems(location, NOT_A_PROMISE)
    if problems:
        raise BadInput("; ".join(problems))
    return location


def exclusion_problems(location: Path, rules: Sequence[NotAPromise]) -> list[str]:
    """Each rule of ``rules`` that matches nothing in its own module, or something in another
    in-scope module (coverage's exclusions are global, so a loose pattern would widen). Matched
    as coverage.py (7.6 on) matches them: over the whole source, multi-line, ``^`` at each line."""
    sources = {m.path: (location / m.path).read_text() for m in IN_SCOPE}
    problems = []
    for rule in rules:
        pattern = re.compile(rule.pattern, re.MULTILINE)
        hits = {path for path, text in sources.items() if pattern.search(text)}
        if rule.module not in hits:
            problems.append(f"not-a-promise {rule.pattern!r} matches nothing in {rule.module}")
        if hits - {rule.module}:
            others = ", ".join(sorted(hits - {rule.module}))
            problems.append(f"not-a-promise {rule.pattern!r} also matches {others}")
    return problems


def measure(location: Path, checks: str, reports: Path) -> tuple[int, list[Reach], Any]:
    """Run verify under coverage; return its exit code, each in-scope module's Reach and the
    Coverage object (for the HTML report)."""
    import coverage

    cov = coverage.Coverage(branch=True, data_file=None, source=[str(location)])
    for rule in NOT_A_PROMISE:
        cov.exclude(rule.pattern)
    cov.start()
    try:
        from stageflow_verify.core.run import verify

        code = verify.main([*(["--checks", checks] if checks else []), "--reports", str(reports)])
    finally:
        cov.stop()
    if code == 2:
        return code, [], cov
    include = [str(location / m.path) for m in IN_SCOPE]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        cov.json_report(include=include, outfile=str(out))
        files = json.loads(out.read_text())["files"]
    by_path = {os.path.realpath(name): data for name, data in files.items()}
    unreported = [m.path for m in IN_SCOPE if str(location / m.path) not in by_path]
    if unreported:
        # With source= set, coverage reports every file under it, run or not.
        raise RuntimeError(f"coverage did not report in-scope modules {unreported}")
    return code, [module_reach(m, by_path[str(location / m.path)]) for m in IN_SCOPE], cov


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if not os.environ.get(PROFILE_ENV):
        os.environ[PROFILE_ENV] = DEFAULT_PROFILE
    reports = Path(args.reports)
    try:
        profile = selected_profile_name()
        location = package_dir()
    except (ProfileError, BadInput) as exc:
        print(f"reach: {exc}", file=sys.stderr)
        return 2
    with running_marker(reports, "reach", ("reach.json", "reach.md", "reach.html")):
        return _measure_and_write(args, reports, profile, location)


def _measure_and_write(
    args: argparse.Namespace, reports: Path, profile: str, location: Path
) -> int:
    code, rows, cov = measure(location, args.checks, reports)
    if code == 2:
        return code  # verify printed its one line
    include = [str(location / m.path) for m in IN_SCOPE]
    cov.html_report(directory=str(reports / "reach-html"), include=include, title="stageflow reach")
    from stageflow_verify.core.sut import stageflow_version

    context = {
        "stageflow_version": stageflow_version(),
        "stageflow_path": str(location),
        "profile": profile,
        "checks": args.checks or "*",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "verify_exit": code,
        "not_a_promise": [vars(r) for r in NOT_A_PROMISE],
    }
    write_reports(rows, context, reports)
    print()
    print(f"reach: stageflow {context['stageflow_version']} ({location}), profile {profile}")
    print(render_table(rows))
    written = ", ".join(str(reports / n) for n in ("reach.json", "reach.html", "reach.md"))
    print(f"\nwrote {written} and {reports / 'reach-html/'}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
