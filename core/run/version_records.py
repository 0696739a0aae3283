"""Where verify keeps its record of one Stageflow: ``reports/versions/<label>/``.

A release installed by pip is recorded under its version (``1.2.0``), and ``make verify-all``'s
table and ``reports/findings.md``'s measured versions read those records. Any other source tree
(``SUT=PATH``, ``PYTHONPATH=DIR``, a mutant's copy) is recorded under its version, ``+path`` and
a digest of the tree: its resolved path and the name and bytes of every file under the package
(``1.2.0+path-3fa9c1d2e4b5``). Two trees of one version, or one tree before and after an edit,
therefore get records of their own instead of overwriting (or, with ``CHECKS=``, merging into)
each other's; the ``+`` keeps every tree out of the released versions' columns.

For example::

    write_version_record(report, reports / "versions" / record_label(sf))
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from stageflow_verify.core.run.checks import Finding
from stageflow_verify.core.sut import stageflow_label, stageflow_path

# Twelve hex digits: enough that two trees verified side by side never collide by chance.
_DIGEST_LENGTH = 12


def tree_digest(package: Path) -> str:
    """A hash of the package's resolved path and of every file under it (bytecode caches aside,
    since importing the tree writes them)."""
    digest = hashlib.sha256(str(package.resolve()).encode())
    for path in sorted(package.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(b"\0" + str(path.relative_to(package)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:_DIGEST_LENGTH]


def record_label(sf: ModuleType) -> str:
    """The directory name under ``reports/versions/`` of this Stageflow's record."""
    label = stageflow_label(sf)
    if "+" not in label:
        return label  # the release pip installed
    return f"{label}-{tree_digest(Path(stageflow_path(sf)))}"


# --- reading the records back: which releases a finding was measured on ----------------------

Records = Mapping[str, Mapping[str, str]]  # version label -> {row name: status}


def load_records(reports_dir: Path) -> dict[str, dict[str, str]]:
    records: dict[str, dict[str, str]] = {}
    for path in sorted((reports_dir / "versions").glob("*/verify.json")):
        rows = json.loads(path.read_text())["checks"]
        records[path.parent.name] = {row["name"]: row["status"] for row in rows}
    return records


def version_key(label: str) -> tuple[int, ...]:
    release = label.partition("+")[0]
    return tuple(int(p) if p.isdigit() else -1 for p in release.split("."))


def versions_with(records: Records, row: str, status: str) -> list[str]:
    """The version labels whose record has ``row`` at ``status``, oldest first."""
    found = [label for label, rows in records.items() if rows.get(row) == status]
    return sorted(found, key=version_key)


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
        for v in sorted(declared ^ measured, key=version_key)
    ]
    return "; ".join(wrong) + " (`make verify-all` measures every release)"
