# Layout of core/run/, the commands that run checks and write their reports:
#
#   checks.py           Check and Finding, discovered from stateful/ and properties/
#   profiles.py         Hypothesis profiles (dev, ci, nightly, crosshair), HYPOTHESIS_DB
#   verify.py           `make verify`: every check, the table, reports/
#   report.py           verify's table, JSON and Markdown; findings_report.py: findings.md
#   matrix.py           STAGEFLOW=, SUT= and verify-all: one verify per Stageflow version
#   nightly.py          `make nightly` (nightly_shard.py: one xdist worker's share)
#   modelcheck.py       `make modelcheck`: exhaustive scenarios and the models' state walks
#   contracts.py        `make contracts`: CrossHair over models/ and the checker
#   mutation.py         `make mutation`: verify against every planted bug of tests/quality
#   mutant_generation.py  cosmic-ray mutants of stageflow's in-scope modules: ids, sampling
#   generated_mutation.py `make mutation`'s generated half: score, triage, per-module table
#   bounded.py          subprocesses with a total time budget (contracts, diffbehavior)
#
# It may import core.sched, core.check, core.sut and models; nothing imports it but tests.
"""The runners: `make verify`, matrix, nightly, modelcheck, contracts and mutation.

The public names are re-exported lazily: ``python -m core.run.matrix`` must run on the system
Python before ``.venv`` exists (the Makefile checks STAGEFLOW= and SUT= with it), so importing
this package may not import Hypothesis or Stageflow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Check": "checks",
    "Finding": "checks",
    "discover_checks": "checks",
    "discover_findings": "checks",
    "adopting_known": "checks",
    "reproducing_ids": "checks",
    "load_selected_profile": "profiles",
    "ProfileError": "profiles",
    "Row": "report",
    "VerifyReport": "report",
    "run_captured": "verify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"core.run.{_EXPORTS[name]}"), name)
