"""`make contracts`: CrossHair over the models' and the checker's contracts, bounded in time.

Three stages share one wall-clock budget (``--total-timeout``, ``CONTRACTS_TOTAL``) and exit
non-zero on any counterexample. The budget is divided, not first come first served: each stage
gets its share of what is left when it starts (:data:`SHARES`: half for the module checks, then
half of the rest for diffbehavior, then all that remains for the laws), so time a stage does not
use passes to the next, and no stage can starve the later ones. The run ends with one line per
stage: finished, cut short at its share (and so UNKNOWN, exit 3), or not run, and why.

1. ``crosshair check`` on every module of ``models/`` and on the checker's pure modules
   (``core/check/render.py``, ``core/check/_search.py``), one process per module, ``--jobs``
   at a time, each
   given to CrossHair by its module name under the suite's import name (a file of the suite
   given by its path is turned into that name, so CrossHair never imports a second copy of it
   as a top-level ``models``/``core``), each PEP 316 condition searched for at most
   ``--per-condition-timeout`` seconds. A module is OK
   (no counterexample within the bound: a bounded search, not a proof), FAIL (CrossHair printed
   ``file:line: error: ...``, a counterexample), ERROR (CrossHair itself failed) or UNKNOWN
   (stopped by the budget).
2. ``python -m properties.diffbehavior``: Stageflow's value functions against their models.
3. The stateless ``@given`` laws of ``properties/`` under the ``crosshair`` Hypothesis profile
   (the hypothesis-crosshair backend), through ``core.run.verify`` with its reports in
   ``reports/contracts/``.

Exit 0 when all is clean, 1 on a counterexample (FAIL, DIFF or a NEW law), 3 when nothing
failed but something did not finish or could not run: an unfinished search never passes.

``core/check/history.py`` is left out: CrossHair 0.0.113 crashes building a symbolic ``Operation``
(``TypeError: int | None is not a generic class``), so its contracts are checked only by the
tests that use them.

For example::

    .venv/bin/stageflow-verify contracts --per-condition-timeout 2 --total-timeout 900
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stageflow_verify.core.run.bounded import run_bounded
from stageflow_verify.core.run.checks import SUITE_ROOT

_ROOT = Path(__file__).resolve().parents[2]
CHECKER_MODULES = ("core/check/render.py", "core/check/_search.py")
_ERROR_LINE = ": error: "

# CrossHair, started so that it can read the suite's packages. It looks for options in every
# parent package's ``__init__.py`` through importlib.resources, which fails on the editable
# install's namespace package (its only path entry is the import hook's name, not a folder):
# that package gets a spec without a loader, which importlib.resources reads as no file.
_CROSSHAIR = (
    "import importlib.machinery, os, sys\n"
    "suite = sys.argv.pop(1)\n"
    "if suite:\n"
    "    package = __import__(suite)\n"
    "    if not all(os.path.isdir(p) for p in package.__path__):\n"
    "        package.__spec__ = importlib.machinery.ModuleSpec(suite, None, is_package=True)\n"
    "from crosshair.main import main\n"
    "sys.argv[0] = 'crosshair'\n"
    "main()\n"
)


_PACKAGES = ("core", "models", "properties", "stateful")


def default_targets() -> list[str]:
    models = sorted(p for p in (_ROOT / "models").glob("*.py") if p.name != "__init__.py")
    return [str(p.relative_to(_ROOT)) for p in models] + list(CHECKER_MODULES)


def crosshair_target(target: str) -> str:
    """What CrossHair is given for ``target``: a file of the suite becomes its module name.

    CrossHair imports a file by walking up its ``__init__.py`` files, which in a checkout gives
    ``models.values``, a second copy beside the installed ``stageflow_verify.models.values``.
    Anything else (a module name, a file outside the suite's packages) is passed as it is.

        >>> crosshair_target("elsewhere/x.py")
        'elsewhere/x.py'
    """
    path = (_ROOT / target).resolve()
    if path.suffix != ".py" or not path.is_file() or not path.is_relative_to(_ROOT):
        return target
    parts = path.relative_to(_ROOT).with_suffix("").parts
    if parts[0] not in _PACKAGES:
        return target
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return SUITE_ROOT + ".".join(parts)


@dataclass(eq=False)
class Outcome:
    target: str
    status: str = "UNKNOWN"
    seconds: float = 0.0
    detail: str = ""


def classify(returncode: int, output: str) -> str:
    """OK, FAIL (a counterexample) or ERROR (CrossHair did not run the analysis)."""
    if any(_ERROR_LINE in line for line in output.splitlines()):
        return "FAIL"
    return "OK" if returncode == 0 else "ERROR"


def check_modules(
    targets: Sequence[str], per_condition: float, deadline: float, jobs: int
) -> list[Outcome]:
    """Run ``crosshair check`` on each target, ``jobs`` at a time, until ``deadline``."""
    crosshair = [sys.executable, "-c", _CROSSHAIR, SUITE_ROOT.rstrip(".")]
    commands = [
        [*crosshair, "check", crosshair_target(t), "--per_condition_timeout", str(per_condition)]
        for t in targets
    ]
    outcomes = [Outcome(t) for t in targets]
    finished = run_bounded(commands, jobs=jobs, deadline=deadline, cwd=_ROOT)
    for outcome, result in zip(outcomes, finished, strict=True):
        outcome.seconds, outcome.detail = result.seconds, result.output.strip()
        if result.returncode is not None:
            outcome.status = classify(result.returncode, outcome.detail)
    return outcomes


def render(outcomes: list[Outcome]) -> str:
    width = max(len(o.target) for o in outcomes)
    lines = [f"{'module':<{width}}  status  seconds", "-" * (width + 17)]
    lines += [f"{o.target:<{width}}  {o.status:<6}  {o.seconds:7.1f}" for o in outcomes]
    for o in outcomes:
        if o.status != "OK" and o.detail:
            shown = [ln for ln in o.detail.splitlines() if _ERROR_LINE in ln] or (
                o.detail.splitlines()[-3:]
            )
            lines += ["", f"{o.status} {o.target}:", *shown]
    return "\n".join(lines)


SHARES = {"crosshair check": 0.5, "crosshair diffbehavior": 0.5, "properties": 1.0}
MIN_STAGE_SECONDS = 5.0


def stage_deadline(stage: str, deadline: float, now: float) -> float:
    """When ``stage`` must end: its share of the time left before the run's ``deadline``.

    For example::

        >>> stage_deadline("crosshair check", 900.0, 0.0)
        450.0
    """
    return now + max(0.0, deadline - now) * SHARES[stage]


@dataclass
class StageReport:
    """What one stage did with its share: the line the run ends with."""

    stage: str
    share: float
    seconds: float = 0.0
    outcome: str = "finished"

    def line(self) -> str:
        return f"  {self.stage}: {self.outcome} ({self.seconds:.0f} s of its {self.share:.0f} s)"


def _stage(report: StageReport, command: list[str], env: dict[str, str]) -> int:
    """Run one later stage within its share; its exit code, 3 if cut short or not run."""
    left = report.share
    print(f"\n== {report.stage} ({left:.0f} s)", flush=True)
    if left < MIN_STAGE_SECONDS:
        report.outcome = "not run: the total timeout was spent before it started"
        print(report.outcome)
        return 3
    started = time.monotonic()
    try:
        code = subprocess.run(command, cwd=_ROOT, env=env, timeout=left).returncode
    except subprocess.TimeoutExpired:  # subprocess.run kills the child it started
        code = 3
        report.outcome = "cut short: stopped at its share of --total-timeout (UNKNOWN)"
        print(report.outcome)
    report.seconds = time.monotonic() - started
    if code == 3 and report.outcome == "finished":
        report.outcome = "finished, but something in it did not (exit 3)"
    return code


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.core.run.contracts", description=__doc__
    )
    parser.add_argument("--per-condition-timeout", type=float, default=2.0, metavar="S")
    parser.add_argument("--total-timeout", type=float, default=900.0, metavar="S")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-laws", action="store_true", help="skip stage 3")
    parser.add_argument("targets", nargs="*", help="modules (default: models/ and the checker)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    # A zero or negative per-condition timeout makes CrossHair search nothing and report OK.
    if not args.per_condition_timeout > 0 or not args.total_timeout >= 60 or args.jobs < 1:
        print("contracts: --per-condition-timeout must be > 0, --total-timeout >= 60 and "
              "--jobs >= 1", file=sys.stderr)  # fmt: skip
        return 2
    start = time.monotonic()
    deadline = start + args.total_timeout
    targets = args.targets or default_targets()
    full = not args.targets  # the full run: diffbehavior and the laws too
    # A run of the module checks alone gives them the whole budget.
    first_end = stage_deadline("crosshair check", deadline, start) if full else deadline
    first = StageReport("crosshair check", first_end - start)
    print(f"== crosshair check ({first.share:.0f} s)", flush=True)
    outcomes = check_modules(targets, args.per_condition_timeout, first_end, args.jobs)
    print(render(outcomes), flush=True)
    first.seconds = time.monotonic() - start
    unfinished = [o.target for o in outcomes if o.status == "UNKNOWN"]
    if unfinished:
        first.outcome = f"cut short: {len(unfinished)} modules stopped at its share (UNKNOWN)"
    codes = [{"OK": 0, "FAIL": 1}.get(o.status, 3) for o in outcomes]
    stages = [first]
    if full:
        env = {**os.environ}
        now = time.monotonic()
        diff_end = stage_deadline("crosshair diffbehavior", deadline, now)
        diff_report = StageReport("crosshair diffbehavior", diff_end - now)
        # diffbehavior bounds itself a little inside its share, so that it ends with a report.
        own = str(max(1.0, diff_report.share - 10))
        diff = [sys.executable, "-m", "stageflow_verify.properties.diffbehavior",
                "--per-condition-timeout", str(args.per_condition_timeout),
                "--total-timeout", own, "--jobs", str(args.jobs)]  # fmt: skip
        codes.append(_stage(diff_report, diff, env))
        stages.append(diff_report)
        if not args.skip_laws:
            laws = [sys.executable, "-m", "stageflow_verify.core.run.verify",
                    "--checks", "values.*", "--reports", "reports/contracts"]  # fmt: skip
            env["HYPOTHESIS_PROFILE"] = "crosshair"
            now = time.monotonic()
            laws_report = StageReport("properties", deadline - now)
            codes.append(_stage(laws_report, laws, env))
            stages.append(laws_report)
    code = 1 if 1 in codes else (3 if any(codes) else 0)
    print(f"\ncontracts: exit {code} after {time.monotonic() - start:.0f} s")
    print("\n".join(s.line() for s in stages))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
