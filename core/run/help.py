"""``make help``: the targets, the variables and the exit codes, read from the README's tables.

The README is the one place these are written down (``tests/cover/test_bad_input.py`` holds the
variables to it, ``tests/cover/test_help.py`` the targets and codes), so ``make help`` prints its
tables rather than a second copy that would drift. Each table row is one line: a name, then the
first sentence of what it does. Standard library only: make runs it with the system Python,
before any virtualenv exists.
"""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
WIDTH = 120  # characters of a description shown; the README has the rest
# The header of each table printed, and the heading printed above it.
TABLES = {
    "| target | what it does |": "Targets (make TARGET):",
    "| variable | read by | what it sets |": "Variables (make TARGET NAME=VALUE):",
    "| command | code | meaning |": "Exit codes:",
}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _plain(text: str) -> str:
    # Markdown to terminal: no backticks or bold, and only the first clause, at most a line.
    text = text.replace("`", "").replace("**", "")
    first, depth = text, 0
    for n, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith("; ", n):  # a clause ends outside parentheses
            first = text[:n]
            break
    return first if len(first) <= WIDTH else first[: WIDTH - 1] + "…"


def tables(readme: str) -> dict[str, list[list[str]]]:
    """Each wanted table's rows (cells), by its printed heading; a table missing is empty."""
    found: dict[str, list[list[str]]] = {heading: [] for heading in TABLES.values()}
    lines = readme.splitlines()
    for n, line in enumerate(lines):
        heading = TABLES.get(line.strip())
        if heading is None:
            continue
        for row in lines[n + 2 :]:
            if not row.startswith("|"):
                break
            found[heading].append(_cells(row))
    return found


def render(readme: str) -> str:
    out: list[str] = []
    for heading, rows in tables(readme).items():
        out += ["", heading]
        width = max((len(_plain(r[0])) for r in rows), default=0)
        for row in rows:
            rest = "  ".join(_plain(cell) for cell in row[1:])
            out.append(f"  {_plain(row[0]):<{width}}  {rest}")
    out += ["", "More: README.md (every target, variable and report file in full)."]
    return "\n".join(out).lstrip("\n")


def main() -> int:
    print(render(README.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
