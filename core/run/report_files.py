"""Report files that never look current when they are not: atomic writes and a RUNNING marker.

Two ways a report can lie. A run killed while writing leaves half a file; ``atomic_write_text``
writes a temporary file beside the target and ``os.replace``s it in, so a reader sees the old
report or the new one, never a mix. A run killed before it writes anything leaves the *previous*
run's reports in place, looking current; :func:`running_marker` guards a whole run against that:

- on entry it writes ``<reports>/RUNNING`` (JSON: pid, target, argv, start time) and marks the
  reports the run is about to replace as superseded: each JSON gets ``"complete": false`` and a
  ``"superseded_by"`` naming this run, each Markdown or HTML page a banner saying the same;
- the run then writes its reports with ``"complete": true`` (:func:`completed`);
- on a normal exit it removes ``RUNNING``. On an exception, Ctrl-C included, the marker stays:
  a ``RUNNING`` whose pid is no longer alive is a run that was killed or crashed, and the reports
  it left marked superseded say so themselves.

A target that starts other targets (``verify-all`` runs verify per version, ``reach`` runs
verify in-process) holds the outer marker; the inner runs see ``STAGEFLOW_VERIFY_RUN`` in their
environment and only mark their own reports, so the outer ``RUNNING`` stays until the outer
run ends.

For example::

    with running_marker(Path("reports"), "verify", ("verify.json", "verify.md")):
        atomic_write_text(Path("reports/verify.json"), json.dumps(completed(data)))
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MARKER = "RUNNING"
# Set while a marker is held, so nested runs (subprocesses included) leave RUNNING to the outer.
OUTER_RUN_ENV = "STAGEFLOW_VERIFY_RUN"
SUPERSEDED_BANNER = "> **SUPERSEDED**: "


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old or the new file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def completed(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as a finished run writes it: ``"complete": true`` first, nothing superseded."""
    return {"complete": True, **{k: v for k, v in data.items() if k != "superseded_by"}}


def _run_description(target: str) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"pid": os.getpid(), "target": target, "argv": sys.argv, "started": started}


def _mark_superseded(path: Path, run: dict[str, Any]) -> None:
    if not path.is_file():
        return
    why = f"run {run['target']} (pid {run['pid']}) started {run['started']} is replacing this"
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = None  # half written by a run older than atomic writes: not ours to repair
        if isinstance(data, dict):
            atomic_write_json(path, {**data, "complete": False, "superseded_by": run})
            return
    text = path.read_text(errors="replace")
    if path.suffix == ".html":
        # After <body>, so the page keeps its doctype and shows the banner first.
        banner = f"<p><strong>SUPERSEDED</strong>: {why}; if it was killed, this is stale.</p>"
        if "<strong>SUPERSEDED</strong>" not in text:
            head, body, rest = text.partition("<body>")
            atomic_write_text(path, head + body + banner + rest if body else banner + text)
        return
    if not text.startswith(SUPERSEDED_BANNER):
        banner = f"{SUPERSEDED_BANNER}{why}; if it was killed, this report is stale.\n\n"
        atomic_write_text(path, banner + text)


@contextmanager
def running_marker(reports: Path, target: str, replaced: Sequence[str]) -> Iterator[None]:
    """Hold ``reports/RUNNING`` for the run and mark ``replaced`` (names under ``reports``)
    superseded until the run writes them again; see the module docstring."""
    run = _run_description(target)
    for name in replaced:
        _mark_superseded(reports / name, run)
    if os.environ.get(OUTER_RUN_ENV):
        yield  # an outer run holds RUNNING
        return
    marker = reports / MARKER
    atomic_write_json(marker, run)
    os.environ[OUTER_RUN_ENV] = str(os.getpid())
    try:
        yield
    finally:
        os.environ.pop(OUTER_RUN_ENV, None)
    # Only reached on a normal exit: after an exception the marker says the run never finished.
    marker.unlink(missing_ok=True)
