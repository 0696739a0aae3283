"""Hypothesis profiles, registered in one place.

``dev`` is the default for interactive work: random, with the example database on, so a failure
found once is replayed first next time. ``ci`` is what ``make verify`` and ``make test`` use:
derandomized (the same examples on every run) and bounded so that every machine fits the
120 s budget of ``make verify``. ``nightly`` is the long random exploration of ``make nightly``.

The profile is chosen with ``HYPOTHESIS_PROFILE``; :func:`load_selected_profile` refuses an
unknown name with a message that lists the known ones.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

PROFILE_ENV = "HYPOTHESIS_PROFILE"
DEFAULT_PROFILE = "dev"
EXAMPLE_DB_DIR = ".hypothesis/examples"

# Machines draw many values per step and run real asyncio code; slow-data health checks would
# only report what we already budget for with max_examples.
_QUIET_HEALTH_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "dev",
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    database=DirectoryBasedExampleDatabase(EXAMPLE_DB_DIR),
    suppress_health_check=_QUIET_HEALTH_CHECKS,
)
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    database=None,
    print_blob=True,
    # The explain phase re-runs many variations of a failure to annotate it; in CI the shrunk
    # example and our own swimlanes say enough, and the time belongs to the search.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=_QUIET_HEALTH_CHECKS,
)
settings.register_profile(
    "nightly",
    max_examples=5_000,
    stateful_step_count=60,
    deadline=timedelta(seconds=30),
    database=DirectoryBasedExampleDatabase(EXAMPLE_DB_DIR),
    print_blob=True,
    phases=list(Phase),
    suppress_health_check=_QUIET_HEALTH_CHECKS,
)

KNOWN_PROFILES = ("dev", "ci", "nightly")


class UnknownProfileError(ValueError):
    pass


def selected_profile_name() -> str:
    name = os.environ.get(PROFILE_ENV, "") or DEFAULT_PROFILE
    if name not in KNOWN_PROFILES:
        raise UnknownProfileError(
            f"{PROFILE_ENV}={name!r} is not a known profile; use one of {', '.join(KNOWN_PROFILES)}"
        )
    return name


def load_selected_profile() -> str:
    """Load the profile named by ``HYPOTHESIS_PROFILE`` (default ``dev``) and return its name."""
    name = selected_profile_name()
    settings.load_profile(name)
    return name
