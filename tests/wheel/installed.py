"""`make wheel-check`: the suite as a user installs it, judged against `make verify`.

The README promises that outside a checkout, `pip install` of the wheel gives a
``stageflow-verify verify`` and a ``pytest --stageflow-verify`` that judge the installed Stageflow
as ``make verify`` does, that ``-k fork`` selects the fork check with its findings, and that its
user example runs as pasted and finds its planted bug. A promise nobody runs rots, so this runs
each one, the way a user would:

1. build the wheel of this checkout (``pip wheel --no-deps``);
2. make a fresh venv in a temporary folder outside the checkout and ``pip install`` the wheel
   there, its dependencies held to ``requirements.lock`` (``-c``: the wheel's own metadata must
   name them all);
3. from a folder outside the checkout, with no ``HYPOTHESIS_*`` or ``PYTHONPATH`` set, run
   ``stageflow-verify verify``, ``pytest --stageflow-verify`` (JUnit) and
   ``pytest --stageflow-verify --collect-only -k fork``;
4. run the README's example as ``test_fan_out.py`` with that venv's pytest, buggy and fixed.

Every row must get the same status from the checkout's verify (the reference), the wheel's verify
and the wheel's pytest (its JUnit ``verdict`` property), and pytest's outcome must be the one the
plugin documents for that status. The reference is ``--reference``'s verify.json when it is a
complete ``ci`` run (CI runs ``make verify`` just before), else the checkout's verify is run here.

It takes minutes (an install and two whole verifies), so it is a make target that CI runs, not a
test of ``make test``; ``tests/cover/test_wheel_check.py`` holds the comparison to its word.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ("core", "models", "properties", "stateful")  # pyproject's package-dir mapping

# pytest's outcome, as JUnit records it, for each status of verify (core/run/pytest_plugin.py).
JUNIT_OUTCOME = {
    "PASS": "passed",
    "KNOWN": "xfail",
    "FIXED": "passed",  # a non-strict XPASS
    "N/A": "skipped",
    "NEW": "failure",
    "ERROR": "error",
}


def junit_cases(junit: Path) -> dict[str, tuple[str, str]]:
    """Each JUnit case's (outcome, verdict): passed, failure, error, skipped or xfail, and the
    ``verdict`` property the plugin records ('' if none)."""
    cases = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        skipped = case.find("skipped")
        if skipped is not None and skipped.get("type") == "pytest.xfail":
            kinds = ["xfail"]
        verdicts = [p.get("value", "") for p in case.iter("property") if p.get("name") == "verdict"]
        outcome = kinds[0] if kinds else "passed"
        cases[case.get("name", "")] = (outcome, verdicts[0] if verdicts else "")
    return cases


def disagreements(
    reference: Mapping[str, str],
    verified: Mapping[str, str],
    cases: Mapping[str, tuple[str, str]],
) -> list[str]:
    """One line per row whose status differs between the three, or whose pytest outcome is not
    the one its status maps to; [] when all agree."""
    problems = []
    for name in sorted({*reference, *verified, *cases}):
        want = reference.get(name, "missing")
        outcome, verdict = cases.get(name, ("missing", "missing"))
        got = verified.get(name, "missing")
        if got != want or verdict != want:
            problems.append(f"{name}: make verify {want}, wheel verify {got}, pytest {verdict}")
        elif outcome != JUNIT_OUTCOME.get(want):
            problems.append(
                f"{name}: {want} should be pytest's {JUNIT_OUTCOME.get(want)}, got {outcome}"
            )
    return problems


def statuses(verify_json: Path) -> dict[str, str]:
    return {row["name"]: row["status"] for row in json.loads(verify_json.read_text())["checks"]}


def fork_rows() -> set[str]:
    """What ``-k fork`` must select: rows named for a fork, and the findings of such a check."""
    from stageflow_verify.core.run import checks as registry

    rows = {c.name for c in registry.discover_checks() if "fork" in c.name.lower()}
    for finding in registry.discover_findings():
        if "fork" in f"{finding.id} {finding.check}".lower():
            rows.add(f"finding.{finding.id}")
    return rows


def _user_env() -> dict[str, str]:
    # A user's shell: none of the suite's settings, nothing on the path from this checkout.
    drop = ("HYPOTHESIS_", "PYTHONPATH", "VIRTUAL_ENV", "PYTEST_", "VERIFY_SEED")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _run(
    command: Sequence[str | Path], cwd: Path, timeout: int
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    words = " ".join(Path(str(c)).name if n == 0 else str(c) for n, c in enumerate(command))
    print(f"  {time.monotonic() - started:6.1f} s  exit {done.returncode}  {words}", flush=True)
    return done


def build_wheel(work: Path) -> Path:
    """The wheel of this checkout, built from a clean copy of what packaging reads.

    setuptools builds in the source tree and keeps its ``build/`` folder; a module deleted since
    the last build would still be packaged from there. A copy is what a fresh clone builds.
    """
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in PACKAGED:
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    wheels = work / "wheels"
    command: list[str | Path] = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
    command += ["-w", wheels, source]
    built = _run(command, work, 600)
    if built.returncode != 0:
        raise SystemExit(f"wheel-check: pip wheel failed\n{built.stdout}{built.stderr}")
    (wheel,) = wheels.glob("stageflow_verify-*.whl")
    return wheel


def _install(work: Path) -> Path:
    wheel = build_wheel(work)
    venv = work / "venv"
    _run(["python3", "-m", "venv", venv], work, 120).check_returncode()
    lock = ROOT / "requirements.lock"
    done = _run([venv / "bin/python", "-m", "pip", "install", "-q", "-c", lock, wheel], work, 1200)
    if done.returncode != 0:
        raise SystemExit(f"wheel-check: installing {wheel.name} failed\n{done.stdout}{done.stderr}")
    return venv


def _reference(given: Path | None, work: Path) -> dict[str, str]:
    if given is not None and given.exists():
        stored = json.loads(given.read_text())
        if stored.get("complete") and stored.get("profile") == "ci":
            print(f"reference: {given} (a complete ci verify of this checkout)")
            return statuses(given)
    reports = work / "reference"
    verify: list[str | Path] = [sys.executable, "-m", "stageflow_verify.core.run.verify"]
    verify += ["--reports", reports]
    _run(verify, work, 900)
    return statuses(reports / "verify.json")


def _readme_example(venv: Path, work: Path) -> list[str]:
    from tests.cover.test_readme_example import readme_example

    problems = []
    for buggy, want in ((True, 1), (False, 0)):
        folder = work / f"example-buggy-{buggy}"
        folder.mkdir()
        source = readme_example().replace("BUGGY = True", f"BUGGY = {buggy}")
        (folder / "test_fan_out.py").write_text(source)
        done = _run(
            [venv / "bin/pytest", "test_fan_out.py", "-q", "-p", "no:cacheprovider"], folder, 300
        )
        found = "every_tag_kept: profile tags are" in done.stdout
        if done.returncode != want or found != buggy:
            problems.append(
                f"README example (BUGGY = {buggy}): exit {done.returncode}\n{done.stdout}"
            )
    return problems


def check(work: Path, reference: Path | None) -> list[str]:
    """Every promise above, run in ``work``; the problems found ([] when all hold)."""
    print("building the wheel and a fresh venv outside the checkout:")
    venv = _install(work)
    print("judging:")
    expected = _reference(reference, work)
    user = work / "user"
    user.mkdir()
    _run([venv / "bin/stageflow-verify", "verify", "--reports", user / "reports"], user, 900)
    junit = user / "rows.xml"
    plugin: list[str | Path] = [venv / "bin/pytest", "--stageflow-verify", "-p", "no:cacheprovider"]
    plugin.append("-q")
    _run([*plugin, "-n", "2", f"--junitxml={junit}"], user, 900)
    problems = disagreements(expected, statuses(user / "reports/verify.json"), junit_cases(junit))
    chosen = _run([*plugin, "--collect-only", "-k", "fork"], user, 300)
    selected = {line.split("::", 1)[1] for line in chosen.stdout.splitlines() if "::" in line}
    if selected != fork_rows():
        problems.append(f"-k fork selected {sorted(selected)}, not {sorted(fork_rows())}")
    problems += _readme_example(venv, work)
    counts = {s: list(expected.values()).count(s) for s in JUNIT_OUTCOME}
    print(
        "rows: "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        + f"; {len(selected)} for -k fork"
    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make wheel-check", description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, help="a verify.json of this checkout (ci)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stageflow-wheel-") as folder:
        problems = check(Path(folder), args.reference)
    for problem in problems:
        print(f"DISAGREE: {problem}")
    print(
        "wheel-check: "
        + ("agrees with make verify" if not problems else f"{len(problems)} problems")
    )
    return 1 if problems else 0
