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
from pathlib import Path
from types import ModuleType

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
