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

import contextlib
import importlib
import io
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Literal, TypeVar

from stageflow_verify.core.run.watchdog import REPRODUCER_SECONDS, StageflowStuckError, watchdog
from stageflow_verify.core.sut import forget_harness_errors

if TYPE_CHECKING:
    from stageflow_verify.core.sched.trace import Trace

T = TypeVar("T")

# The suite's root package as this module sees it: "" in a checkout (``core.run.checks``),
# "stageflow_verify." once packaged under one import name. Package names spelled as data must
# carry it, or an installed suite would look for a top-level ``stateful`` that is not there.
# (Counted in parts, not spelled: the packaging rename rewrites dotted module names in strings.)
_PARTS = __name__.split(".")  # [..., "core", "run", "checks"]
SUITE_ROOT = ".".join(_PARTS[:-3]) + "." if len(_PARTS) > 3 else ""
CHECK_PACKAGES = tuple(f"{SUITE_ROOT}{name}" for name in ("stateful", "properties"))


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
class Quote:
    """Words Stageflow publishes, and where: ``stageflow/<path>.py:<line>`` (a docstring or
    comment of the installed package) or ``docs/<path>.md:<line>`` (the upstream guides).
    ``tests/cover/test_finding_basis.py`` checks that the words are at that line."""

    text: str
    where: str


@dataclass(frozen=True)
class Basis:
    """Why a finding is a bug. ``documented``: Stageflow's own words promise otherwise (at least
    one quote). ``expected``: nothing documents it either way, and ``argument`` is the case a
    user would make (quotes, if any, are the documentation the argument leans on)."""

    kind: Literal["documented", "expected"]
    quotes: tuple[Quote, ...] = ()
    argument: str = ""

    def __post_init__(self) -> None:
        # A "documented" basis without a quote, or an "expected" one without an argument, is
        # how a weak finding passes for a strong one: refuse both when the registry loads.
        if self.kind == "documented" and not self.quotes:
            raise ValueError("a documented basis quotes Stageflow")
        if self.kind == "expected" and not self.argument:
            raise ValueError("an expected basis states the user's argument")


def documented(*quotes: tuple[str, str], argument: str = "") -> Basis:
    """``documented(("quoted words", "stageflow/x.py:12"), ...)``."""
    return Basis("documented", tuple(Quote(t, w) for t, w in quotes), argument)


def expected(argument: str, *quotes: tuple[str, str]) -> Basis:
    """``expected("what a user would argue", ("related words", "docs/x.md:3"), ...)``."""
    return Basis("expected", tuple(Quote(t, w) for t, w in quotes), argument)


@dataclass(frozen=True)
class Severity:
    """``high``: silent wrong results, corrupted state or unbounded resources on an ordinary
    path; ``medium``: wrong behaviour a user meets on a plausible path, or a loud failure;
    ``low``: an edge case, cosmetic, or easy to avoid. ``why`` is one line."""

    level: Literal["high", "medium", "low"]
    why: str


# The releases `make verify-all` measured (every final stageflow-core from 0.5.0 on, 2026-12-02).
# A finding declares, with :func:`releases`, those its row was KNOWN on; reports/findings.md
# flags a declaration that disagrees with a newer measurement.
RELEASES = (
    *("0.5.0", "0.5.1", "0.7.0", "0.8.0", "0.9.0", "0.9.1", "0.9.2", "0.9.4", "0.9.5"),
    *("0.9.6", "1.0.0", "1.1.0", "1.2.0"),
)


def releases(first: str = RELEASES[0], last: str = RELEASES[-1]) -> tuple[str, ...]:
    """The measured releases from ``first`` to ``last``, both included, oldest first.

    For example::

        Finding("SF-X-01", ..., releases("0.9.6"), ...)  # KNOWN on 0.9.6, 1.0.0, 1.1.0, 1.2.0
    """
    return RELEASES[RELEASES.index(first) : RELEASES.index(last) + 1]


SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
BASIS_ORDER = {"documented": 0, "expected": 1}


@dataclass(frozen=True)
class Finding:
    """A known violation of a Stageflow promise, with its minimal reproducer.

    ``promise`` quotes what Stageflow documents (or states what a user reasonably expects, and
    says so); ``observed`` is what happens instead. ``reproduce(stageflow)`` returns True while
    the violation reproduces. ``swimlane``, for a finding about an interleaving, is the
    rendered swimlane of its shrunk schedule (``reports/findings.md`` prints it).
    ``schedules``, for a finding about OS threads, plays its scenario on the controlled thread
    scheduler and returns the trace of a schedule that shows it (the reports draw it where an
    asyncio finding gets its reproducer's own schedule; ``stateful/thread_schedules.py``).

    ``basis`` and ``severity`` say how strong the finding is (every registered finding has
    both; ``tests/cover/test_finding_basis.py`` holds the registry to it). A finding that
    absorbed others of the same root cause lists their ids in ``merged`` and each way the
    cause shows in ``symptoms``; its reproducer checks every symptom. ``fix`` says where in
    Stageflow the fix belongs (``reports/issues/<id>.md`` prints it).
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
    # Keyword-only with defaults so that a throwaway Finding in a test stays short; the
    # registry's own findings are required to fill them (test_finding_basis.py).
    basis: Basis | None = field(default=None, kw_only=True)
    severity: Severity | None = field(default=None, kw_only=True)
    symptoms: tuple[str, ...] = field(default=(), kw_only=True)
    merged: tuple[str, ...] = field(default=(), kw_only=True)
    fix: str = field(default="", kw_only=True)
    schedules: Callable[[ModuleType], list[Trace]] | None = field(default=None, kw_only=True)


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
# check that ran no example is never reported as a pass. A new example also forgets the
# HarnessErrors of the one before, so a failure is judged by what its own example raised.
_examples_run = 0


def count_example() -> None:
    global _examples_run
    _examples_run += 1
    forget_harness_errors()


def reset_example_count() -> None:
    global _examples_run
    _examples_run = 0
    forget_harness_errors()


def example_count() -> int:
    return _examples_run


def run_reproducer(finding: Finding, sf: ModuleType, printed: io.StringIO | None = None) -> bool:
    """``finding.reproduce(sf)`` under its wall-clock bound. A reproducer is the standalone
    script's body, which prints "VIOLATION: ..." for a maintainer; inside a run that would
    interleave with verify's table, so it goes to ``printed`` (or nowhere)."""
    with (
        watchdog(REPRODUCER_SECONDS, f"the reproducer of {finding.id}"),
        contextlib.redirect_stdout(io.StringIO() if printed is None else printed),
    ):
        return finding.reproduce(sf)


def still_reproduces(finding: Finding) -> bool:
    """Run ``finding``'s reproducer against the stageflow under test (no caching, so a test that
    monkeypatches stageflow sees the patched behaviour)."""
    from stageflow_verify.core.sut import stageflow_module

    sf = stageflow_module()
    if finding.applies(sf) is not None:
        return False
    try:
        return run_reproducer(finding, sf)
    except StageflowStuckError:
        raise  # a hang ends the check, as one anywhere else in it would
    except Exception:
        # The finding's own row reports the crash (NEW or ERROR: core/run/verdicts.py). Here
        # the only question is whether the check keeps excusing the finding's deviation: a crash
        # cannot show the finding is gone, and dropping its excuse would turn a harness failure
        # into a NEW row through the deviation the finding names. So the excuse stays and the
        # check runs: a Stageflow whose get_output returned None crashed SF-RUN-07's reproducer,
        # and the bag machine that adopts it was ERROR where, left to run, it finds that as NEW.
        return True


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
