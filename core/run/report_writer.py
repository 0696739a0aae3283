"""The one door every report file of verify, nightly and verify-all goes through.

Reports are read while runs write them (a browser open on ``reports/index.html``, CI collecting
``reports/``), so how a file is written is a policy worth keeping in one place: change it here and
every report follows. It is an atomic write (``core.run.report_files.atomic_write_text``: a
temporary file beside the target, then ``os.replace``), so a reader or a killed run never sees or
leaves half a report.
"""

from __future__ import annotations

from pathlib import Path

from stageflow_verify.core.run.report_files import atomic_write_text


def write_report_file(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (UTF-8), making its folder first; returns ``path``.

    For example::

        write_report_file(Path("reports/index.html"), page)
    """
    atomic_write_text(path, text)
    return path
