"""``reports/findings.md``: every known finding, where it reproduces, and how to see it yourself.

Verify writes this file after every run. Each finding gets its id, title, promise and observation,
its affected versions, a runnable reproducer, the replay commands and, for a finding about an
interleaving, the swimlane of its shrunk schedule.

*Affected versions* are measured, not declared: verify keeps one record per Stageflow version it
ran on (``reports/versions/<version>/verify.json``), and a finding affects a version when its row
there is KNOWN. The versions a finding declares in the registry are printed beside the measured
ones, and a disagreement is spelled out, so a stale declaration cannot pass for a measurement.
Records of source trees (``SUT=PATH``, labelled ``<version>+path``) are listed apart: a modified
copy is not a release.

The reproducer is the finding's own ``reproduce`` function, printed with what it needs from its
module (helper functions, constants, imports), after ``import stageflow as sf``; the snippet ends
by calling it, so pasting it into ``python`` prints True while the finding reproduces.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any
from uuid import UUID

from core.run.checks import Finding

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


# --- the runnable snippet ----------------------------------------------------------------------


class _NamesRead(ast.NodeVisitor):
    # Names read anywhere in the source, defaults included (bytecode would miss them: they are
    # evaluated at def time). Annotations are skipped: the snippet's future import leaves them
    # unevaluated. A local that shadows a global only adds a harmless extra definition.
    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.names[node.id] = None

    def visit_arg(self, node: ast.arg) -> None:
        pass

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in (*node.decorator_list, node.args, *node.body):
            self.visit(child)

    visit_AsyncFunctionDef = visit_FunctionDef


def _global_names(fn: FunctionType) -> list[str]:
    reader = _NamesRead()
    reader.visit(ast.parse(textwrap.dedent(inspect.getsource(fn))))
    return [n for n in reader.names if n in fn.__globals__ or hasattr(builtins, n)]


def _constant(name: str, value: Any, imports: set[str]) -> str | None:
    if isinstance(value, UUID):
        imports.add("from uuid import UUID")
        return f"{name} = UUID(int={value.int})"
    if value is None or isinstance(value, bool | int | float | str | tuple | frozenset):
        return f"{name} = {value!r}"
    return None


def _collect(
    fn: FunctionType, imports: set[str], definitions: dict[str, str], seen: set[str]
) -> None:
    module = fn.__module__
    for name in _global_names(fn):
        if name in seen or (name not in fn.__globals__ and hasattr(builtins, name)):
            continue
        seen.add(name)
        value = fn.__globals__.get(name)
        if isinstance(value, ModuleType):
            alias = "" if value.__name__ == name else f" as {name}"
            imports.add(f"import {value.__name__}{alias}")
        elif isinstance(value, FunctionType | type) and value.__module__ == module:
            if isinstance(value, FunctionType):
                _collect(value, imports, definitions, seen)
            definitions[name] = textwrap.dedent(inspect.getsource(value))
        elif callable(value) and hasattr(value, "__module__") and hasattr(value, "__name__"):
            imports.add(f"from {value.__module__} import {value.__name__}")
        else:
            line = _constant(name, value, imports)
            if line is None:
                raise ValueError(f"cannot print {name}={value!r} needed by {fn.__qualname__}")
            definitions[name] = line


def reproducer_source(finding: Finding) -> str:
    """A runnable script: ``import stageflow as sf``, what the reproducer needs, the call."""
    fn = finding.reproduce
    if not isinstance(fn, FunctionType):
        raise TypeError(f"{finding.id}: reproduce is {fn!r}, not a plain function")
    imports: set[str] = set()
    definitions: dict[str, str] = {}
    _collect(fn, imports, definitions, {fn.__name__})
    # The future import keeps the reproducer's annotations (ModuleType, Any) unevaluated.
    header = ["from __future__ import annotations", "", "import stageflow as sf", *sorted(imports)]
    constants = [d for d in definitions.values() if "\n" not in d.strip()]
    bodies = [d.rstrip() for d in definitions.values() if "\n" in d.strip()]
    parts = [
        "\n".join(header),
        "\n".join(constants),
        *bodies,
        textwrap.dedent(inspect.getsource(fn)).rstrip(),
        f'print("{finding.id} reproduces:", {fn.__name__}(sf))',
    ]
    return "\n\n\n".join(p for p in parts if p) + "\n"


# --- the report --------------------------------------------------------------------------------


def _listing(labels: Iterable[str]) -> str:
    return ", ".join(labels) or "none"


def render_finding(finding: Finding, records: Records, check_status: Callable[[str], str]) -> str:
    row = f"finding.{finding.id}"
    measured = measured_versions(records, finding)
    trees = [v for v in versions_with(records, row, "KNOWN") if "+" in v]
    lines = [
        f"## {finding.id}: {finding.title}",
        "",
        f"- affected versions (measured): **{_listing(measured)}**",
    ]
    for status, meaning in (("FIXED", "not reproduced"), ("N/A", "not applicable"),
                            ("NEW", "reproducer crashed in Stageflow"),
                            ("ERROR", "not judged (the suite could not drive it)")):  # fmt: skip
        labels = versions_with(records, row, status)
        if labels:
            lines.append(f"- {meaning} on: {_listing(labels)}")
    lines.append(f"- declared in the registry: {_listing(finding.versions)}")
    if trees:
        lines.append(f"- also reproduced on source trees: {_listing(trees)}")
    if records and set(finding.versions) != set(measured):
        lines.append(
            "- **the declaration disagrees with the measurement**: set "
            f"`versions={measured!r}` in the finding, or verify the missing versions"
        )
    lines += [
        f"- check: `{finding.check}` ({check_status(finding.check)})",
        f"- promise: {finding.promise}",
        f"- observed: {finding.observed}",
        "",
        "Reproducer (prints True while the finding reproduces):",
        "",
        "```python",
        reproducer_source(finding).rstrip(),
        "```",
        "",
        f"Replay: `make verify CHECKS='{row}'` (on another release: "
        f"`make verify STAGEFLOW=0.5.1 CHECKS='{row}'`); the check that finds it: "
        f"`make verify CHECKS='{finding.check}'`.",
    ]
    if finding.swimlane:
        lines += ["", "Swimlane of the shrunk schedule:", "", "```", finding.swimlane, "```"]
    return "\n".join(lines)


def render_findings_report(findings: Iterable[Finding], records: Records) -> str:
    findings = sorted(findings, key=lambda f: f.id)
    versions = sorted(records, key=_version_key)

    def check_status(check: str) -> str:
        statuses = [f"{v}: {records[v].get(check, 'not run')}" for v in versions]
        return "; ".join(statuses) or "not run yet"

    lines = [
        "# Stageflow findings",
        "",
        "Generated by `make verify` from the per-version records in `reports/versions/`"
        f" (versions verified: {_listing(versions)}). `make verify-all` refreshes every version.",
        "",
        "| id | title | affected versions (measured) | declared |",
        "|---|---|---|---|",
        *(
            f"| {f.id} | {f.title} | {_listing(measured_versions(records, f))} | "
            f"{_listing(f.versions)} |"
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
    return "\n".join(lines) + "\n"


def write_findings_report(findings: Iterable[Finding], reports_dir: Path) -> Path:
    path = reports_dir / "findings.md"
    path.write_text(render_findings_report(findings, load_records(reports_dir)))
    return path
