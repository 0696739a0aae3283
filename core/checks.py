"""Checks and findings: what ``make verify`` runs and how each row of its table is decided.

A :class:`Check` is a callable that raises when Stageflow breaks the property it checks (a
Hypothesis machine run as a test, a ``@given`` law, an exhaustive scenario). Modules under
``stateful/`` and ``properties/`` publish theirs in a module-level ``CHECKS`` list; verify finds
them by importing every module of those packages, so adding a machine never edits a central file.

A :class:`Finding` is a known violation of a Stageflow promise. Its ``reproduce`` function is the
minimal reproducer: plain Stageflow code, given the imported ``stageflow`` module, returning
True while the violation is still there. Modules publish theirs in a ``FINDINGS`` list. Machines
adopt the findings that still reproduce as named deviations of their model, so they keep hunting
past a known bug instead of stopping at it; verify reports each finding KNOWN while it
reproduces and FIXED once it does not.

For example::

    CHECKS = [Check("context_tree", run=run_context_machine, summary="fork isolation")]
    FINDINGS = [Finding("SF-001", "...", versions=("1.2.0",), check="context_tree",
                        reproduce=shallow_parent_snapshot)]
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType

CHECK_PACKAGES = ("stateful", "properties")


def _always_applies(sf: ModuleType) -> str | None:
    return None


@dataclass(frozen=True)
class Check:
    """One row of verify's table: ``run`` raises on a violation, returns on a pass.

    ``applies`` returns None when the check applies to the Stageflow under test, or the reason
    it does not (reported as N/A, never as PASS).
    """

    name: str
    run: Callable[[], None]
    summary: str
    applies: Callable[[ModuleType], str | None] = _always_applies


@dataclass(frozen=True)
class Finding:
    """A known violation of a Stageflow promise, with its minimal reproducer.

    ``promise`` quotes what Stageflow documents (or states what a user reasonably expects, and
    says so); ``observed`` is what happens instead. ``reproduce(stageflow)`` returns True while
    the violation reproduces.
    """

    id: str
    title: str
    versions: tuple[str, ...]
    check: str
    promise: str
    observed: str
    reproduce: Callable[[ModuleType], bool]
    applies: Callable[[ModuleType], str | None] = _always_applies
    tags: tuple[str, ...] = field(default=())


def _modules(package_name: str) -> Iterable[ModuleType]:
    package = importlib.import_module(package_name)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{package_name}.{info.name}")


def discover_checks() -> list[Check]:
    checks: list[Check] = []
    for package_name in CHECK_PACKAGES:
        for module in _modules(package_name):
            checks.extend(getattr(module, "CHECKS", ()))
    _refuse_duplicates([c.name for c in checks], "check")
    return checks


def discover_findings() -> list[Finding]:
    findings: list[Finding] = []
    for package_name in CHECK_PACKAGES:
        for module in _modules(package_name):
            findings.extend(getattr(module, "FINDINGS", ()))
    _refuse_duplicates([f.id for f in findings], "finding")
    return sorted(findings, key=lambda f: f.id)


def _refuse_duplicates(names: list[str], kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {kind}s are named {name!r}; {kind} names must be unique")
        seen.add(name)


# Examples run by the check currently executing. Machines call count_example() once per
# example (in __init__), @given laws once per call; verify resets it around each check, and a
# check that ran no example is never reported as a pass.
_examples_run = 0


def count_example() -> None:
    global _examples_run
    _examples_run += 1


def reset_example_count() -> None:
    global _examples_run
    _examples_run = 0


def example_count() -> int:
    return _examples_run
