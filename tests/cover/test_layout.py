"""core/ keeps its four rooms and one direction of imports (core/__init__.py draws the map).

Every import statement of every module counts, including those inside functions (a lazy
import is still an arrow). The rules:

- no module lives in core/ itself, only in its subpackages;
- ``sched`` and ``check`` import neither ``run`` nor ``sut``: the scheduler and the checker
  work for any asyncio code and any history, not only Stageflow's;
- ``sut`` does not import ``run``: the adapter is below the runners, never beside them;
- only ``sut`` imports stageflow, in core/ and in models/ (the models are pure Python).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
ROOMS = ("sched", "check", "run", "sut")
FORBIDDEN = {
    "sched": ("core.run", "core.sut", "stageflow"),
    "check": ("core.run", "core.sut", "stageflow"),
    "sut": ("core.run",),
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
    forbidden = ("stageflow", "core.run", "core.sut", "stateful", "properties")
    found = [v for p in sorted((ROOT / "models").rglob("*.py")) for v in violations(p, forbidden)]
    assert found == [], "\n".join(found)


def test_the_rule_sees_a_lazy_import(tmp_path: Path) -> None:
    # The check itself can fail: an import inside a function is found, with its line.
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from core.run.checks import Check\n    import stageflow\n")
    assert violations(module, FORBIDDEN["sched"]) == [
        f"{module}:2 imports core.run.checks",
        f"{module}:2 imports core.run.checks.Check",
        f"{module}:3 imports stageflow",
    ]
