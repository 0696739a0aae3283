"""Rename the suite's packages under one import name: ``core.x`` to ``stageflow_verify.core.x``.

Packaging (issue 20) installs the four top-level folders as ``stageflow_verify.core``,
``stageflow_verify.models``, ``stageflow_verify.properties`` and ``stageflow_verify.stateful``
(``pyproject.toml`` maps them with ``package-dir``; the folders stay where they are). Every
module imports its siblings absolutely, so every such import, and every module name spelled
in a string (``-m core.run.verify`` in a subprocess, ``"core.sut.values"`` given to
``importlib``), has to say the new name. This script makes that edit, and only that edit:

- ``import core.x`` / ``from core.x import y`` / ``from models import z``: the first name
  of an absolute import is prefixed when it is one of the four packages;
- a string literal that is exactly a dotted module name of those packages (``"core.run"``,
  ``"models.values"``) is prefixed; a bare folder name (``"core"``) is left alone, since the
  suite uses those as directory names too;
- ``-m core.`` and ``-p core.`` (a module run, a pytest plugin loaded by name; and the other
  three) inside any string literal, and in ``Makefile``, ``.ci/run`` and ``README.md``, is
  prefixed, as is a line of those three files that starts ``from core.``/``import core.`` (the
  README's examples).

Then, when the checkout's ruff is there (``.venv/bin/ruff``, else one on ``PATH``) and
``pyproject.toml`` configures it, the Python files it changed get ruff's import sorting
(``ruff check --select I --fix``) and ``ruff format``: a longer name moves imports between
blocks and past the line length, and ``make lint`` must pass on the commit as written.
``--no-format`` skips that step.

It also writes the packaging sections of ``pyproject.toml`` (the console script, the pytest11
entry point, the package list from the folders' ``__init__.py`` files, the ``package-dir`` map).
It reads tokens (``tokenize``), never regular expressions over whole lines, so comments and
docstrings are untouched, and it is idempotent: a name already prefixed is not a match. It
needs only the standard library and no import of the suite, so it runs before and after the
rename alike:

    python3 core/run/rename_imports.py          # rewrite in place, print the files changed
    python3 core/run/rename_imports.py --check  # exit 1 if anything is left to rewrite
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import tokenize
from collections.abc import Iterator, Sequence
from pathlib import Path

PREFIX = "stageflow_verify"
PACKAGES = ("core", "models", "properties", "stateful")
PYTHON_ROOTS = (*PACKAGES, "tests")
TEXT_FILES = ("Makefile", ".ci/run", "README.md")
_DOTTED = re.compile(rf"^(['\"])((?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+)\1$")
_DASH_M = re.compile(rf"(-[mp]\s+)(?=(?:{'|'.join(PACKAGES)})\.)")
# In Makefile, .ci/run and the README's code blocks: `from core.x import y` at a line's start.
_TEXT_IMPORT = re.compile(rf"^(\s*(?:from|import)\s+)(?=(?:{'|'.join(PACKAGES)})[\s.])", re.M)


def rewrite_python(source: str) -> str:
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    for index, token in enumerate(tokens):
        if (
            token.type == tokenize.NAME
            and token.string in PACKAGES
            and _starts_import(tokens, index)
        ):
            edits.append((token.start, token.end, f"{PREFIX}.{token.string}"))
        elif token.type == tokenize.STRING:
            new = _rewrite_string(token.string)
            if new != token.string:
                edits.append((token.start, token.end, new))
    return _apply(source, edits)


def _starts_import(tokens: Sequence[tokenize.TokenInfo], index: int) -> bool:
    # The name right after `import` or `from` (absolute), or after a comma of `import a, b`.
    before = _previous_significant(tokens, index)
    if before is None:
        return False
    if before.string == "from":  # not `yield from core` or `raise x from core`
        return _statement_keyword(tokens, index) == "from"
    if before.string == "import":
        return _statement_keyword(tokens, index) == "import"
    if before.string == ",":
        return _statement_keyword(tokens, index) == "import"
    return False


def _previous_significant(
    tokens: Sequence[tokenize.TokenInfo], index: int
) -> tokenize.TokenInfo | None:
    for token in reversed(tokens[:index]):
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            return token
    return None


def _statement_keyword(tokens: Sequence[tokenize.TokenInfo], index: int) -> str:
    # The first token of the logical line: `import` (rename every name) or `from` (only the
    # module, never what is imported from it).
    first = tokens[index]
    for token in reversed(tokens[:index]):
        if token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            break
        if token.type not in (tokenize.NL, tokenize.COMMENT):  # blank lines, comments above
            first = token
    return first.string


def _rewrite_string(literal: str) -> str:
    match = _DOTTED.match(literal)
    if match:
        quote, name = match.groups()
        return f"{quote}{PREFIX}.{name}{quote}"
    return _DASH_M.sub(rf"\g<1>{PREFIX}.", literal)


def _apply(source: str, edits: list[tuple[tuple[int, int], tuple[int, int], str]]) -> str:
    lines = source.splitlines(keepends=True)
    for (row, col), (end_row, end_col), text in reversed(edits):
        if row != end_row:  # a multi-line string that is a module name does not exist
            continue
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[end_col:]
    return "".join(lines)


def rewrite_text(text: str) -> str:
    text = _TEXT_IMPORT.sub(rf"\g<1>{PREFIX}.", text)
    return _DASH_M.sub(rf"\g<1>{PREFIX}.", text)


# The pyproject sections the packaging owns; rewritten whole from the folders as they are, so a
# subpackage added later is listed on the next run.
_PACKAGING_SECTIONS = (
    "[project.scripts]",
    "[project.entry-points.pytest11]",
    "[tool.setuptools]",
    "[tool.setuptools.package-dir]",
    "[tool.setuptools.package-data]",
    "[build-system]",
)


def packaging(root: Path) -> str:
    """The packaging sections: one import name, the folders mapped where they are."""
    names = sorted(
        ".".join((PREFIX, *init.parent.relative_to(root).parts))
        for folder in PACKAGES
        for init in (root / folder).rglob("__init__.py")
        if "__pycache__" not in init.parts
    )
    listed = "".join(f'    "{name}",\n' for name in names)
    mapped = "".join(f'"{PREFIX}.{folder}" = "{folder}"\n' for folder in PACKAGES)
    return (
        f'[project.scripts]\nstageflow-verify = "{PREFIX}.core.run.cli:main"\n\n'
        f'[project.entry-points.pytest11]\n{PREFIX} = "{PREFIX}.core.run.pytest_plugin"\n\n'
        "# One import name, the folders where they are: stageflow_verify is a namespace package\n"
        "# whose subpackages are the top-level folders (written by core/run/rename_imports.py).\n"
        "# tests/ stays out: mutation and the benches need a checkout.\n"
        f"[tool.setuptools]\npackages = [\n{listed}]\n\n"
        f"[tool.setuptools.package-dir]\n{mapped}\n"
        f'[tool.setuptools.package-data]\n"{PREFIX}.core.sched" = ["SCHEDULER.md"]\n\n'
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
    )


def rewrite_pyproject(text: str, root: Path) -> str:
    # Sections are split at lines that open one; ours are dropped and written once, where
    # [tool.setuptools] stood (else at the end).
    sections = re.split(r"(?m)^(?=\[)", text)
    kept: list[str] = []
    at: int | None = None
    for section in sections:
        header = section.split("\n", 1)[0].strip()
        if header in _PACKAGING_SECTIONS:
            at = len(kept) if at is None else at
            continue
        kept.append(section)
    block = packaging(root) + "\n"
    kept.insert(len(kept) if at is None else at, block)
    return "".join(kept).rstrip("\n") + "\n"


def files(root: Path) -> Iterator[tuple[Path, bool]]:
    """Every file the rename touches, with whether it is Python."""
    for folder in PYTHON_ROOTS:
        for path in sorted((root / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path, True
    for name in TEXT_FILES:
        if (root / name).exists():
            yield root / name, False


def ruff(root: Path) -> str | None:
    """The ruff that formats the checkout: its venv's, else one on PATH; None without one."""
    pyproject = root / "pyproject.toml"
    if not pyproject.exists() or "[tool.ruff" not in pyproject.read_text():
        return None
    local = root / ".venv" / "bin" / "ruff"
    return str(local) if local.exists() else shutil.which("ruff")


def tidy(root: Path, paths: Sequence[Path]) -> None:
    """Sort the imports of ``paths`` and format them, as ``make lint`` will check them."""
    tool = ruff(root)
    if tool is None or not paths:
        return
    names = [str(p) for p in paths]
    subprocess.run([tool, "check", "--quiet", "--select", "I", "--fix", *names], cwd=root)
    subprocess.run([tool, "format", "--quiet", *names], cwd=root)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 core/run/rename_imports.py", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="report, do not write; exit 1 if needed"
    )
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    parser.add_argument(
        "--no-format", action="store_true", help="leave the changed files unsorted, unformatted"
    )
    args = parser.parse_args(argv)
    changed = []
    for path, is_python in files(Path(args.root)):
        old = path.read_text()
        new = rewrite_python(old) if is_python else rewrite_text(old)
        if new != old:
            changed.append(path)
            if not args.check:
                path.write_text(new)
    pyproject = Path(args.root) / "pyproject.toml"
    if pyproject.exists():
        old = pyproject.read_text()
        new = rewrite_pyproject(old, Path(args.root))
        if new != old:
            changed.append(pyproject)
            if not args.check:
                pyproject.write_text(new)
    if not args.check and not args.no_format:
        tidy(Path(args.root), [p for p in changed if p.suffix == ".py"])
    for path in changed:
        print(path.relative_to(args.root))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
