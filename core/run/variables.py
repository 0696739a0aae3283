"""Every variable a Make target reads, checked before any work starts: one line and exit 2.

A verification tool that accepts bad input silently lies by omission: ``CONTRACTS_TIMEOUT=-1``
once made every CrossHair condition "pass" vacuously, ``HYPOTHESIS_DB`` under the ``ci``
profile was ignored without a word, and ``NIGHTLY_MINUTES=abc`` ended in a traceback and make's
``Error 1``, which the README reserves for "something NEW". The Makefile calls
:func:`main` while it parses, before ``.venv`` exists, so this module uses only the standard
library and may not import Hypothesis or Stageflow; :mod:`core.run.profiles` imports its profile
names and URL form from here, so the two never disagree.

Each rule is a function from the value to an error message (None when the value is fine); an
empty value means "not given" and is always fine, since every variable has a default.

For example::

    python3 core/run/variables.py NIGHTLY_MINUTES=abc   # prints one line, exits 2
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence

PROFILE_ENV = "HYPOTHESIS_PROFILE"
DATABASE_ENV = "HYPOTHESIS_DB"
KNOWN_PROFILES = ("dev", "ci", "nightly", "crosshair")
DEFAULT_PROFILE = "dev"
# The profiles that keep an example database, and so may share one through HYPOTHESIS_DB.
SHARED_DB_PROFILES = ("dev", "nightly")
REDIS_URL = re.compile(r"redis://(?P<host>[^:/\s]+):(?P<port>[0-9]{1,5})/?")
_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,3}((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?")
_GLOB = re.compile(r"[A-Za-z0-9_.*?\[\]!-]+")

Rule = Callable[[str], str | None]


def _number(name: str, *, low: float, strict: bool, example: str) -> Rule:
    bound = f"greater than {low:g}" if strict else f"at least {low:g}"

    def rule(value: str) -> str | None:
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if number != number or number in (float("inf"), float("-inf")):
            return f"{name}={value!r} is not a number (e.g. {name}={example})"
        if number < low or (strict and number == low):
            return f"{name}={value!r} must be {bound} (e.g. {name}={example})"
        return None

    return rule


def _whole(name: str, *, low: int, example: str) -> Rule:
    def rule(value: str) -> str | None:
        if not value.isdigit() or int(value) < low:
            return f"{name}={value!r} must be a whole number of at least {low} ({name}={example})"
        return None

    return rule


def _profile(value: str) -> str | None:
    if value not in KNOWN_PROFILES:
        known = ", ".join(KNOWN_PROFILES)
        return f"{PROFILE_ENV}={value!r} is not a known profile; use one of {known}"
    return None


def database_error(url: str, profile: str) -> str | None:
    """Why ``url`` cannot serve as the shared database under ``profile`` (None if it can)."""
    if REDIS_URL.fullmatch(url) is None:
        return (
            f"{DATABASE_ENV}={url!r} is not redis://HOST:PORT (e.g. redis://127.0.0.1:6379); "
            f"fix it or unset {DATABASE_ENV} to use the local example database only"
        )
    if profile not in SHARED_DB_PROFILES:
        return (
            f"{DATABASE_ENV} is set but {PROFILE_ENV}={profile} keeps no example database; "
            f"use {' or '.join(SHARED_DB_PROFILES)}, or unset {DATABASE_ENV}"
        )
    return None


def _versions(value: str) -> str | None:
    bad = [v for v in value.split() if _VERSION.fullmatch(v) is None]
    if bad or not value.split():
        return f"MATRIX_VERSIONS={value!r}: {bad or value!r} not version numbers (e.g. 0.5.1 1.2.0)"
    return None


def _globs(name: str) -> Rule:
    def rule(value: str) -> str | None:
        parts = [p.strip() for p in value.split(",")]
        if any(_GLOB.fullmatch(p) is None for p in parts):
            return f"{name}={value!r} must be comma-separated names or globs (e.g. 'context.*')"
        return None

    return rule


def _choice(name: str, *allowed: str, whole_low: int | None = None) -> Rule:
    """One of ``allowed``, or (with ``whole_low``) a whole number of at least that."""

    def rule(value: str) -> str | None:
        if value in allowed:
            return None
        if whole_low is not None and value.isdigit() and int(value) >= whole_low:
            return None
        number = f"a whole number of at least {whole_low}" if whole_low is not None else ""
        words = " or ".join(w for w in (number, ", ".join(allowed)) if w)
        return f"{name}={value!r} must be {words}"

    return rule


RULES: dict[str, Rule] = {
    PROFILE_ENV: _profile,
    "NIGHTLY_MINUTES": _number("NIGHTLY_MINUTES", low=0, strict=True, example="30"),
    "CONTRACTS_TIMEOUT": _number("CONTRACTS_TIMEOUT", low=0, strict=True, example="2"),
    "CONTRACTS_TOTAL": _number("CONTRACTS_TOTAL", low=60, strict=False, example="900"),
    "JOBS": _whole("JOBS", low=1, example="2"),
    "MATRIX_VERSIONS": _versions,
    "CHECKS": _globs("CHECKS"),
    "MUTANTS": _globs("MUTANTS"),
    "VERIFY_SEED": _whole("VERIFY_SEED", low=0, example="1234"),
    "MUTATION_SAMPLE": _choice("MUTATION_SAMPLE", "all", whole_low=0),
    "MUTATION_SEED": _whole("MUTATION_SEED", low=0, example="15"),
    "MUTATION_MODULES": _choice("MUTATION_MODULES", "modelled", "later", "interceptors", "all"),
    "MUTATION_CATALOG": _choice("MUTATION_CATALOG", "0", "1"),
    "OBSERVE": _choice("OBSERVE", "0", "1"),
}


# The profile each goal runs its Hypothesis tests under ("" = HYPOTHESIS_PROFILE as given, whose
# Make default is ci); goals that run no Hypothesis test are absent.
GOAL_PROFILES = {
    "verify": "",
    "verify-all": "",
    "reach": "",
    "mutation": "",
    "test": "ci",
    "bench": "dev",
    "nightly": "nightly",
    "contracts": "crosshair",
    "modelcheck": "",
}


def errors(values: dict[str, str], goals: Sequence[str] = ("verify",)) -> list[str]:
    """One message per bad variable of ``values`` (name -> value as Make has it), judging
    ``HYPOTHESIS_DB`` against the profile each of ``goals`` runs under."""
    found = []
    for name, rule in RULES.items():
        value = values.get(name, "").strip()
        message = rule(value) if value else None
        if message:
            found.append(message)
    url = values.get(DATABASE_ENV, "").strip()
    given = values.get(PROFILE_ENV, "").strip() or DEFAULT_PROFILE
    for goal in goals:
        profile = GOAL_PROFILES.get(goal)
        if url and profile is not None and (profile or given) in KNOWN_PROFILES:
            message = database_error(url, profile or given)
            if message and message not in found:
                found.append(message)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``[--goals 'G ...'] NAME=VALUE ...``: prints the first error to stderr and exits 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    goals: list[str] = ["verify"]
    if args[:1] == ["--goals"] and len(args) > 1:
        goals = args[1].split() or ["verify"]
        args = args[2:]
    values = dict(a.split("=", 1) for a in args if "=" in a)
    unknown = sorted(set(values) - set(RULES) - {DATABASE_ENV})
    if unknown:
        print(
            f"variables: no rule for {unknown}; add one to core/run/variables.py", file=sys.stderr
        )
        return 2
    found = errors(values, goals)
    if found:
        print(found[0], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
