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
from typing import TypeVar

from core.run.watchdog import REPRODUCER_SECONDS, watchdog

T = TypeVar("T")

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
    the violation reproduces. ``swimlane``, for a finding about an interleaving, is the
    rendered swimlane of its shrunk schedule (``reports/findings.md`` prints it).
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
    swimlane: str = ""


def _modules(package_name: str) -> Iterable[ModuleType]:
    package = importlib.import_module(package_name)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{package_name}.{info.name}")


def _published(attribute: str, kind: type[T]) -> list[T]:
    # A module may import another's list (a machine imports its findings): count each once.
    seen: dict[int, T] = {}
    for package_name in CHECK_PACKAGES:
        for module in _modules(package_name):
            for item in getattr(module, attribute, ()):
                if not isinstance(item, kind):
                    raise TypeError(f"{module.__name__}.{attribute} holds {item!r}, not a {kind}")
                seen.setdefault(id(item), item)
    return list(seen.values())


def discover_checks() -> list[Check]:
    checks = _published("CHECKS", Check)
    _refuse_duplicates([c.name for c in checks], "check")
    return checks


def discover_findings() -> list[Finding]:
    findings = _published("FINDINGS", Finding)
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


def still_reproduces(finding: Finding) -> bool:
    """Run ``finding``'s reproducer against the stageflow under test (no caching, so a test that
    monkeypatches stageflow sees the patched behaviour)."""
    from core.sut import stageflow_module

    sf = stageflow_module()
    if finding.applies(sf) is not None:
        return False
    with watchdog(REPRODUCER_SECONDS, f"the reproducer of {finding.id}"):
        return finding.reproduce(sf)


def reproducing_ids(findings: Iterable[Finding]) -> frozenset[str]:
    """The ids of the findings that still reproduce: the deviations a machine's model adopts."""
    return frozenset(f.id for f in findings if still_reproduces(f))


def adopting_known(
    law: Callable[..., None], findings: Callable[[], Iterable[Finding]]
) -> Callable[[], None]:
    """A check body that runs ``law(active=ids)``, ids being the findings that still reproduce.

    ``findings`` is called when the check runs (a module usually lists its FINDINGS below its
    CHECKS), so a monkeypatched stageflow is judged as it is at that moment.

    For example::

        Check("values.frozen_dict_hash", adopting_known(hash_law, lambda: FINDINGS), "...")
    """

    def run() -> None:
        law(active=reproducing_ids(findings()))

    return run
