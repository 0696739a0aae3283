"""Whose code a frame runs: Stageflow's, a planted bug's, the suite's, Hypothesis's, or other.

Two parts of verify ask this of a traceback or a stack: the verdicts (is a failure Stageflow's,
NEW, or the suite's, ERROR) and the watchdog (is a hang Stageflow's or the suite's). One answer
for both, by the file a frame runs, not its module name: a mutant or a ``SUT=`` copy of
Stageflow is whatever ``stageflow`` package is imported, wherever it lies, and a bug a test
plants in Stageflow's place lives in ``tests/``, so it stands in for Stageflow.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Literal

Owner = Literal["stageflow", "planted", "suite", "hypothesis", "other"]

ROOT = Path(__file__).resolve().parents[2]
SUITE_DIRS = tuple(ROOT / d for d in ("core", "stateful", "properties", "models"))
PLANTED_DIR = ROOT / "tests"


def _imported_dirs(package: str) -> tuple[Path, ...]:
    # Only what is imported: a package nobody imported ran no frame.
    module = sys.modules.get(package)
    return _resolved(tuple(getattr(module, "__path__", ())))


@functools.lru_cache(maxsize=16)
def _resolved(paths: tuple[str, ...]) -> tuple[Path, ...]:
    # Cached like _owner: both packages' dirs are asked for on every call.
    return tuple(Path(p).resolve() for p in paths)


def code_owner(filename: str) -> Owner:
    """The owner of the code in ``filename`` (a frame's ``co_filename``)."""
    return _owner(filename, _imported_dirs("stageflow"), _imported_dirs("hypothesis"))


@functools.lru_cache(maxsize=4096)
def _owner(filename: str, stageflow: tuple[Path, ...], hypothesis: tuple[Path, ...]) -> Owner:
    # Cached per file and per imported Stageflow: the watchdog asks for every frame of every
    # task once a second, and resolving a path is a system call.
    path = Path(filename).resolve()

    def under(*directories: Path) -> bool:
        return any(path.is_relative_to(d) for d in directories)

    # Stageflow first: a copy of it may lie anywhere, even under tests/.
    if under(*stageflow):
        return "stageflow"
    if under(PLANTED_DIR):
        return "planted"
    if under(*SUITE_DIRS):
        return "suite"
    return "hypothesis" if under(*hypothesis) else "other"
