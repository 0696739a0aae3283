"""Every test runs under the profile HYPOTHESIS_PROFILE names (``make test`` sets ``ci``).

Before any test runs, every module of the suite is imported, in every pytest-xdist worker. The
reason is determinism: Hypothesis seeds generation with constants it mines from the *local*
modules loaded in the process, so a derandomized run draws different examples depending on which
modules earlier tests happened to import, and xdist hands tests to workers differently from run
to run. With every local module loaded up front, each worker mines the same constants, and the
ci profile gives the same examples every run.
"""

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis.internal.conjecture import engine

from stageflow_verify.core.run import watchdog
from stageflow_verify.core.run.checks import SUITE_ROOT
from stageflow_verify.core.run.profiles import load_selected_profile

load_selected_profile()

# Scripts run as subprocesses (not imported by tests) and module entry points are left out.
_NOT_IMPORTED = ("__main__", "shared_db_probe", "conftest")


def _import_suite() -> None:
    # The suite's packages under their import names (prefixed once packaged under one name).
    suite = [f"{SUITE_ROOT}{name}" for name in ("core", "models", "properties", "stateful")]
    for package_name in (*suite, "tests"):
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if info.name.rsplit(".", 1)[-1] not in _NOT_IMPORTED:
                importlib.import_module(info.name)


_import_suite()


@pytest.fixture(autouse=True)
def _full_watchdog_budgets() -> Iterator[None]:
    # A test that plants a hang leaves the process "seen stuck" (core/run/watchdog.py), which cuts
    # every later budget to seconds; no other test of the same xdist worker may inherit that.
    yield
    watchdog._seen_stuck = False


@pytest.fixture(autouse=True)
def _same_hypothesis_settings_for_every_test() -> Iterator[None]:
    # A nightly shard run in-process loads its own "nightly-chunk" profile (a handful of examples)
    # and bounds shrinking through Hypothesis's engine; a later test of the same xdist worker
    # would search with those and miss its planted bug. Each test starts from the profile
    # HYPOTHESIS_PROFILE names and Hypothesis's own shrink limit.
    name, active, shrink_limit = (
        settings.get_current_profile_name(),
        settings.default,
        engine.MAX_SHRINKING_SECONDS,
    )
    yield
    engine.MAX_SHRINKING_SECONDS = shrink_limit
    if settings.default is not active:
        settings.load_profile(name)
