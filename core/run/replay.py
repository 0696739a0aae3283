"""Replaying a NEW verdict exactly: the command verify prints and ``reports/failures/<row>.py``.

A failure reproduces when the same check runs with the same Hypothesis profile, the same seed
and the same Stageflow. The ``ci`` profile is derandomized (the examples are a function of the
check alone), so there the profile and the check name are the whole key. ``dev`` and ``nightly``
draw at random: verify pins Hypothesis's seed for the run (``VERIFY_SEED``, else a fresh one it
records) through ``hypothesis.core.global_force_seed``, the hook behind pytest's
``--hypothesis-seed``, so the printed command repeats the same search, shrink included. The
Stageflow is named the way the user named it: ``STAGEFLOW=X`` for a release other than the
pinned one, ``SUT=PATH`` for a source tree, nothing for the pinned release.

The failure script is plain standard-library Python: it runs ``python -m
stageflow_verify.core.run.replay`` (the suite's one import name: a module path of the checkout,
``core.run.replay``, would import the suite twice, and not at all from an installed wheel) with
the interpreter, ``PYTHONPATH``, profile and seed verify used, from the suite's root, and exits
with its code: 1 while the row still fails as NEW, 0 once it passes, 3 if the suite cannot
drive this Stageflow (ERROR), 2 if the row does not exist.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import hypothesis.core
from hypothesis import settings

from stageflow_verify.core.run.matrix import BadInput, pinned_version
from stageflow_verify.core.run.replay_blob import blob_in

if TYPE_CHECKING:
    from stageflow_verify.core.run.report import Row

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
    found = blob_in(detail)
    # The blob replays the one shrunk case at once; without one the check searches again.
    blob = [] if found is None else ["--blob", found[0], found[1].decode("ascii")]
    # As comments: a failure's text may hold anything (quotes, backslashes) but a line break.
    seen = "\n".join(f"# {line}".rstrip() for line in detail.splitlines())
    script = Path("reports") / "failures" / f"{row}.py"
    return f'''"""Replays verify's NEW verdict on {row}; exits 1 while it still fails.

Found with:
    {key.command(row)}
Run: python {script}
It needs any Python 3 only: it re-runs the check with the interpreter, profile, seed and
Stageflow below, replaying Hypothesis's blob of the shrunk case when verify printed one (else
it searches again from the same seed). Exit 1: still fails; 0: passes now; 3: the suite cannot
drive this Stageflow (ERROR); 2: no such row.
"""

# ruff: noqa: E501, RUF100 (paths, the replay command and verify's recorded output keep their
# lines; a short one has none too long, and its unused E501 must not fail the lint either)

import os
import subprocess
import sys

SUITE = {str(ROOT)!r}
PYTHON = {sys.executable!r}
PYTHONPATH = {key.pythonpath!r}
ENV = {env!r}
ROW = {row!r}
BLOB = {blob!r}

if __name__ == "__main__":
    path = os.pathsep.join(p for p in (PYTHONPATH, os.environ.get("PYTHONPATH", "")) if p)
    env = {{**os.environ, **ENV, "PYTHONPATH": path}}
    command = [PYTHON, "-m", "stageflow_verify.core.run.replay", ROW, *BLOB]
    sys.exit(subprocess.run(command, cwd=SUITE, env=env).returncode)

# What verify saw:
#
{seen}
'''


def replay(row: str, blob: tuple[str, bytes] | None = None) -> int:
    """Run the one check or finding row named ``row`` as verify would; its exit code.

    With ``blob`` (Hypothesis's ``@reproduce_failure`` arguments) a check replays that one
    shrunk example instead of searching again (:mod:`core.run.replay_blob`).
    """
    from hypothesis.errors import DidNotReproduce

    from stageflow_verify.core.run import checks as registry
    from stageflow_verify.core.run import verify
    from stageflow_verify.core.run.profiles import load_selected_profile
    from stageflow_verify.core.run.replay_blob import replaying
    from stageflow_verify.core.sut import stageflow_module

    load_selected_profile()
    install_seed()
    sf = stageflow_module()
    with replaying(*blob) if blob else contextlib.nullcontext():
        checks = {c.name: c for c in registry.discover_checks()}
        findings = {verify.finding_row_name(f): f for f in registry.discover_findings()}
        if row in checks:
            exc, output = verify.run_captured(checks[row].run) if blob else (None, "")
            if isinstance(exc, DidNotReproduce):
                print(f"PASS {row}: the recorded shrunk case no longer fails")
                return 0
            ran = verify.run_check(checks[row], sf) if exc is None else None
            result = ran or _failed(row, exc, output, sf)
        elif row in findings:
            result = verify.run_finding(findings[row], sf)
        else:
            print(f"replay: no check or finding row is named {row!r}", file=sys.stderr)
            return 2
    print(f"{result.status} {row}" + (f" ({result.fault})" if result.fault else ""))
    if result.detail:
        print(result.detail)
    return EXIT.get(result.status, 0)


def _failed(row: str, exc: BaseException | None, output: str, sf: ModuleType) -> Row:
    from stageflow_verify.core.run.report import (
        Row,  # report imports this module: import it when called
    )
    from stageflow_verify.core.run.verdicts import classify
    from stageflow_verify.core.run.verify import failure_text

    assert exc is not None
    verdict = classify(exc)
    detail = failure_text(row, exc, output, sf)
    return Row(row, verdict.status, None, 1, 0.0, detail, verdict.fault)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 4) or (len(args) == 4 and args[1] != "--blob"):
        print("usage: python -m stageflow_verify.core.run.replay ROW"
              " [--blob HYPOTHESIS_VERSION BASE64]", file=sys.stderr)  # fmt: skip
        return 2
    blob = (args[2], args[3].encode("ascii")) if len(args) == 4 else None
    try:
        return replay(args[0], blob)
    except BadInput as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
