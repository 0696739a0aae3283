"""The one door every report file of verify, nightly and verify-all goes through.

Reports are read while runs write them (a browser open on ``reports/index.html``, CI collecting
``reports/``), so how a file is written is a policy worth keeping in one place: change it here and
every report follows. Today it is a plain write of UTF-8 text, creating the folder if needed.
"""

from __future__ import annotations

from pathlib import Path


def write_report_file(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (UTF-8), making its folder first; returns ``path``.

    For example::

        write_report_file(Path("reports/index.html"), page)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
