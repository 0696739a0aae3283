"""The generated half of ``make mutation``: score a seeded sample of cosmic-ray mutants.

Each mutant of :mod:`core.run.mutant_generation` is applied to its own copy of the installed
stageflow and judged exactly like a catalog mutant: ``stageflow-verify verify --checks <the
globs of its file>`` with ``PYTHONPATH=<copy>`` under the ``ci`` profile; *killed* iff verify
exits 1, *survived* iff it exits 0, *timeout* past :data:`MUTANT_TIMEOUT`, anything else an
*error*; neither of the last two is ever a kill. A survivor triaged in
``tests/quality/equivalent_mutants.py`` is reported *equivalent* (never killed); the others are
the suite's known gaps. A FIXED row (a mutant that makes a known finding stop reproducing) is
recorded but is not a kill: verify exits 0 on it.

The sample (``MUTATION_SAMPLE=N``, seed ``MUTATION_SEED``) is drawn from every mutant of the
chosen module group, so each module's share follows its size; ``all`` runs every one.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stageflow_verify.core.run.mutant_generation import (
    CHECKS_BY_FILE,
    MODULE_GROUPS,
    FileMutants,
    GeneratedMutant,
    apply_generated,
    generate,
    sample,
)
from stageflow_verify.core.run.mutation import (
    import_checkout_tests,
    make_copy,
    run_verify,
    stageflow_package,
)
from stageflow_verify.core.run.report_files import atomic_write_json, completed

# A mutant that makes a check hang must not stall the run. One file's globs took 1-40 s per
# mutant on the 2-core machine under a load of about 10 (2026-12-02); 180 s leaves 4x that.
MUTANT_TIMEOUT = 180
VERDICTS = ("killed", "equivalent", "survived", "timeout", "error")


@dataclass
class Scored:
    """What verify did with one generated mutant."""

    id: str
    file: str
    verdict: str  # one of VERDICTS
    seconds: float
    new_rows: list[str] = field(default_factory=list)
    fixed_rows: list[str] = field(default_factory=list)
    triage: str = ""  # the triage file's reason (equivalent or known gap), if any
    detail: str = ""


def globs_for(files: Sequence[str]) -> list[str]:
    """The verify globs that cover ``files``; empty (every check) if one of them is unmapped."""
    if any(file not in CHECKS_BY_FILE for file in files):
        return []
    return sorted({glob for file in files for glob in CHECKS_BY_FILE[file]})


def _rows_with(reports: Path, status: str) -> list[str]:
    report = reports / "verify.json"
    if not report.exists():
        return []
    return [r["name"] for r in json.loads(report.read_text())["checks"] if r["status"] == status]


def score(mutant: GeneratedMutant, timeout: float = MUTANT_TIMEOUT) -> Scored:
    """Apply ``mutant`` to a fresh copy of stageflow and run its file's checks on it."""
    with tempfile.TemporaryDirectory(prefix="generated-mutant-") as tmp:
        start = time.perf_counter()
        copy = make_copy(Path(tmp), None)
        apply_generated(copy / "stageflow", mutant)
        reports = Path(tmp) / "reports"
        code, new_rows, output = run_verify(copy, globs_for([mutant.file]), reports, timeout)
        verdict = {0: "survived", 1: "killed", None: "timeout"}.get(code, "error")
        scored = Scored(mutant.id, mutant.file, verdict, time.perf_counter() - start, new_rows)
        scored.fixed_rows = _rows_with(reports, "FIXED")
        if verdict in ("error", "timeout"):
            scored.detail = f"verify exited {code}:\n{output[-3000:]}"
        elif verdict == "killed" and not new_rows:  # e.g. the mutant breaks `import stageflow`
            scored.detail = f"verify exited 1 without a NEW row (a crash):\n{output[-1500:]}"
        return scored


def triage(scored: Scored, equivalent: dict[str, str], known_gaps: dict[str, str]) -> Scored:
    """Mark a survivor the triage file judges equivalent; attach any reason on file."""
    scored.triage = equivalent.get(scored.id) or known_gaps.get(scored.id, "")
    if scored.verdict == "survived" and scored.id in equivalent:
        scored.verdict = "equivalent"
    return scored


def _row(module: str, generated: int, mine: Sequence[Scored]) -> dict[str, Any]:
    counts = Counter(o.verdict for o in mine)
    row: dict[str, Any] = {"module": module, "generated": generated, "sampled": len(mine)}
    row.update({verdict: counts[verdict] for verdict in VERDICTS})
    seconds = sum(o.seconds for o in mine)
    row["seconds_per_mutant"] = round(seconds / len(mine), 1) if mine else 0
    return row


def per_module(
    generated: dict[str, FileMutants], outcomes: Sequence[Scored]
) -> list[dict[str, Any]]:
    """One row per module, then a ``total`` row."""
    rows = [
        _row(file, len(found.mutants), [o for o in outcomes if o.file == file])
        for file, found in generated.items()
    ]
    total = sum(len(found.mutants) for found in generated.values())
    return [*rows, _row("total", total, outcomes)]


def _skipped(generated: dict[str, FileMutants]) -> dict[str, dict[str, int]]:
    return {
        file: {
            "in_annotations": found.skipped_in_annotations,
            "unpacking_stars": found.skipped_unpacking_stars,
        }
        for file, found in generated.items()
    }


def render(rows: Sequence[dict[str, Any]]) -> str:
    header = ("module", "generated", "sampled", *VERDICTS, "killed+equiv", "s/mutant")
    lines = []
    for row in rows:
        done = row["killed"] + row["equivalent"]
        rate = f"{100 * done / row['sampled']:.0f}%" if row["sampled"] else "-"
        cells = [row["module"], *(str(row[k]) for k in header[1:-2]), rate]
        lines.append((*cells, str(row["seconds_per_mutant"])))
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def write_section(reports: Path, name: str, payload: Any) -> None:
    """Write one section (``catalog`` or ``generated``) of reports/mutation.json, keeping the
    other section from an earlier run, so both halves of ``make mutation`` share one file."""
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / "mutation.json"
    sections: dict[str, Any] = {}
    if path.exists():
        earlier = json.loads(path.read_text())
        if isinstance(earlier, dict):  # the pre-sections format (a bare list) is dropped
            sections = earlier
    sections[name] = payload
    atomic_write_json(path, completed(sections))


def _report(
    reports: Path,
    header: dict[str, Any],
    generated: dict[str, FileMutants],
    outcomes: Sequence[Scored],
    equivalent: dict[str, str],
    known_gaps: dict[str, str],
) -> None:
    survivors = [o.id for o in outcomes if o.verdict == "survived"]
    write_section(reports, "generated", {
        "tool": "cosmic-ray 8.7.0", **header, "scored": len(outcomes),
        "per_module": per_module(generated, outcomes), "skipped": _skipped(generated),
        "mutants": [asdict(o) for o in outcomes], "survivors": survivors,
        "untriaged_survivors": [i for i in survivors if i not in known_gaps],
        "stale_equivalent_triage": [
            o.id for o in outcomes if o.verdict == "killed" and o.id in equivalent
        ],
    })  # fmt: skip


def run_generated(
    group: str, size: int | None, seed: int, jobs: int, reports: Path, only: Sequence[str] = ()
) -> int:
    """Generate, sample, score and report; 0 iff no sampled mutant is an untriaged survivor,
    a timeout or an error; 2 if ``only`` names a mutant that does not exist."""
    from concurrent.futures import ThreadPoolExecutor

    import_checkout_tests()
    from tests.quality.equivalent_mutants import EQUIVALENT, KNOWN_GAPS

    files = MODULE_GROUPS[group]
    generated = generate(stageflow_package(), files)
    everything = [m for found in generated.values() for m in found.mutants]
    unknown = sorted(set(only) - {m.id for m in everything})
    if unknown:
        print(f"mutation: no generated mutant {unknown} in the {group} modules", file=sys.stderr)
        return 2
    by_id = {m.id: m for m in everything}
    chosen = [by_id[i] for i in only] if only else sample(everything, size, seed)  # given order
    print(f"generated: {len(everything)} mutants in {group} modules; scoring {len(chosen)} "
          f"(seed {seed})", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="generated-pristine-") as tmp:
        pristine = make_copy(Path(tmp), None)
        code, new_rows, output = run_verify(pristine, globs_for(files), pristine / "reports")
    if code != 0:
        print(f"mutation: pristine stageflow does not pass verify ({new_rows or code}); no kill "
              f"would mean anything:\n{output[-3000:]}")  # fmt: skip
        return 1
    outcomes: list[Scored] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # each job waits on verify
        for scored in pool.map(score, chosen):
            outcomes.append(triage(scored, EQUIVALENT, KNOWN_GAPS))
            print(f"  {scored.verdict:<10} {scored.id} ({scored.seconds:.1f}s)", flush=True)
            # Rewritten after every mutant: a run cut short keeps a uniform sample so far.
            header = {"group": group, "seed": seed, "sample": "all" if size is None else size}
            _report(reports, header, generated, outcomes, EQUIVALENT, KNOWN_GAPS)
    rows = per_module(generated, outcomes)
    survivors = [o for o in outcomes if o.verdict == "survived"]
    untriaged = [o.id for o in survivors if o.id not in KNOWN_GAPS]
    stale = [o.id for o in outcomes if o.verdict == "killed" and o.id in EQUIVALENT]
    print("\n" + render(rows))
    for o in [o for o in outcomes if o.verdict in ("error", "timeout")]:
        print(f"\n==== {o.id}: {o.verdict}\n{o.detail}")
    for o in survivors:
        print(f"gap: {o.id}" + (f"  ({o.triage})" if o.triage else "  (untriaged)"))
    for mutant_id in stale:
        print(f"stale triage: {mutant_id} is killed now; drop it from EQUIVALENT")
    bad = untriaged or any(o.verdict in ("error", "timeout") for o in outcomes)
    return 1 if bad else 0
