"""Law failures that say which clause failed, with its values: pytest's assertion rewriting.

A law in ``properties/`` states its promise as plain ``assert`` statements, often a compound
``and`` (``assert len(fd) == len(data) and list(fd) == list(data)``). Run by verify, outside
pytest, a failing one is a bare ``AssertionError`` naming nothing. pytest solves exactly this,
and is already a dependency: its assertion rewriter turns each ``assert`` into code that, on
failure, spells out the clause that was false and the values it compared
(``assert (True and [1, 2] == [2, 1])`` with a ``where`` line per call). Under pytest (``make
test``, nightly's shards) pytest does this itself for modules registered with
``pytest.register_assert_rewrite``; verify installs this small import hook instead, for the
``properties`` package only, before the checks are discovered (a module imported earlier stays
as it was: the hook cannot reach it, and says so by returning False).

Rewriting changes messages, never truth: the rewritten ``assert`` evaluates each operand once, in
order, with Python's own short-circuiting.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType

from _pytest.assertion.rewrite import rewrite_asserts

from stageflow_verify.core.run.checks import SUITE_ROOT

PACKAGE = f"{SUITE_ROOT}properties"  # the laws' package under the suite's import name


class _RewritingLoader(importlib.machinery.SourceFileLoader):
    # Always from source: the bytecode cache holds the unrewritten code Python compiled.
    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        source = self.get_data(path)
        tree = ast.parse(source, filename=path)
        rewrite_asserts(tree, source, path)
        return compile(tree, path, "exec", dont_inherit=True)


class _LawFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PACKAGE + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        loader = _RewritingLoader(fullname, spec.origin)
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=loader)


def rewrite_law_asserts() -> bool:
    """Rewrite the ``assert`` statements of ``properties`` modules imported from now on.

    Returns False if some were imported already (those keep bare assertions). Idempotent.

    For example::

        rewrite_law_asserts()
        registry.discover_checks()  # imports properties.* with rewritten asserts
    """
    if not any(isinstance(f, _LawFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LawFinder())
    return not any(name.startswith(PACKAGE + ".") for name in sys.modules)
