"""`make nightly`: every check under the nightly profile, on every core, until the budget ends.

The driver checks its input (profile, ``HYPOTHESIS_DB``, the stageflow under test) before it
starts anything, then runs pytest with pytest-xdist over :mod:`core.run.nightly_shard`, where every
check is cut into ``shards`` items that loop with fresh seeds until their share of the time is
spent. While pytest runs, the driver tails the shards' progress files and prints, per check,
the examples run so far and the failures. When pytest ends (or is stopped at the budget plus a
grace period: nothing here hangs) it writes:

- ``reports/nightly.json``: verify's schema (``core.run.report``), where a check's ``seconds`` are
  the worker-seconds its shards ran, plus ``examples_per_second``, ``rules`` (how often each
  state machine rule ran), ``iterations`` and ``shards`` per check;
- ``reports/nightly.md`` (verify's markdown) and ``reports/nightly/failures/<check>.txt``;
- ``reports/nightly.xml``: pytest's JUnit XML, one test case per shard, for CI systems.

Finding reproducers run once, in the driver, so the table has verify's KNOWN and FIXED rows.
Exit codes are verify's: 0 nothing NEW, 1 something NEW, 2 bad input.

For example::

    NIGHTLY_MINUTES=5 make nightly
    .venv/bin/stageflow-verify nightly --minutes 0.5 --checks 'values.*' --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run.nightly_budget import (
    ENV_HARD_STOP,
    STOP_WAIT,
    run_ends,
    started_at,
)
from stageflow_verify.core.run.nightly_report import (
    check_rows,
    extras,
    selected_names,
    write_failure_scripts,
    write_nightly_reports,
)
from stageflow_verify.core.run.nightly_shard import (
    ENV_CHECKS,
    ENV_CHUNK,
    ENV_DEADLINE,
    ENV_DIR,
    ENV_SHARDS,
    ENV_WORKERS,
    ShardProgress,
    read_progress,
)
from stageflow_verify.core.run.profiles import ProfileError, load_selected_profile
from stageflow_verify.core.run.report import Row, VerifyReport, render_table
from stageflow_verify.core.run.report_files import running_marker
from stageflow_verify.core.run.variables import PROFILE_ENV, RULES
from stageflow_verify.core.run.verify import exit_code, replay_key, run_finding
from stageflow_verify.core.sut import (
    StageflowUnavailableError,
    stageflow_module,
    stageflow_path,
    stageflow_version,
)

_STARTED = time.time()  # the budget counts from here, or from make's recipe (STARTED_ENV)
_SHARD_MODULE = Path(__file__).with_name("nightly_shard.py")
_ROOT = Path(__file__).resolve().parents[2]


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.core.run.nightly", description=__doc__
    )
    parser.add_argument(
        "--minutes", type=float, default=None, help="default: NIGHTLY_MINUTES or 30"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="xdist workers")
    parser.add_argument("--shards-per-worker", type=int, default=2, metavar="K")
    # 25: a law (its chunk is fixed when it is decorated) runs in a second or two, so a short
    # nightly reaches every check; machines run what fits their slice, at most this.
    parser.add_argument("--chunk", type=int, default=25, help="examples per Hypothesis run")
    parser.add_argument("--checks", default="", help="comma-separated glob patterns of names")
    parser.add_argument("--reports", default="reports", help="directory for the reports")
    parser.add_argument("--progress-every", type=float, default=60.0, metavar="S")
    return parser.parse_args(argv)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "") or default


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.minutes is None:
        bad = RULES["NIGHTLY_MINUTES"](_env("NIGHTLY_MINUTES", "30"))
        if bad:
            print(f"nightly: {bad}", file=sys.stderr)
            return 2
        args.minutes = float(_env("NIGHTLY_MINUTES", "30"))
    os.environ.setdefault(PROFILE_ENV, "nightly")
    try:
        profile = load_selected_profile()
        sf = stageflow_module()
    except (ProfileError, StageflowUnavailableError) as exc:
        print(f"nightly: {exc}", file=sys.stderr)
        return 2
    if args.minutes < 0 or args.workers < 1 or args.shards_per_worker < 1 or args.chunk < 1:
        print("nightly: --minutes must be >= 0 and the other counts >= 1", file=sys.stderr)
        return 2
    reports = Path(args.reports)
    with running_marker(reports, "nightly", ("nightly.json", "nightly.md", "index.html")):
        return _run(args, profile, sf, reports)


def _run(args: argparse.Namespace, profile: str, sf: ModuleType, reports: Path) -> int:
    directory = reports / "nightly"
    shutil.rmtree(directory, ignore_errors=True)  # this run's progress only
    (directory / "progress").mkdir(parents=True)
    (directory / "failures").mkdir()
    budget = args.minutes * 60
    shards = args.workers * args.shards_per_worker
    # The reproducers first: a second or two, and then the shards get all that is left.
    finding_rows = _finding_rows(sf, args.checks)
    started = started_at(os.environ, _STARTED)
    deadline, hard_stop = run_ends(started, budget)
    env = {
        **os.environ,
        ENV_DEADLINE: str(deadline),
        ENV_HARD_STOP: str(hard_stop),
        ENV_WORKERS: str(args.workers),
        ENV_SHARDS: str(shards),
        ENV_CHUNK: str(args.chunk),
        ENV_CHECKS: args.checks,
        ENV_DIR: str(directory.resolve()),
    }
    print(
        f"nightly: profile {profile}, {args.minutes:g} min on {args.workers} workers, "
        f"{shards} shards per check, {args.chunk} examples per run",
        flush=True,
    )
    code = _run_pytest(env, args, reports, directory, budget)
    progress = read_progress(directory)
    if not progress:
        print(f"nightly: pytest ran no shard (exit {code}); see {directory}/pytest.log")
        return 2 if code not in (0, 1) else 1
    rows = [*check_rows(progress, selected_names(args.checks)), *finding_rows]
    report = VerifyReport(stageflow_version(sf), stageflow_path(sf), profile, tuple(rows))
    extra = extras(progress)
    write_nightly_reports(report, extra, reports, directory, time.time() - started, code, args)
    write_failure_scripts(report, directory / "failures", replay_key(sf))
    print()
    print(render_table(report))
    for row in rows:
        if row.status in ("NEW", "ERROR"):
            print(f"\n==== {row.status}: {row.name}\n{row.detail}")
    return exit_code(report)


def _run_pytest(
    env: dict[str, str], args: argparse.Namespace, reports: Path, directory: Path, budget: float
) -> int:
    command = [
        sys.executable, "-m", "pytest", str(_SHARD_MODULE), "-p", "no:randomly",
        "-n", str(args.workers), "--dist", "load", "-rfE",
        f"--junitxml={reports / 'nightly.xml'}", "-o", "junit_family=xunit2",
    ]  # fmt: skip
    # Shards stop before their slice ends and shrinks before the hard stop; a shard still
    # running then (an iteration far slower than the ones before) is stopped with pytest, and
    # the run is reported with what the shards recorded.
    hard_stop = time.monotonic() + float(env[ENV_HARD_STOP]) - time.time()
    with (directory / "pytest.log").open("wb") as log:
        proc = subprocess.Popen(
            command, env=env, cwd=_ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        last = time.monotonic()
        try:
            while proc.poll() is None:
                time.sleep(0.2)
                if time.monotonic() - last >= args.progress_every:
                    last = time.monotonic()
                    print(_progress_line(read_progress(directory), budget, env), flush=True)
                if time.monotonic() > hard_stop:
                    _stop(proc)
        except KeyboardInterrupt:
            # Ctrl-C reached this process only: pytest runs in a session of its own (so that
            # the budget stop can signal it alone). Pass it on, and end it within a second.
            _stop(proc, grace=1.0, why="interrupted")
            raise
    print(_progress_line(read_progress(directory), budget, env), flush=True)
    tail = (directory / "pytest.log").read_text(errors="replace").strip().splitlines()[-3:]
    print("pytest: " + " | ".join(tail), flush=True)
    return proc.returncode


def _stop(
    proc: subprocess.Popen[bytes], grace: float = STOP_WAIT, why: str = "budget and grace spent"
) -> None:
    # SIGINT first: pytest then ends the session and still writes the JUnit XML of the shards
    # that finished. The process group is the session this run started, and only it.
    print(f"nightly: {why}; stopping pytest", flush=True)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _progress_line(progress: list[ShardProgress], budget: float, env: dict[str, str]) -> str:
    elapsed = time.time() - started_at(os.environ, _STARTED)
    per_check: dict[str, list[int]] = {}
    for p in progress:
        examples, failures = per_check.setdefault(p.check, [0, 0])
        per_check[p.check] = [examples + p.examples, failures + p.failures]
    total = sum(e for e, _ in per_check.values())
    failed = sum(f for _, f in per_check.values())
    lines = [f"[{elapsed:6.0f}s/{budget:.0f}s] {total} examples, {failed} failures"]
    lines += [f"    {name}: {e} examples, {f} failures" for name, (e, f) in per_check.items()]
    return "\n".join(lines)


def _finding_rows(sf: Any, patterns: str) -> list[Row]:
    if patterns:  # a run restricted to some checks reports only those
        return []
    return [run_finding(f, sf) for f in registry.discover_findings()]


if __name__ == "__main__":
    raise SystemExit(main())
