"""make help lists every target of the Makefile, every checked variable and every exit code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from stageflow_verify.core.run.help import render, tables
from stageflow_verify.core.run.variables import RULES

ROOT = Path(__file__).resolve().parents[2]


def test_make_help_lists_every_target_variable_and_exit_code() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    makefile = (ROOT / "Makefile").read_text()
    phony = {t for line in re.findall(r"^\.PHONY: (.*)$", makefile, re.M) for t in line.split()}
    listed = set(re.findall(r"^  make ([a-z-]+)", done.stdout, re.M))
    assert phony - {"venv"} <= listed, sorted(phony - listed)
    variables = set(re.findall(r"^  ([A-Z_]+) ", done.stdout, re.M))
    assert set(RULES) <= variables, sorted(set(RULES) - variables)
    for command in ("make verify", "make nightly", "make contracts", "make mutation"):
        assert re.search(rf"^  {command}\b.* 0 / 1", done.stdout, re.M), command


def test_a_table_missing_from_the_readme_prints_its_heading_and_nothing_else() -> None:
    readme = "| target | what it does |\n|---|---|\n| `make x` | does **x**; then more |\n"
    assert tables(readme)["Exit codes:"] == []
    assert "  make x  does x\n" in render(readme) + "\n"
