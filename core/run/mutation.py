"""`make mutation`: plant each catalogued bug in a copy of stageflow; does verify notice?

Mutation testing measures the suite instead of the system under test. Each :class:`Mutant` of
``tests/quality/mutants.py`` is one or more textual :class:`Edit` s of stageflow's source. For
each mutant the runner copies the installed ``stageflow`` package (found through importlib, so a
``PYTHONPATH`` copy is honoured and site-packages is never written), applies the edits, and runs
``python -m stageflow_verify.core.run.verify --checks <globs>`` with ``PYTHONPATH=<copy>`` and a
reports directory of its own. The mutant is *killed* iff verify exits 1 (a NEW row); exit 0 means it
*survived*, and anything else (exit 2, a crash, a timeout) is an *error*, never a kill.

Three decisions at the edges:

- An edit whose ``old`` text does not occur exactly once is a stale catalog
  (:class:`StaleCatalogError`): planting nothing, or planting in the wrong place, would report
  a kill or a survival that means nothing.
- The pristine copy runs first, with every glob the catalog targets: if pristine stageflow
  already shows NEW, every kill would be noise, and the run stops there.
- Every mutant names a *witness*, a tiny function of ``tests/quality/witnesses.py`` whose result
  differs between pristine and mutant. It proves the mutant is not equivalent; the table shows
  whether it still does.

After the catalog, ``--sample N`` (``MUTATION_SAMPLE``) scores generated cosmic-ray mutants the
same way: :mod:`core.run.generated_mutation`. Both halves write their own section of
``reports/mutation.json`` (``catalog``, ``generated``).

The baseline (``tests/quality/baseline``, hand-written ``asyncio.gather`` tests of the kind the
CORE-003 report describes) runs against the same copies; it kills a mutant iff pytest fails.

For example::

    stageflow-verify mutation --jobs 2                  # every mutant, table + `killed K/N`
    stageflow-verify mutation --only output_bag.check_act_split --full
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stageflow_verify.core.run.report_files import running_marker

REPO = Path(__file__).resolve().parents[2]
BASELINE = "tests/quality/baseline"
VERIFY_TIMEOUT = 600  # seconds per mutant; a hung check is an error, not a kill
WITNESS_TIMEOUT = 120


def import_checkout_tests() -> None:
    """Make the checkout's ``tests`` package importable: mutation reads its catalog, witnesses and
    triage lists, which are not packaged (tests/ stays out of the wheel), and the console script's
    ``sys.path`` holds only the venv, not the working directory."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur exactly once) by ``new`` in ``file``, a path relative
    to the stageflow package (``stages/context.py``)."""

    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    """A planted bug: its edits, the verify globs expected to catch it, and its witness.

    ``witness`` names a function in ``tests/quality/witnesses.py`` whose (JSON) result differs
    between pristine stageflow and this mutant.
    """

    id: str
    summary: str
    edits: tuple[Edit, ...]
    checks: tuple[str, ...]
    witness: str

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


class StaleCatalogError(ValueError):
    """An edit's ``old`` text is missing or ambiguous in the stageflow being mutated."""


@dataclass
class Outcome:
    """What one copy (a mutant, or ``pristine``) did under verify, the baseline and the witness."""

    id: str
    verdict: str  # killed | survived | error (for pristine: clean | NEW | error)
    seconds: float
    new_rows: list[str] = field(default_factory=list)
    baseline: str = "-"  # killed | survived | error | - (not run)
    witness: str = "-"  # differs | SAME | error | - (not run)
    detail: str = ""
    # Per verify row, from its Hypothesis statistics (core/run/check_statistics.py): for a mutant,
    # each NEW row's first failing example; for pristine, each row's valid examples (the profile's
    # budget that check spent). core/run/ci_power.py tabulates them.
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)


def stageflow_package() -> Path:
    """The directory of the ``stageflow`` package Python would import (never hard-coded)."""
    spec = importlib.util.find_spec("stageflow")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mutation: cannot find a stageflow package; run `make venv` first")
    return Path(next(iter(spec.submodule_search_locations)))


def apply(mutant: Mutant, package: Path) -> None:
    """Apply ``mutant``'s edits to the stageflow package at ``package``, in place."""
    for edit in mutant.edits:
        path = package / edit.file
        text = path.read_text()
        count = text.count(edit.old)
        if count != 1:
            raise StaleCatalogError(
                f"{mutant.id}: the text to replace occurs {count} times in {edit.file} (expected "
                f"once), so this stageflow differs from the one the catalog was written for; "
                f"update the edit in tests/quality/mutants.py:\n{edit.old}"
            )
        path.write_text(text.replace(edit.old, edit.new))


def make_copy(root: Path, mutant: Mutant | None) -> Path:
    """Copy stageflow under ``root`` (mutated if ``mutant``); return the PYTHONPATH entry."""
    shutil.copytree(
        stageflow_package(), root / "stageflow", ignore=shutil.ignore_patterns("__pycache__")
    )
    if mutant is not None:
        apply(mutant, root / "stageflow")
    return root


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("HYPOTHESIS_PROFILE", "ci")
    return env


def _run(argv: list[str], copy: Path, timeout: float) -> tuple[int | None, str, str]:
    """Exit code (None on timeout), stdout and stderr of ``argv`` run against ``copy``."""
    try:
        done = subprocess.run(
            argv, cwd=REPO, env=_env(copy), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {timeout:.0f}s"
    return done.returncode, done.stdout, done.stderr


def run_verify(
    copy: Path, globs: Sequence[str], reports: Path, timeout: float = VERIFY_TIMEOUT
) -> tuple[int | None, list[str], str]:
    """Verify the copy: exit code (None on timeout), the NEW rows, and the output's tail."""
    argv = [sys.executable, "-m", "stageflow_verify.core.run.verify", "--reports", str(reports)]
    if globs:
        argv += ["--checks", ",".join(globs)]
    code, out, err = _run(argv, copy, timeout)
    output = out[-6000:] + err[-3000:]
    new_rows: list[str] = []
    report = reports / "verify.json"
    if report.exists():
        rows = json.loads(report.read_text())["checks"]
        new_rows = [r["name"] for r in rows if r["status"] == "NEW"]
    return code, new_rows, output


def row_examples(reports: Path, status: str | None = None) -> dict[str, dict[str, Any]]:
    """Each row's (or each ``status`` row's) examples as its statistics counted them: valid
    examples run and the first failing generated one (None for a passing row, or one that failed
    in an explicit example or outside Hypothesis)."""
    report = reports / "verify.json"
    if not report.exists():
        return {}
    rows = json.loads(report.read_text())["checks"]
    return {
        row["name"]: {
            "valid": (row.get("statistics") or {}).get("examples", {}).get("valid"),
            "first_failing_example": (row.get("statistics") or {}).get("first_failing_example"),
        }
        for row in rows
        if status is None or row["status"] == status
    }


def run_baseline(copy: Path) -> str:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", BASELINE]
    code, _, _ = _run(argv, copy, VERIFY_TIMEOUT)
    return {0: "survived", 1: "killed"}.get(code if code is not None else -1, "error")


def run_witnesses(copy: Path, names: Sequence[str]) -> dict[str, str]:
    """Each named witness's result on the copy (``tests.quality.witnesses`` prints JSON)."""
    argv = [sys.executable, "-m", "tests.quality.witnesses", *names]
    code, out, err = _run(argv, copy, WITNESS_TIMEOUT)
    if code != 0 or not out.strip():
        return {name: f"error: {err.strip()[-300:]}" for name in names}
    results: dict[str, str] = json.loads(out.strip().splitlines()[-1])
    return results


def run_witness_batch(pairs: Sequence[tuple[Path, str]], pristine: Path) -> list[str]:
    """Witness results for many (copy, witness) pairs in one interpreter (stageflow is
    re-imported per pair), which saves an interpreter start and a pydantic import per mutant."""
    argv = [sys.executable, "-m", "tests.quality.witnesses", *(f"{c}::{w}" for c, w in pairs)]
    code, out, err = _run(argv, pristine, WITNESS_TIMEOUT * 4)
    if code != 0 or not out.strip():
        raise RuntimeError(f"witness batch failed (exit {code}):\n{err[-3000:]}")
    results: dict[str, str] = json.loads(out.strip().splitlines()[-1])
    return [results[f"{c}::{w}"] for c, w in pairs]


def judge(
    mutant: Mutant, globs: Sequence[str], baseline: bool, pristine_witness: dict[str, str]
) -> Outcome:
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.id}-") as tmp:
        start = time.perf_counter()
        try:
            copy = make_copy(Path(tmp), mutant)
        except StaleCatalogError as exc:
            return Outcome(mutant.id, "error", 0.0, detail=str(exc))
        code, new_rows, output = run_verify(copy, globs, Path(tmp) / "reports")
        seconds = time.perf_counter() - start
        verdict = {0: "survived", 1: "killed"}.get(code if code is not None else -1, "error")
        outcome = Outcome(mutant.id, verdict, seconds, new_rows)
        outcome.examples = row_examples(Path(tmp) / "reports", "NEW")
        if verdict == "error":
            outcome.detail = f"verify exited {code}:\n{output}"
        if baseline:
            outcome.baseline = run_baseline(copy)
        seen = run_witnesses(copy, [mutant.witness])[mutant.witness]
        expected = pristine_witness.get(mutant.witness)
        outcome.witness = (
            "error" if seen.startswith("error") else ("SAME" if seen == expected else "differs")
        )
        return outcome


def judge_pristine(globs: Sequence[str], baseline: bool) -> tuple[Outcome, dict[str, str]]:
    import_checkout_tests()
    from tests.quality.mutants import MUTANTS

    with tempfile.TemporaryDirectory(prefix="mutant-pristine-") as tmp:
        copy = make_copy(Path(tmp), None)
        start = time.perf_counter()
        code, new_rows, output = run_verify(copy, globs, Path(tmp) / "reports")
        verdict = {0: "clean", 1: "NEW"}.get(code if code is not None else -1, "error")
        outcome = Outcome("pristine", verdict, time.perf_counter() - start, new_rows)
        outcome.examples = row_examples(Path(tmp) / "reports")
        if verdict != "clean":
            outcome.detail = output
        if baseline:
            outcome.baseline = run_baseline(copy)
        witnesses = run_witnesses(copy, sorted({m.witness for m in MUTANTS}))
        return outcome, witnesses


def render(outcomes: Sequence[Outcome], baseline: bool) -> str:
    header = ("bug", "ours", "seconds", "killed by", "baseline", "witness")
    lines = [
        (o.id, o.verdict, f"{o.seconds:.1f}", ",".join(o.new_rows) or "-", o.baseline, o.witness)
        for o in outcomes
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))

    table = [fmt(header), fmt(tuple("-" * w for w in widths)), *map(fmt, lines)]
    mutants = [o for o in outcomes if o.id != "pristine"]
    if baseline:
        caught = sum(o.baseline == "killed" for o in mutants)
        table.append(
            f"baseline (hand-written gather tests, {BASELINE}): killed {caught}/{len(mutants)}"
        )
    table.append(f"killed {sum(o.verdict == 'killed' for o in mutants)}/{len(mutants)}")
    return "\n".join(table)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.core.run.mutation", description=__doc__
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", action="append", default=[], help="mutant id (repeatable)")
    parser.add_argument("--full", action="store_true", help="run every check, not the targets")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline tests")
    parser.add_argument("--reports", default="reports", help="directory for mutation.json")
    # The generated half (core/run/generated_mutation.py); bad values exit 2 in main, one line.
    parser.add_argument("--sample", default="0", help="generated mutants to score: N or 'all'")
    parser.add_argument("--seed", default="15", help="seed of the generated sample")
    groups = "modelled | later | interceptors | all"
    parser.add_argument("--modules", default="modelled", help=groups)
    parser.add_argument("--generated", action="append", default=[], help="generated mutant id")
    parser.add_argument("--no-catalog", action="store_true", help="skip the hand-written catalog")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from stageflow_verify.core.run.ci_power import CI_POWER_FILES
    from stageflow_verify.core.run.generated_mutation import run_generated
    from stageflow_verify.core.run.mutant_generation import MODULE_GROUPS, parse_sample

    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        size = parse_sample(args.sample)
        if not args.seed.lstrip("-").isdigit():
            raise ValueError(f"MUTATION_SEED must be an integer, not {args.seed!r}")
        seed = int(args.seed)
        if args.modules not in MODULE_GROUPS:
            raise ValueError(f"MUTATION_MODULES must be one of {sorted(MODULE_GROUPS)}")
    except ValueError as exc:
        print(f"mutation: {exc}", file=sys.stderr)
        return 2
    reports = Path(args.reports)
    # The catalog rewrites ci_power's table too (core/run/ci_power.py), so a cut run marks it stale.
    replaced = ("mutation.json",) if args.no_catalog else ("mutation.json", *CI_POWER_FILES)
    with running_marker(reports, "mutation", replaced):
        code = 0 if args.no_catalog else run_catalog(args)
        if code == 2:  # an unknown catalog id: bad input, nothing more runs
            return code
        if size != 0 or args.generated:
            generated = run_generated(args.modules, size, seed, args.jobs, reports, args.generated)
            code = generated if generated == 2 else code | generated
    return code


def run_catalog(args: argparse.Namespace) -> int:
    """The hand-written catalog: every planted bug must be killed and its witness must differ."""
    from stageflow_verify.core.run.ci_power import write_table
    from stageflow_verify.core.run.generated_mutation import write_section

    import_checkout_tests()
    from tests.quality.mutants import MUTANTS

    unknown = set(args.only) - {m.id for m in MUTANTS}
    if unknown:
        print(f"mutation: no mutant named {sorted(unknown)}; see tests/quality/mutants.py",
              file=sys.stderr)  # fmt: skip
        return 2
    selected = [m for m in MUTANTS if not args.only or m.id in args.only]
    baseline = not args.no_baseline

    def globs(m: Mutant | None) -> list[str]:
        if args.full:
            return []
        chosen = selected if m is None else [m]
        return sorted({g for each in chosen for g in each.checks})

    pristine, witnesses = judge_pristine(globs(None), baseline)
    print(f"pristine: {pristine.verdict} ({pristine.seconds:.1f}s)", flush=True)
    if pristine.verdict != "clean":
        print(f"mutation: pristine stageflow does not pass verify, so no kill would mean "
              f"anything; fix that first:\n{pristine.detail}", file=sys.stderr)  # fmt: skip
        return 1
    outcomes: list[Outcome] = []
    # Threads, not processes: each job only waits on its verify subprocess.
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(judge, m, globs(m), baseline, witnesses) for m in selected]
        for future in futures:
            outcomes.append(future.result())
            o = outcomes[-1]
            print(f"  {o.verdict:<8} {o.id} ({o.seconds:.1f}s)", flush=True)
    everything = [pristine, *outcomes]
    write_section(Path(args.reports), "catalog", [asdict(o) for o in everything])
    write_table(Path(args.reports), [asdict(o) for o in everything])  # reports/ci_power.md
    for o in outcomes:
        if o.verdict == "error" or o.witness != "differs":
            print(f"\n==== {o.id}: {o.verdict}, witness {o.witness}\n{o.detail}")
    print()
    print(render(everything, baseline))
    ok = all(o.verdict == "killed" and o.witness == "differs" for o in outcomes)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
