"""The packaging rename edits imports and module-name strings only, and is idempotent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stageflow_verify.core.run import rename_imports
from stageflow_verify.core.run.rename_imports import main, rewrite_python, rewrite_text

BEFORE = '''"""Docstring naming core.run.verify stays as it is."""
import core.run.checks as registry

# a comment line, then a blank line, before the next import
import os, models.values
from core.sut import stageflow_module
from models import graph_run  # a comment about core.x stays
from . import sibling
from stageflow import core

CHECKS = ("stateful", "properties")
TARGET = "core.sut.values"
COMMAND = [PYTHON, "-m", "core.run.verify"]
SHELL = "python -m models.values --fast"


def walk(core):
    yield from core
'''

AFTER = '''"""Docstring naming core.run.verify stays as it is."""
import stageflow_verify.core.run.checks as registry

# a comment line, then a blank line, before the next import
import os, stageflow_verify.models.values
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.models import graph_run  # a comment about core.x stays
from . import sibling
from stageflow import core

CHECKS = ("stateful", "properties")
TARGET = "stageflow_verify.core.sut.values"
COMMAND = [PYTHON, "-m", "stageflow_verify.core.run.verify"]
SHELL = "python -m stageflow_verify.models.values --fast"


def walk(core):
    yield from core
'''


def test_imports_and_module_strings_are_renamed_and_nothing_else() -> None:
    assert rewrite_python(BEFORE) == AFTER


def test_the_rename_is_idempotent() -> None:
    assert rewrite_python(AFTER) == AFTER
    text = (
        "\t$(PY) -m stageflow_verify.core.run.verify\nfrom core.sut.user import explore_pipeline\n"
    )
    once = rewrite_text(text)
    assert once == (
        "\t$(PY) -m stageflow_verify.core.run.verify\n"
        "from stageflow_verify.core.sut.user import explore_pipeline\n"
    )
    assert rewrite_text(once) == once


def test_check_mode_reports_what_is_left_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    module = tmp_path / "core" / "m.py"
    module.write_text("from core.run import checks\n")
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert module.read_text() == "from core.run import checks\n"
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--check", "--root", str(tmp_path)]) == 0
    assert module.read_text() == "from stageflow_verify.core.run import checks\n"


def test_pyproject_gets_the_packaging_of_every_subpackage_once(tmp_path: Path) -> None:
    for folder in ("core/run", "models", "properties", "stateful"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "core" / "__init__.py").write_text("")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n\n[tool.setuptools]\npackages = ["core"]\n\n[tool.ruff]\n'
    )
    assert main(["--root", str(tmp_path)]) == 0
    text = pyproject.read_text()
    assert '"stageflow_verify.core.run",' in text
    assert '"stageflow_verify.core" = "core"' in text
    assert 'stageflow-verify = "stageflow_verify.core.run.cli:main"' in text
    assert text.index("[project]") < text.index("[tool.setuptools]") < text.index("[tool.ruff]")
    assert main(["--check", "--root", str(tmp_path)]) == 0  # written once: idempotent


def test_a_plugin_loaded_by_name_follows_the_rename() -> None:
    text = "`python -m pytest -p stageflow_verify.core.run.pytest_plugin --stageflow-verify`\n"
    once = rewrite_text(text)
    assert (
        once == "`python -m pytest -p stageflow_verify.core.run.pytest_plugin --stageflow-verify`\n"
    )
    assert rewrite_text(once) == once


def test_the_changed_files_are_sorted_and_formatted_as_lint_checks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The longer name moves an import out of the third-party block and past 100 columns.
    (tmp_path / "core").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ruff]\nline-length = 100\n\n"
        '[tool.ruff.lint.isort]\nknown-first-party = ["stageflow_verify"]\n'
    )
    module = tmp_path / "core" / "m.py"
    untouched = tmp_path / "core" / "n.py"
    untouched.write_text("import os,sys\n")
    module.write_text(
        "from core.run.checks import SUITE_ROOT, discover_checks, discover_findings, watchdog\n"
        "import pytest\n"
    )
    monkeypatch.setattr(
        rename_imports, "ruff", lambda root: str(Path(sys.executable).with_name("ruff"))
    )
    assert main(["--root", str(tmp_path)]) == 0
    assert module.read_text() == (
        "import pytest\n\n"
        "from stageflow_verify.core.run.checks import (\n"
        "    SUITE_ROOT,\n    discover_checks,\n    discover_findings,\n    watchdog,\n)\n"
    )
    assert untouched.read_text() == "import os,sys\n"  # only what the rename changed
