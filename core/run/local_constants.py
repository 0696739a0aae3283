"""Keep the suite's own source out of Hypothesis's draws.

Hypothesis (6.131 on) now and then draws a constant it found in the source of the "local"
modules imported so far (``hypothesis.internal.conjecture.providers._get_local_constants``):
files outside site-packages and the standard library, test files excepted. Stageflow is installed
in site-packages, so here those modules are only the suite's own: models, adapters, machines,
the run tools. Their constants say nothing about Stageflow, and they made a derandomized (``ci``)
run depend on things that are not the check: which suite modules this process happened to
import (verify, a pytest-xdist worker and a single planted-bug test import different sets), and
every edit of any of them (a planted test that passed on one branch failed once another
branch's new module, with its own literals, was merged). With the set held empty, a check's
``ci`` examples are a function of the check, its strategies and Hypothesis alone.

Hypothesis offers no setting for this, so the module-level function is replaced; the
``hypothesis`` pin in requirements.lock holds it to the version read, and
``tests/cover/test_local_constants.py`` fails if that function is gone.
"""

from __future__ import annotations

from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants

_NONE = Constants()
# Hypothesis's own, kept so that a test can show what the patch changes.
HYPOTHESIS_LOCAL_CONSTANTS = providers._get_local_constants


def _no_local_constants() -> Constants:
    return _NONE


def ignore_suite_constants() -> None:
    """From now on, in this process, Hypothesis draws no constant from local source files."""
    providers._get_local_constants = _no_local_constants
    # Drop what was already cached from local constants for each choice type.
    providers.CONSTANTS_CACHE.cache.clear()
