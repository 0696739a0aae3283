"""Every variable the README documents, given a bad value, stops make at once: exit 2, one line.

Each case runs the real ``make`` with one bad variable and the goal that reads it. The check runs
while make parses (core/run/variables.py, or core.run.matrix for STAGEFLOW and SUT), so nothing
is built or run; the timeout is only there so that a regression hangs no worker.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from stageflow_verify.core.run.variables import RULES, errors

ROOT = Path(__file__).resolve().parents[2]

# (goal, variable, bad value, a word the one line must contain)
CASES = [
    ("verify", "HYPOTHESIS_PROFILE", "fast", "not a known profile"),
    ("verify", "HYPOTHESIS_DB", "redis://127.0.0.1:1", "keeps no example database"),
    ("nightly", "HYPOTHESIS_DB", "redis:/oops", "is not redis://HOST:PORT"),
    ("contracts", "HYPOTHESIS_DB", "redis://127.0.0.1:6379", "keeps no example database"),
    ("nightly", "NIGHTLY_MINUTES", "abc", "is not a number"),
    ("nightly", "NIGHTLY_MINUTES", "0", "must be greater than 0"),
    ("contracts", "CONTRACTS_TIMEOUT", "-1", "must be greater than 0"),
    ("contracts", "CONTRACTS_TOTAL", "10", "must be at least 60"),
    ("mutation", "JOBS", "two", "whole number"),
    ("verify-all", "MATRIX_VERSIONS", "1.2 latest", "not version numbers"),
    ("verify", "CHECKS", "context.*;rm", "comma-separated"),
    ("mutation", "MUTANTS", "a b", "comma-separated"),
    ("verify", "VERIFY_SEED", "-3", "whole number"),
    ("mutation", "MUTATION_SAMPLE", "abc", "whole number of at least 0 or all"),
    ("mutation", "MUTATION_SAMPLE", "-1", "whole number"),
    ("mutation", "MUTATION_SEED", "x", "whole number"),
    ("mutation", "MUTATION_MODULES", "everything", "modelled, later, interceptors, all"),
    ("mutation", "MUTATION_CATALOG", "no", "0, 1"),
    ("verify", "OBSERVE", "yes", "0, 1"),
    ("verify", "STAGEFLOW", "latest", "is not a version number"),
    ("verify", "SUT", "/nonexistent/tree", "/nonexistent/tree"),
]


def documented_variables() -> set[str]:
    """The Make variables the README names as NAME= or `NAME` in its target table."""
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"\b([A-Z][A-Z_]{2,})=", readme)) | {
        name for name in re.findall(r"`([A-Z][A-Z_]{2,})`", readme) if name in RULES
    }


def test_every_documented_variable_has_a_bad_case() -> None:
    covered = {variable for _, variable, _, _ in CASES}
    # PYTHONPATH is Python's own (verify reports the path it tested); it has no bad value.
    missing = documented_variables() - covered - {"PYTHONPATH"}
    assert missing == set(), f"add a bad-input case for {sorted(missing)}"


@pytest.mark.parametrize(("goal", "variable", "value", "words"), CASES)
def test_a_bad_variable_stops_make_with_one_line(
    goal: str, variable: str, value: str, words: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPOTHESIS_", "MAKE"))}
    done = subprocess.run(
        ["make", "--no-print-directory", goal, f"{variable}={value}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and done.stdout == "", (done.stdout, done.stderr)
    assert len(lines) == 1 and words in lines[0], lines


def test_good_values_pass_and_empty_means_the_default() -> None:
    good = {"NIGHTLY_MINUTES": "0.5", "CONTRACTS_TIMEOUT": "2", "CONTRACTS_TOTAL": "900",
            "JOBS": "2", "MATRIX_VERSIONS": "0.5.1 1.2.0", "CHECKS": "context.*,finding.SF-*",
            "MUTANTS": "", "HYPOTHESIS_PROFILE": "", "HYPOTHESIS_DB": ""}  # fmt: skip
    assert errors(good, ["verify", "nightly", "contracts", "mutation"]) == []


def test_the_database_is_judged_by_the_profile_each_goal_runs_under() -> None:
    url = {"HYPOTHESIS_DB": "redis://127.0.0.1:6379"}
    assert errors(url, ["nightly"]) == []  # nightly runs under its own profile
    assert errors({**url, "HYPOTHESIS_PROFILE": "dev"}, ["verify"]) == []
    assert errors(url, ["lint"]) == []  # a goal that runs no Hypothesis test
    assert errors({**url, "HYPOTHESIS_PROFILE": "ci"}, ["verify"]) != []  # ci keeps none
