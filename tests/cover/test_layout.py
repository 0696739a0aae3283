"""core/ keeps its four rooms and one direction of imports (core/__init__.py draws the map).

Every import statement of every module counts, including those inside functions (a lazy
import is still an arrow). The rules:

- no module lives in core/ itself, only in its subpackages;
- ``sched`` and ``check`` import neither ``run`` nor ``sut``: the scheduler and the checker
  work for any asyncio code and any history, not only Stageflow's;
- ``sut`` does not import ``run``: the adapter is below the runners, never beside them;
- only ``sut`` imports stageflow, in core/ and in models/ (the models are pure Python);
- every import of the suite's own modules names them under the one import name the package
  installs (``stageflow_verify.core...``): a bare ``core`` works in a checkout and fails once
  installed (``python3 core/run/rename_imports.py --check`` finds none left).

The names are spelled with :data:`core.run.checks.SUITE_ROOT`, the prefix this module itself is
imported under, so the rules hold before and after the packaging rename.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from stageflow_verify.core.run.checks import SUITE_ROOT
from stageflow_verify.core.run.rename_imports import main as rename_imports

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
ROOMS = ("sched", "check", "run", "sut")
RUN, SUT = f"{SUITE_ROOT}core.run", f"{SUITE_ROOT}core.sut"
FORBIDDEN = {
    "sched": (RUN, SUT, "stageflow"),
    "check": (RUN, SUT, "stageflow"),
    "sut": (RUN,),
    "run": ("stageflow",),
}


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Each absolute module name ``path`` imports, with its line (``from a import b`` gives
    ``a`` and ``a.b``, since ``b`` may be a submodule)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def violations(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line} imports {name}"
        for line, name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_core_holds_only_its_subpackages() -> None:
    loose = sorted(p.name for p in CORE.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules directly in core/: {loose}; put each in one of {ROOMS}"
    rooms = sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").exists())
    assert rooms == sorted(ROOMS)


@pytest.mark.parametrize("room", ROOMS)
def test_imports_run_one_way(room: str) -> None:
    found = [v for p in sorted((CORE / room).rglob("*.py")) for v in violations(p, FORBIDDEN[room])]
    assert found == [], "\n".join(found)


def test_models_are_pure() -> None:
    forbidden = ("stageflow", RUN, SUT, f"{SUITE_ROOT}stateful", f"{SUITE_ROOT}properties")
    found = [v for p in sorted((ROOT / "models").rglob("*.py")) for v in violations(p, forbidden)]
    assert found == [], "\n".join(found)


def test_the_rule_sees_a_lazy_import(tmp_path: Path) -> None:
    # The check itself can fail: an import inside a function is found, with its line.
    module = tmp_path / "m.py"
    module.write_text(f"def f():\n    from {RUN}.checks import Check\n    import stageflow\n")
    assert violations(module, FORBIDDEN["sched"]) == [
        f"{module}:2 imports {RUN}.checks",
        f"{module}:2 imports {RUN}.checks.Check",
        f"{module}:3 imports stageflow",
    ]


def test_every_import_names_the_one_import_name(capsys: pytest.CaptureFixture[str]) -> None:
    # A module merged after the packaging rename, still importing `core.x`: run the rename.
    assert SUITE_ROOT, "the suite runs unpackaged: `make venv` installs it (pip install -e .)"
    left = rename_imports(["--check"])
    assert left == 0, (
        f"not renamed yet, run python3 core/run/rename_imports.py:\n{capsys.readouterr().out}"
    )
