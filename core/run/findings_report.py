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

import ast
import builtins
import contextlib
import importlib
import inspect
import io
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FunctionType, ModuleType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from stageflow_verify.core.run.checks import BASIS_ORDER, SEVERITY_ORDER, SUITE_ROOT, Basis, Finding
from stageflow_verify.core.run.report_files import atomic_write_text
from stageflow_verify.core.run.watchdog import REPRODUCER_SECONDS, StageflowStuckError, watchdog
from stageflow_verify.core.run.withdrawn import Withdrawn, discover_withdrawn

if TYPE_CHECKING:
    from stageflow_verify.core.sched.trace import Trace

Records = Mapping[str, Mapping[str, str]]  # version label -> {row name: status}


def load_records(reports_dir: Path) -> dict[str, dict[str, str]]:
    records: dict[str, dict[str, str]] = {}
    for path in sorted((reports_dir / "versions").glob("*/verify.json")):
        rows = json.loads(path.read_text())["checks"]
        records[path.parent.name] = {row["name"]: row["status"] for row in rows}
    return records


def _version_key(label: str) -> tuple[int, ...]:
    release = label.partition("+")[0]
    return tuple(int(p) if p.isdigit() else -1 for p in release.split("."))


def versions_with(records: Records, row: str, status: str) -> list[str]:
    """The version labels whose record has ``row`` at ``status``, oldest first."""
    found = [label for label, rows in records.items() if rows.get(row) == status]
    return sorted(found, key=_version_key)


def measured_versions(records: Records, finding: Finding) -> tuple[str, ...]:
    """The released versions on which ``finding`` was seen to reproduce."""
    known = versions_with(records, f"finding.{finding.id}", "KNOWN")
    return tuple(v for v in known if "+" not in v)


def declaration_disagreement(records: Records, finding: Finding) -> str:
    """What the registry's ``versions`` says wrongly about the releases verified here ("" if
    nothing). A release whose record here lacks the finding's row is no evidence either way: a
    fresh clone that ran verify on 1.2.0 alone has nothing to say about 0.5.1, nor has a record
    of ``make verify CHECKS=...`` that left the row out, or one older than the finding."""
    row = f"finding.{finding.id}"
    verified = {label for label, rows in records.items() if "+" not in label and row in rows}
    measured = set(measured_versions(records, finding))
    declared = set(finding.versions) & verified
    if declared == measured:
        return ""
    wrong = [
        f"{'' if v in declared else 'not '}declared but measured {records[v][row]} on {v}"
        for v in sorted(declared ^ measured, key=_version_key)
    ]
    return "; ".join(wrong) + " (`make verify-all` measures every release)"


# --- the runnable snippet ----------------------------------------------------------------------


class _NamesRead(ast.NodeVisitor):
    # Names read anywhere in the source, defaults and annotations included (bytecode would miss
    # both: defaults are evaluated at def time, and the future import leaves annotations
    # unevaluated, yet a linter still resolves them: `Any` unimported is F821). A local that
    # shadows a global only adds a harmless extra definition.
    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.names[node.id] = None


def _global_names(fn: FunctionType | type) -> list[str]:
    reader = _NamesRead()
    reader.visit(ast.parse(textwrap.dedent(inspect.getsource(fn))))
    scope = _scope(fn)
    return [n for n in reader.names if n in scope or hasattr(builtins, n)]


def _scope(value: FunctionType | type) -> dict[str, Any]:
    if isinstance(value, FunctionType):
        return value.__globals__
    return vars(inspect.getmodule(value))


# The packages of this suite: a helper defined in one of them is printed into the script (a
# reproducer may use another findings module's helper); anything else is imported.
_SUITE_PACKAGES = ("stateful", "properties", "models", "core")


def _is_suite(module: str) -> bool:
    return module.removeprefix(SUITE_ROOT).partition(".")[0] in _SUITE_PACKAGES


def _module_imports(module_name: str) -> dict[str, str]:
    """name -> the import statement that binds it at the top level of ``module_name``: how a
    script gets ``Any`` or ``ModuleType`` exactly as the reproducer's own module does."""
    module = importlib.import_module(module_name)
    bound: dict[str, str] = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = f"import {alias.name} as {alias.asname}"
                else:
                    top = alias.name.partition(".")[0]
                    bound.setdefault(top, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "__future__":
                continue
            for alias in node.names:
                name = alias.asname or alias.name
                suffix = f" as {alias.asname}" if alias.asname else ""
                bound[name] = f"from {node.module} import {alias.name}{suffix}"
    return bound


def _constant(name: str, value: Any, imports: set[str]) -> str | None:
    if isinstance(value, UUID):
        imports.add("from uuid import UUID")
        return f"{name} = UUID(int={value.int})"
    if value is None or isinstance(value, bool | int | float | str | tuple | frozenset):
        return f"{name} = {value!r}"
    return None


def _collect(
    fn: FunctionType | type, imports: set[str], definitions: dict[str, str], seen: set[str]
) -> None:
    scope = _scope(fn)
    bound = _module_imports(fn.__module__)
    for name in _global_names(fn):
        if name in seen or (name not in scope and hasattr(builtins, name)):
            continue
        seen.add(name)
        value = scope.get(name)
        if name == "sf":
            continue  # the script's own `import stageflow as sf`
        if isinstance(value, FunctionType | type) and _is_suite(value.__module__):
            _collect(value, imports, definitions, seen)
            definitions[name] = textwrap.dedent(inspect.getsource(value))
        elif name in bound and not _is_suite(bound[name].split()[1]):
            imports.add(bound[name])
        elif isinstance(value, ModuleType):
            alias = "" if value.__name__ == name else f" as {name}"
            imports.add(f"import {value.__name__}{alias}")
        elif callable(value) and hasattr(value, "__module__") and hasattr(value, "__name__"):
            imports.add(f"from {value.__module__} import {value.__name__}")
        else:
            line = _constant(name, value, imports)
            if line is None:
                raise ValueError(f"cannot print {name}={value!r} needed by {fn.__qualname__}")
            definitions[name] = line


def _import_lines(imports: set[str]) -> list[str]:
    # isort's order (ruff's I001): the future import, the standard library, then stageflow,
    # each group with its `import x` lines before its `from x import y` lines.
    def key(line: str) -> tuple[int, str]:
        return (0 if line.startswith("import ") else 1, line.split()[1])

    def name_key(name: str) -> tuple[int, str]:  # isort's order-by-type: CONSTANT, Class, func
        return (0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2, name)

    # One `from m import a, b` per module, as isort merges them.
    plain = {line for line in imports if line.startswith("import ")}
    names: dict[str, set[str]] = {}
    for line in imports - plain:
        module, _, name = line.removeprefix("from ").partition(" import ")
        names.setdefault(module, set()).add(name)
    merged = {f"from {m} import {', '.join(sorted(n, key=name_key))}" for m, n in names.items()}
    stdlib = sorted(plain | merged, key=key)
    return ["from __future__ import annotations", "", *stdlib, "", "import stageflow as sf"]


def _print_call(text: str, indent: str) -> str:
    # A message too long for one line becomes an implicit concatenation (E501 holds at 100).
    chunks = textwrap.wrap(text, 70, drop_whitespace=False) or [""]
    if len(chunks) == 1:
        return f"{indent}print({text!r})"
    inner = "\n".join(f"{indent}    {chunk!r}" for chunk in chunks)
    return f"{indent}print(\n{inner}\n{indent})"


def reproducer_source(finding: Finding) -> str:
    """A runnable script: its imports, ``import stageflow as sf``, what the reproducer needs,
    and a footer that exits 1 with ``VIOLATION: ...`` while the finding reproduces, else 0."""
    fn = finding.reproduce
    if not isinstance(fn, FunctionType):
        raise TypeError(f"{finding.id}: reproduce is {fn!r}, not a plain function")
    imports: set[str] = set()
    definitions: dict[str, str] = {}
    _collect(fn, imports, definitions, {fn.__name__})
    constants = [d for d in definitions.values() if "\n" not in d.strip()]
    bodies = [d.rstrip() for d in definitions.values() if "\n" in d.strip()]
    footer = [
        f"if {fn.__name__}(sf):",
        _print_call(f"VIOLATION: {finding.id}: {finding.title}", "    "),
        "    raise SystemExit(1)",
        _print_call(f"{finding.id} does not reproduce with this stageflow", ""),
    ]
    # isort keeps one blank line between the imports and a constant, two before a def.
    head = "\n".join(_import_lines(imports))
    if constants:
        head += "\n\n" + "\n".join(constants)
    parts = [head, *bodies, textwrap.dedent(inspect.getsource(fn)).rstrip(), "\n".join(footer)]
    return "\n\n\n".join(parts) + "\n"


# --- the swimlane of an interleaving finding ----------------------------------------------------

INTERLEAVING = "interleaving"  # the tag of a finding whose reproducer is about an interleaving


def reproducer_swimlanes(finding: Finding) -> list[str]:
    """The schedule of each ``asyncio.run`` the reproducer makes, drawn as a swimlane.

    The reproducer runs on the installed stageflow with ``asyncio.run`` routed to the suite's
    deterministic loop (``core.sched``) under its default chooser, which is step for step a
    stock asyncio loop (``core/sched/SCHEDULER.md``): the picture is of the very schedule the
    printed script runs, one column per task. Empty for a finding not tagged ``interleaving``,
    one that does not apply here, or one whose reproducer no longer reproduces."""
    from stageflow_verify.core.sched.trace import render_swimlane

    traces, problem = reproducer_traces(finding)
    return [problem] if problem else [render_swimlane(t, last=80, width=36) for t in traces]


def reproducer_traces(finding: Finding) -> tuple[list[Trace], str]:
    """The traces :func:`reproducer_swimlanes` draws (the HTML report draws them as timelines),
    or none and why not. A thread finding's come from its ``schedules`` (a controlled schedule
    of its threads that shows it); an asyncio finding's from its reproducer's own runs, a run
    that raised included (its failure carries its trace: SF-THR-05's second session)."""
    if INTERLEAVING not in finding.tags:
        return [], ""
    import asyncio
    from unittest import mock

    from stageflow_verify.core.sched import timeline
    from stageflow_verify.core.sched.scheduler import run
    from stageflow_verify.core.sut import stageflow_module

    sf = stageflow_module()
    if finding.applies(sf) is not None:
        return [], ""
    # Bounded as the reproducer rows are: this Stageflow may hang (a planted spin, a mutant),
    # and a report that is drawn after the verdicts must never be what hangs verify.
    bound = watchdog(REPRODUCER_SECONDS, f"the swimlane of {finding.id}")
    if finding.schedules is not None:
        try:
            with bound:
                return finding.schedules(sf), ""
        except StageflowStuckError as exc:
            return [], f"(no swimlane: {exc})"
        except Exception as exc:  # the report is still written; it says why the picture is missing
            return [], f"(no swimlane: no thread schedule showed it: {exc})"
    traces: list[Trace] = []

    def on_the_suites_loop(main: Any, **_: Any) -> Any:
        try:
            result = run(main, detail=True, max_steps=100_000)
        except Exception as exc:
            failed = timeline.attached(exc)
            if failed is not None:
                traces.append(failed)
            raise
        traces.append(result.trace)
        return result.value

    try:
        with (
            bound,
            mock.patch.object(asyncio, "run", on_the_suites_loop),
            contextlib.redirect_stdout(io.StringIO()),  # its "VIOLATION: ..." is verify's to say
        ):
            reproduces = finding.reproduce(sf)
    except StageflowStuckError as exc:
        return [], f"(no swimlane: {exc})"
    except Exception as exc:  # the report is still written; the picture says why it is missing
        return [], f"(no swimlane: the reproducer raised {exc!r} on the suite's loop)"
    return (traces, "") if reproduces else ([], "")


def schedule_title(finding: Finding, n: int) -> str:
    """What the ``n``-th trace of :func:`reproducer_traces` is a picture of."""
    if finding.schedules is not None:
        return (
            "a controlled schedule of the reproducer's threads that shows it, without its hooks "
            "(one column per OS thread, a row per switch point: a line of Stageflow's code)"
        )
    return (
        f"the reproducer's schedule (its asyncio.run call {n}; line numbers are those of the "
        "finding's module in the suite)"
    )


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
    versions = sorted(records, key=_version_key)

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
