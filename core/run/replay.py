"""Replaying a NEW verdict exactly: the command verify prints and ``reports/failures/<row>.py``.

A failure reproduces when the same check runs with the same Hypothesis profile, the same seed
and the same Stageflow. The ``ci`` profile is derandomized (the examples are a function of the
check alone), so there the profile and the check name are the whole key. ``dev`` and ``nightly``
draw at random: verify pins Hypothesis's seed for the run (``VERIFY_SEED``, else a fresh one it
records) through ``hypothesis.core.global_force_seed``, the hook behind pytest's
``--hypothesis-seed``, so the printed command repeats the same search, shrink included. The
Stageflow is named the way the user named it: ``STAGEFLOW=X`` for a release other than the
pinned one, ``SUT=PATH`` for a source tree, nothing for the pinned release.

The failure script is plain standard-library Python: it runs ``python -m core.run.replay`` with
the interpreter, ``PYTHONPATH``, profile and seed verify used, from the suite's root, and exits
with its code: 1 while the row still fails as NEW, 0 once it passes, 3 if the suite cannot
drive this Stageflow (ERROR), 2 if the row does not exist.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import hypothesis.core
from hypothesis import settings

from core.run.matrix import BadInput, pinned_version

SEED_ENV = "VERIFY_SEED"
ROOT = Path(__file__).resolve().parents[2]
EXIT = {"NEW": 1, "ERROR": 3}


@dataclass(frozen=True)
class ReplayKey:
    """What makes a verify run repeat itself: profile, seed (None: derandomized), Stageflow."""

    profile: str
    seed: int | None
    target: str  # "", "STAGEFLOW=0.9.6" or "SUT=/path/holding/stageflow"
    pythonpath: str  # the directory put first on PYTHONPATH for a source tree, else ""

    def command(self, row: str) -> str:
        words = [f"HYPOTHESIS_PROFILE={self.profile}"]
        if self.seed is not None:
            words.append(f"{SEED_ENV}={self.seed}")
        words += ["make verify", f"CHECKS='{row}'"]
        if self.target:
            words.append(self.target)
        return " ".join(words)


def forced_seed() -> int | None:
    """The seed Hypothesis is pinned to (its global behind ``--hypothesis-seed``), if any."""
    seed: int | None = getattr(hypothesis.core, "global_force_seed", None)
    return seed


def force_seed(seed: int | None) -> None:
    core: Any = hypothesis.core  # typed as always None in Hypothesis's own stubs
    core.global_force_seed = seed


def install_seed() -> int | None:
    """Pin Hypothesis's seed for this run unless the loaded profile is derandomized."""
    if settings().derandomize:
        force_seed(None)
        return None
    given = os.environ.get(SEED_ENV, "").strip()
    try:
        seed = int(given) if given else random.SystemRandom().getrandbits(32)
    except ValueError as exc:
        raise BadInput(f"{SEED_ENV}={given!r} is not an integer seed") from exc
    force_seed(seed)
    return seed


def target_of(sf: ModuleType, label: str, version: str) -> tuple[str, str]:
    """(the make argument naming this Stageflow, the PYTHONPATH entry it needs)."""
    if "+path" in label:
        holder = str(Path(next(iter(sf.__path__))).parent)
        return f"SUT={holder}", holder
    if version != pinned_version():
        return f"STAGEFLOW={version}", ""
    return "", ""


def failure_script(row: str, key: ReplayKey, detail: str) -> str:
    """The source of ``reports/failures/<row>.py`` (see the module docstring)."""
    env = {"HYPOTHESIS_PROFILE": key.profile, SEED_ENV: "" if key.seed is None else str(key.seed)}
    # As comments: a failure's text may hold anything (quotes, backslashes) but a line break.
    seen = "\n".join(f"# {line}".rstrip() for line in detail.splitlines())
    script = Path("reports") / "failures" / f"{row}.py"
    return f'''"""Replays verify's NEW verdict on {row}; exits 1 while it still fails.

Found with:
    {key.command(row)}
Run: python {script}
It needs any Python 3 only: it re-runs the check with the interpreter, profile, seed and
Stageflow below. Exit 1: still fails; 0: passes now; 3: the suite cannot drive this Stageflow
(ERROR); 2: no such row.
"""

# ruff: noqa: E501 (paths, the replay command and verify's recorded output keep their lines)

import os
import subprocess
import sys

SUITE = {str(ROOT)!r}
PYTHON = {sys.executable!r}
PYTHONPATH = {key.pythonpath!r}
ENV = {env!r}
ROW = {row!r}

if __name__ == "__main__":
    path = os.pathsep.join(p for p in (PYTHONPATH, os.environ.get("PYTHONPATH", "")) if p)
    env = {{**os.environ, **ENV, "PYTHONPATH": path}}
    command = [PYTHON, "-m", "core.run.replay", ROW]
    sys.exit(subprocess.run(command, cwd=SUITE, env=env).returncode)

# What verify saw:
#
{seen}
'''


def replay(row: str) -> int:
    """Run the one check or finding row named ``row`` as verify would; its exit code."""
    from core.run import checks as registry
    from core.run import verify
    from core.run.profiles import load_selected_profile
    from core.sut import stageflow_module

    load_selected_profile()
    install_seed()
    sf = stageflow_module()
    for check in registry.discover_checks():
        if check.name == row:
            result = verify.run_check(check, sf)
            break
    else:
        findings = [f for f in registry.discover_findings() if verify.finding_row_name(f) == row]
        if not findings:
            print(f"replay: no check or finding row is named {row!r}", file=sys.stderr)
            return 2
        result = verify.run_finding(findings[0], sf)
    print(f"{result.status} {row}" + (f" ({result.fault})" if result.fault else ""))
    if result.detail:
        print(result.detail)
    return EXIT.get(result.status, 0)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m core.run.replay ROW", file=sys.stderr)
        return 2
    try:
        return replay(args[0])
    except BadInput as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
