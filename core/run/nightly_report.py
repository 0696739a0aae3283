"""make nightly's verdicts and reports, from what its shards recorded.

A check's row sums its shards (:func:`check_rows`): NEW if any shard failed (its shrunk program
and schedule come along), ERROR if one broke for the suite's reasons or none finished a run
within the budget, else PASS with the examples of them all; its statistics are summed too
(:func:`core.run.check_statistics.merge_statistics`). :func:`write_nightly_reports` writes
``nightly.json`` (verify's schema plus per check ``examples_per_second``, ``rules``,
``iterations``, ``shards``, and a ``nightly`` block for the run), ``nightly.md``, the failure
texts and ``index.html``; :func:`write_failure_scripts` the replay script of every NEW row.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run.check_statistics import merge_statistics
from stageflow_verify.core.run.html_report import write_index
from stageflow_verify.core.run.nightly_shard import ShardProgress
from stageflow_verify.core.run.replay import ReplayKey, failure_script
from stageflow_verify.core.run.report import Row, VerifyReport, render_markdown
from stageflow_verify.core.run.report_files import completed
from stageflow_verify.core.run.report_writer import write_report_file


def selected_names(patterns: str) -> list[str]:
    globs = [p.strip() for p in patterns.split(",") if p.strip()]
    names = [c.name for c in registry.discover_checks()]
    return [n for n in names if not globs or any(fnmatch.fnmatchcase(n, g) for g in globs)]


def check_rows(progress: list[ShardProgress], selected: Sequence[str] = ()) -> list[Row]:
    by_check: dict[str, list[ShardProgress]] = {}
    for p in progress:
        by_check.setdefault(p.check, []).append(p)
    rows = []
    for name in selected:
        if name not in by_check:
            # The budget ended before any shard of it finished a run: it proved nothing, so
            # it is never a pass; the suite's budget, not Stageflow, is at fault.
            detail = (
                f"check {name}: no shard of it finished a run before the budget ended; "
                "raise NIGHTLY_MINUTES or select fewer CHECKS"
            )
            rows.append(Row(name, "ERROR", None, 0, 0.0, detail, "nightly budget"))
    for name, shards in by_check.items():
        examples = sum(s.examples for s in shards)
        seconds = sum(s.seconds for s in shards)
        failed = [s for s in shards if s.status == "failed"]
        broken = [s for s in shards if s.status == "error"]  # the suite's fault, never NEW
        statistics = merge_statistics([s.statistics for s in shards])
        if all(s.status == "n/a" for s in shards):
            rows.append(Row(name, "N/A", None, 0, 0.0, shards[0].detail))
        elif failed:
            first = failed[0]
            rows.append(
                Row(
                    name,
                    "NEW",
                    None,
                    examples,
                    seconds,
                    first.detail,
                    program=first.program,
                    timelines=tuple(first.timelines),
                    statistics=statistics,
                )
            )
        elif broken:
            detail = broken[0].detail
            rows.append(Row(name, "ERROR", None, examples, seconds, detail, statistics=statistics))
        elif examples == 0:
            detail = f"check {name} ran no example: a check that runs nothing proves nothing"
            rows.append(Row(name, "ERROR", None, 0, seconds, detail))  # the suite's, never NEW
        else:
            rows.append(Row(name, "PASS", None, examples, seconds, statistics=statistics))
    return rows


def extras(progress: list[ShardProgress]) -> dict[str, dict[str, Any]]:
    extra: dict[str, dict[str, Any]] = {}
    for p in progress:
        e = extra.setdefault(
            p.check, {"shards": 0, "iterations": 0, "failures": 0, "rules": Counter()}
        )
        e["shards"] += 1
        e["iterations"] += p.iterations
        e["failures"] += p.failures
        e["rules"].update(p.rules)
    return extra


def write_nightly_reports(
    report: VerifyReport,
    extra: dict[str, dict[str, Any]],
    reports: Path,
    directory: Path,
    wall: float,
    pytest_exit: int,
    args: argparse.Namespace,
) -> None:
    data = report.to_json()
    for row in data["checks"]:
        more = extra.get(row["name"])
        if more is not None:
            rate = row["examples"] / row["seconds"] if row["seconds"] else 0.0
            row["examples_per_second"] = round(rate, 2)
            row.update(more, rules=dict(sorted(more["rules"].items())))
    data["nightly"] = {
        "minutes": args.minutes,
        "wall_seconds": round(wall, 1),
        "workers": args.workers,
        "shards_per_check": args.workers * args.shards_per_worker,
        "examples_per_run": args.chunk,
        "pytest_exit": pytest_exit,
        "junit_xml": str(reports / "nightly.xml"),
    }
    write_report_file(reports / "nightly.json", json.dumps(completed(data), indent=2) + "\n")
    write_report_file(reports / "nightly.md", render_markdown(report))
    for row in report.rows:
        if row.status in ("NEW", "ERROR"):
            write_report_file(directory / "failures" / f"{row.name}.txt", row.detail)
    findings = [] if args.checks else registry.discover_findings()
    page = write_index(report, findings, reports, "make nightly")
    written = ("nightly.json", "nightly.md", "nightly.xml")
    print("wrote " + ", ".join(str(reports / name) for name in written) + f", {page}")


def write_failure_scripts(report: VerifyReport, failures: Path, key: ReplayKey) -> None:
    # The nightly profile prints each failure's blob, so the script replays that very case
    # (core.run.replay); verify writes the same scripts.
    for row in report.rows:
        if row.status == "NEW":
            write_report_file(
                failures / f"{row.name}.py", failure_script(row.name, key, row.detail)
            )
