"""Hypothesis profiles, registered in one place.

``dev`` is the default for interactive work: random, with the example database on, so a failure
found once is replayed first next time. ``ci`` is what ``make verify`` and ``make test`` use:
derandomized (the same examples on every run) and bounded so that every machine fits the
120 s budget of ``make verify``. ``nightly`` is the long random exploration of ``make nightly``.
``crosshair`` runs the stateless ``@given`` laws on CrossHair's symbolic backend
(``hypothesis-crosshair``): each example is a path through the law rather than a random draw,
so branches that random data rarely hits are tried on purpose (``make contracts``, bounded).

The profile is chosen with ``HYPOTHESIS_PROFILE``; :func:`load_selected_profile` refuses an
unknown name with a message that lists the known ones.

Several machines can share one search: with ``HYPOTHESIS_DB=redis://HOST:PORT`` the profiles
that keep examples (``dev``, ``nightly``) write to and replay from both the local directory and
Hypothesis's ``RedisExampleDatabase`` on that server, so a failure one machine found is the
first example every other machine tries. Both wrap their database in
:class:`core.run.reshrink.ShrinkAgainDatabase`, so a failure replayed from it is shrunk again
before it is reported (Hypothesis would report it as stored, however half-shrunk). A malformed
URL, a server that does not answer, or a profile that keeps no database (``ci``,
``crosshair``) is a :class:`ProfileError` (verify and nightly print its one line and exit 2),
never a silent fall-back or a silent no-op.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    MultiplexedDatabase,
)
from hypothesis.errors import InvalidArgument

from stageflow_verify.core.run.local_constants import ignore_suite_constants
from stageflow_verify.core.run.reshrink import ShrinkAgainDatabase

# The names and the URL form live with the Makefile's input checks, which run before .venv exists.
from stageflow_verify.core.run.variables import (
    DATABASE_ENV,
    DEFAULT_PROFILE,
    KNOWN_PROFILES,
    PROFILE_ENV,
    REDIS_URL,
    SHARED_DB_PROFILES,
    database_error,
)

EXAMPLE_DB_DIR = ".hypothesis/examples"

# Every profile draws from Stageflow's behaviour and the strategies only, never from constants
# in the suite's own source (core/run/local_constants.py says why).
ignore_suite_constants()
# dev and nightly keep their examples behind ShrinkAgainDatabase: a failure left half-shrunk by an
# interrupted run is shrunk again when it is replayed, not reported as it was (core/run/reshrink).

# Machines draw many values per step and run real asyncio code; slow-data health checks would
# only report what we already budget for with max_examples.
_QUIET_HEALTH_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]

# Every profile reports one failure, shrunk: with report_multiple_bugs (Hypothesis's default)
# the engine keeps generating after a failure until 10 s of *wall* time pass, so on a loaded
# machine it tries other examples and may shrink another bug (core/sched/SCHEDULER.md).
# dev and nightly say derandomize=False outright: Hypothesis's own default turns derandomize on
# when it detects CI (CI=true), which would make them silently repeat one search there.
settings.register_profile(
    "dev",
    derandomize=False,
    report_multiple_bugs=False,
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    database=ShrinkAgainDatabase(DirectoryBasedExampleDatabase(EXAMPLE_DB_DIR)),
    suppress_health_check=_QUIET_HEALTH_CHECKS,
)
settings.register_profile(
    "ci",
    derandomize=True,
    report_multiple_bugs=False,
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
    derandomize=False,
    report_multiple_bugs=False,
    max_examples=5_000,
    stateful_step_count=60,
    deadline=timedelta(seconds=30),
    database=ShrinkAgainDatabase(DirectoryBasedExampleDatabase(EXAMPLE_DB_DIR)),
    print_blob=True,
    phases=list(Phase),
    suppress_health_check=_QUIET_HEALTH_CHECKS,
)


class ProfileError(ValueError):
    """A Hypothesis profile or example database that cannot be used; the message says why."""


class UnknownProfileError(ProfileError):
    pass


class SharedDatabaseError(ProfileError):
    pass


def _register_crosshair() -> None:
    # Registered on demand: validating backend="crosshair" needs hypothesis-crosshair, and a
    # venv without it must still load every other profile.
    try:
        settings.register_profile(
            "crosshair",
            backend="crosshair",
            # A symbolic example costs seconds, not microseconds: few of them, no wall-clock
            # deadline (CrossHair's own per-path timeout bounds each), and no database, since a
            # symbolic run replays through concrete values Hypothesis already reports.
            max_examples=20,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    except InvalidArgument as exc:
        raise UnknownProfileError(
            f"{PROFILE_ENV}=crosshair needs hypothesis-crosshair ({exc}); run `make venv`"
        ) from exc


def selected_profile_name() -> str:
    name = os.environ.get(PROFILE_ENV, "") or DEFAULT_PROFILE
    if name not in KNOWN_PROFILES:
        raise UnknownProfileError(
            f"{PROFILE_ENV}={name!r} is not a known profile; use one of {', '.join(KNOWN_PROFILES)}"
        )
    return name


def load_selected_profile() -> str:
    """Load the profile named by ``HYPOTHESIS_PROFILE`` (default ``dev``) and return its name.

    With ``HYPOTHESIS_DB`` set, ``dev`` and ``nightly`` are loaded with the shared database
    added (see the module docstring); under the other profiles, which keep none, it is a
    :class:`SharedDatabaseError`.
    """
    name = selected_profile_name()
    if name == "crosshair":
        _register_crosshair()
    url = os.environ.get(DATABASE_ENV, "")
    if not url:
        settings.load_profile(name)
        return name
    if name not in SHARED_DB_PROFILES:
        # A database the profile would ignore is a mistake to report, not a no-op to hide.
        raise SharedDatabaseError(database_error(url, name))
    base = settings.get_profile(name)
    shared = f"{name}+{url}"
    settings.register_profile(
        shared, parent=base, database=with_shared_database(base.database, url)
    )
    settings.load_profile(shared)
    return name


def with_shared_database(local: ExampleDatabase | None, url: str) -> ExampleDatabase:
    """``local`` multiplexed with the Redis database at ``url`` (``redis://HOST:PORT``).

    For example::

        db = with_shared_database(DirectoryBasedExampleDatabase(".hypothesis/examples"),
                                  "redis://127.0.0.1:6379")
    """
    shared = redis_database(url)
    if isinstance(local, ShrinkAgainDatabase):
        return ShrinkAgainDatabase(MultiplexedDatabase(local.inner, shared))
    return ShrinkAgainDatabase(shared if local is None else MultiplexedDatabase(local, shared))


def redis_database(url: str) -> ExampleDatabase:
    """Hypothesis's RedisExampleDatabase on ``url``, after checking the server answers."""
    match = REDIS_URL.fullmatch(url)
    if match is None:
        raise SharedDatabaseError(database_error(url, SHARED_DB_PROFILES[0]))
    # Imported here: only a run that asks for a shared database needs the redis client.
    import redis
    from hypothesis.extra.redis import RedisExampleDatabase

    host, port = match["host"], int(match["port"])
    client: Any = redis.Redis(host=host, port=port, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SharedDatabaseError(
            f"{DATABASE_ENV}={url!r}: no Redis server answers at {host}:{port} ({exc}); "
            f"start redis-server there or unset {DATABASE_ENV}"
        ) from exc
    return RedisExampleDatabase(client)
