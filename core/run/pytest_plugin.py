"""The pytest plugin: every row of ``make verify`` as a pytest item, and the user fixture.

``pytest --stageflow-verify`` collects one item per check and per finding of the registry verify
itself runs (:mod:`core.run.checks`, the same discovery), and nothing from files unless paths
are given too. Each item is judged by verify's own functions (``run_check`` / ``run_finding``),
so a verdict cannot differ from verify's; only its spelling in pytest does:

| verify | pytest |
|---|---|
| PASS | passed |
| KNOWN | xfailed, strict, the reason naming the finding |
| FIXED | xpassed (``XPASS``, not strict): the finding no longer reproduces, update the registry |
| NEW | failed, with verify's failure text (shrunk example, swimlane, replay command) |
| N/A | skipped, with the reason |
| ERROR | error (raised in setup), naming the suite's file and line at fault |

Without ``HYPOTHESIS_PROFILE`` the profile is ``ci``, as in ``make verify``. pytest's exit code
agrees with verify's: it fails exactly when a row is NEW or ERROR. FIXED is not one of them: in
the README's verdict table it is a registered finding that no longer reproduces, neither a fault
of Stageflow (NEW) nor of the suite (ERROR), and verify exits 0 on it. So a finding's xfail is
decided once its verdict is known: strict for KNOWN (the reproducer must keep failing), not
strict for FIXED, which pytest reports as ``XPASS`` (shown, counted, not a failure); a strict
xfail would fail the session where verify passes.

Items carry the ``stageflow_verify`` marker and, in ``--junitxml``, a ``verdict`` property
holding verify's status (PASS and FIXED both pass in JUnit's vocabulary). A finding's item also
answers ``-k`` to its check's name, as ``--checks`` selects a check's findings with it.
pytest-xdist spreads the items over workers, and ``--hypothesis-show-statistics`` prints the
statistics of the Hypothesis runs inside each check.

The plugin also registers the ``stageflow_pipeline`` fixture (:mod:`core.sut.user.fixture`).
The package's ``pytest11`` entry point loads it; in a checkout without the package installed,
``-p core.run.pytest_plugin`` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run.report import Row
from stageflow_verify.core.sut.user.fixture import stageflow_pipeline

__all__ = ["stageflow_pipeline"]

OPTION = "--stageflow-verify"
MARKER = "stageflow_verify"


class KnownFindingReproduces(AssertionError):
    """A registered finding still reproduces: the expected failure of a KNOWN row."""


class VerifySuiteError(RuntimeError):
    """The suite could not drive this Stageflow (an ERROR row)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stageflow-verify")
    group.addoption(
        OPTION,
        action="store_true",
        default=False,
        help="collect every check and finding of `make verify` as a test item",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a row of make verify (check or finding)")
    if config.getoption(OPTION):
        from stageflow_verify.core.run.profiles import load_selected_profile
        from stageflow_verify.core.run.replay import install_seed
        from stageflow_verify.core.run.variables import PROFILE_ENV

        # `make verify` runs under ci unless told otherwise; so do its rows here.
        if not os.environ.get(PROFILE_ENV):  # unset or empty, as make's own default reads it
            os.environ[PROFILE_ENV] = "ci"
        load_selected_profile()
        install_seed()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # `pytest --stageflow-verify` alone runs verify's rows, not the files under testpaths.
    if config.getoption(OPTION) and not config.getoption("file_or_dir"):
        return True
    return None


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: they must see these items
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption(OPTION):
        # Its own node id, not the session's "": items read `stageflow-verify::<row>`.
        collector = VerifyRows.from_parent(
            session, name="stageflow-verify", nodeid="stageflow-verify"
        )
        # Collected through pytest's own hooks, as a file's tests are: the terminal counts the
        # rows ("100 tests collected", "8/100 ... (92 deselected)") and a registry that cannot
        # be loaded is a collection error, not an internal error.
        session.ihook.pytest_collectstart(collector=collector)
        report: pytest.CollectReport = collector.ihook.pytest_make_collect_report(
            collector=collector
        )
        session.ihook.pytest_collectreport(report=report)
        items.extend(node for node in report.result if isinstance(node, pytest.Item))


class VerifyRows(pytest.Collector):
    """The rows of ``make verify``, in verify's order: checks, then findings."""

    def collect(self) -> list[pytest.Item]:
        rows: list[pytest.Item] = [
            CheckItem.from_parent(self, name=check.name, check=check)
            for check in registry.discover_checks()
        ]
        for finding in registry.discover_findings():
            item = FindingItem.from_parent(self, name=f"finding.{finding.id}", finding=finding)
            rows.append(item)
        return rows


class VerifyItem(pytest.Item):
    """A row: its verdict is computed in setup (so ERROR reports as a pytest error)."""

    row: Row | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(MARKER)

    def judge(self, sf: ModuleType) -> Row:
        raise NotImplementedError

    def setup(self) -> None:
        from stageflow_verify.core.sut import stageflow_module

        with _statistics(self):
            self.row = self.judge(stageflow_module())
        self.user_properties.append(("verdict", self.row.status))
        self.expect(self.row)
        if self.row.status == "ERROR":
            raise VerifySuiteError(self.row.detail)
        if self.row.status == "N/A":
            pytest.skip(self.row.detail)

    def expect(self, row: Row) -> None:
        """Mark what the verdict expects of the call (a finding's xfail), before it runs."""

    def runtest(self) -> None:
        row = self.row
        assert row is not None
        if row.status == "NEW":
            pytest.fail(row.detail, pytrace=False)
        if row.status == "KNOWN":
            raise KnownFindingReproduces(f"{row.finding} still reproduces")

    def reportinfo(self) -> tuple[str, int | None, str]:
        return ("stageflow-verify", None, self.name)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, VerifySuiteError | KnownFindingReproduces):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))


class CheckItem(VerifyItem):
    def __init__(self, *, check: registry.Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def judge(self, sf: ModuleType) -> Row:
        from stageflow_verify.core.run.verify import run_check

        return run_check(self.check, sf)


class FindingItem(VerifyItem):
    def __init__(self, *, finding: registry.Finding, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.finding = finding
        # -k on a check's name selects its findings too, as verify's --checks does.
        self.extra_keyword_matches.add(finding.check)

    def expect(self, row: Row) -> None:
        # Added in setup, once the verdict is known: pytest's xfail plugin reads the marks again
        # when the call starts if setup found none (the documented dynamic xfail).
        reason = f"{self.finding.id}: {self.finding.title}"
        if row.status == "KNOWN":
            xfail = pytest.mark.xfail(reason=reason, strict=True, raises=KnownFindingReproduces)
            self.add_marker(xfail)
        elif row.status == "FIXED":
            fixed = f"{reason} no longer reproduces: update the registry"
            self.add_marker(pytest.mark.xfail(reason=fixed, strict=False))

    def judge(self, sf: ModuleType) -> Row:
        from stageflow_verify.core.run.verify import run_finding

        return run_finding(self.finding, sf)


class _statistics:
    """Hypothesis's statistics of every test a check runs, where its pytest plugin prints them
    (it reads ``item.hypothesis_statistics``; it does not see inside a non-function item)."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item
        self.described: list[str] = []
        self.context: Any = None

    def __enter__(self) -> None:
        if not self.item.config.getoption("hypothesis_show_statistics", default=False):
            return
        from hypothesis.statistics import collector, describe_statistics

        def note(stats: Any) -> None:
            self.described.append(describe_statistics(stats))

        self.context = collector.with_value(note)  # type: ignore[arg-type]  # typed DynamicVariable[None]; its plugin passes a callback too
        self.context.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.context is None:
            return
        self.context.__exit__(*exc)
        if self.described:
            heading = f"{self.item.nodeid}:"
            body = "\n".join(self.described)
            self.item.hypothesis_statistics = f"{heading}\n{body}"  # type: ignore[attr-defined]
