"""A finding's reproducer as a standalone script a maintainer can paste.

The reproducer is the finding's own ``reproduce`` function, printed with what it needs (helper
functions of the suite it calls, constants, and every import its code and annotations name, as
its module imports them), after ``import stageflow as sf``. The script ends by calling it: it
prints ``VIOLATION: <id>: ...`` and exits 1 while the finding reproduces, and exits 0 once it does
not, so it pastes as a plain program and as a bisect test (``reports/findings.md``,
``reports/issues/<id>.md`` and the HTML report print it; ``tests/cover/test_reproducer_scripts.py``
runs each one and holds it to ruff).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import textwrap
from types import FunctionType, ModuleType
from typing import Any
from uuid import UUID

from stageflow_verify.core.run.checks import SUITE_ROOT, Finding


class _NamesRead(ast.NodeVisitor):
    # Names read anywhere in the source, defaults and annotations included (bytecode would miss
    # both: defaults are evaluated at def time, and the future import leaves annotations
    # unevaluated, yet a linter still resolves them: `Any` unimported is F821). A local that
    # shadows a global only adds a harmless extra definition.
    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.names[node.id] = None


def _global_names(fn: FunctionType | type) -> list[str]:
    reader = _NamesRead()
    reader.visit(ast.parse(textwrap.dedent(inspect.getsource(fn))))
    scope = _scope(fn)
    return [n for n in reader.names if n in scope or hasattr(builtins, n)]


def _scope(value: FunctionType | type) -> dict[str, Any]:
    if isinstance(value, FunctionType):
        return value.__globals__
    return vars(inspect.getmodule(value))


# The packages of this suite: a helper defined in one of them is printed into the script (a
# reproducer may use another findings module's helper); anything else is imported.
_SUITE_PACKAGES = ("stateful", "properties", "models", "core")


def _is_suite(module: str) -> bool:
    return module.removeprefix(SUITE_ROOT).partition(".")[0] in _SUITE_PACKAGES


def _module_imports(module_name: str) -> dict[str, str]:
    """name -> the import statement that binds it at the top level of ``module_name``: how a
    script gets ``Any`` or ``ModuleType`` exactly as the reproducer's own module does."""
    module = importlib.import_module(module_name)
    bound: dict[str, str] = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = f"import {alias.name} as {alias.asname}"
                else:
                    top = alias.name.partition(".")[0]
                    bound.setdefault(top, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "__future__":
                continue
            for alias in node.names:
                name = alias.asname or alias.name
                suffix = f" as {alias.asname}" if alias.asname else ""
                bound[name] = f"from {node.module} import {alias.name}{suffix}"
    return bound


def _constant(name: str, value: Any, imports: set[str]) -> str | None:
    if isinstance(value, UUID):
        imports.add("from uuid import UUID")
        return f"{name} = UUID(int={value.int})"
    if value is None or isinstance(value, bool | int | float | str | tuple | frozenset):
        return f"{name} = {value!r}"
    return None


def _collect(
    fn: FunctionType | type, imports: set[str], definitions: dict[str, str], seen: set[str]
) -> None:
    scope = _scope(fn)
    bound = _module_imports(fn.__module__)
    for name in _global_names(fn):
        if name in seen or (name not in scope and hasattr(builtins, name)):
            continue
        seen.add(name)
        value = scope.get(name)
        if name == "sf":
            continue  # the script's own `import stageflow as sf`
        if isinstance(value, FunctionType | type) and _is_suite(value.__module__):
            _collect(value, imports, definitions, seen)
            definitions[name] = textwrap.dedent(inspect.getsource(value))
        elif name in bound and not _is_suite(bound[name].split()[1]):
            imports.add(bound[name])
        elif isinstance(value, ModuleType):
            alias = "" if value.__name__ == name else f" as {name}"
            imports.add(f"import {value.__name__}{alias}")
        elif callable(value) and hasattr(value, "__module__") and hasattr(value, "__name__"):
            imports.add(f"from {value.__module__} import {value.__name__}")
        else:
            line = _constant(name, value, imports)
            if line is None:
                raise ValueError(f"cannot print {name}={value!r} needed by {fn.__qualname__}")
            definitions[name] = line


def _import_lines(imports: set[str]) -> list[str]:
    # isort's order (ruff's I001): the future import, the standard library, then stageflow,
    # each group with its `import x` lines before its `from x import y` lines.
    def key(line: str) -> tuple[int, str]:
        return (0 if line.startswith("import ") else 1, line.split()[1])

    def name_key(name: str) -> tuple[int, str]:  # isort's order-by-type: CONSTANT, Class, func
        return (0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2, name)

    # One `from m import a, b` per module, as isort merges them.
    plain = {line for line in imports if line.startswith("import ")}
    names: dict[str, set[str]] = {}
    for line in imports - plain:
        module, _, name = line.removeprefix("from ").partition(" import ")
        names.setdefault(module, set()).add(name)
    merged = {f"from {m} import {', '.join(sorted(n, key=name_key))}" for m, n in names.items()}
    stdlib = sorted(plain | merged, key=key)
    return ["from __future__ import annotations", "", *stdlib, "", "import stageflow as sf"]


def _print_call(text: str, indent: str) -> str:
    # A message too long for one line becomes an implicit concatenation (E501 holds at 100).
    chunks = textwrap.wrap(text, 70, drop_whitespace=False) or [""]
    if len(chunks) == 1:
        return f"{indent}print({text!r})"
    inner = "\n".join(f"{indent}    {chunk!r}" for chunk in chunks)
    return f"{indent}print(\n{inner}\n{indent})"


def reproducer_source(finding: Finding) -> str:
    """A runnable script: its imports, ``import stageflow as sf``, what the reproducer needs,
    and a footer that exits 1 with ``VIOLATION: ...`` while the finding reproduces, else 0."""
    fn = finding.reproduce
    if not isinstance(fn, FunctionType):
        raise TypeError(f"{finding.id}: reproduce is {fn!r}, not a plain function")
    imports: set[str] = set()
    definitions: dict[str, str] = {}
    _collect(fn, imports, definitions, {fn.__name__})
    constants = [d for d in definitions.values() if "\n" not in d.strip()]
    bodies = [d.rstrip() for d in definitions.values() if "\n" in d.strip()]
    footer = [
        f"if {fn.__name__}(sf):",
        _print_call(f"VIOLATION: {finding.id}: {finding.title}", "    "),
        "    raise SystemExit(1)",
        _print_call(f"{finding.id} does not reproduce with this stageflow", ""),
    ]
    # isort keeps one blank line between the imports and a constant, two before a def.
    head = "\n".join(_import_lines(imports))
    if constants:
        head += "\n\n" + "\n".join(constants)
    parts = [head, *bodies, textwrap.dedent(inspect.getsource(fn)).rstrip(), "\n".join(footer)]
    return "\n\n\n".join(parts) + "\n"
