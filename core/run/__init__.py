# Layout of core/run/, the commands that run checks and write their reports:
#
#   checks.py           Check and Finding (with its basis and severity), discovered from
#                       stateful/ and properties/; withdrawn.py: findings checked, not a bug
#   profiles.py         Hypothesis profiles (dev, ci, nightly, crosshair), HYPOTHESIS_DB
#   verify.py           `make verify`: every check, the table, reports/
#   verdicts.py         a failure's status: NEW (Stageflow's) or ERROR (the suite's), and where
#   replay.py           the replay command and reports/failures/<row>.py of a NEW row
#   replay_blob.py      replaying one shrunk case from Hypothesis's @reproduce_failure blob
#   report.py           verify's table, JSON and Markdown; findings_report.py: findings.md and
#                       issues/<id>.md, with each finding's standalone script
#                       (reproducer_script.py) and swimlanes (reproducer_swimlanes.py)
#   version_records.py  reports/versions/<label>/: one record per Stageflow verified, read back
#                       as the releases a finding was measured on
#   matrix.py           STAGEFLOW=, SUT= and verify-all: one verify per Stageflow version
#   matrix_table.py     verify-all's table: check x version, totals, legend (stdlib only)
#   nightly.py          `make nightly` (nightly_shard.py: one xdist worker's share)
#   modelcheck.py       `make modelcheck`: exhaustive scenarios and the models' state walks
#   contracts.py        `make contracts`: CrossHair over models/ and the checker
#   mutation.py         `make mutation`: verify against every planted bug of tests/quality
#   reach.py            `make reach`: verify under coverage.py over the in-scope modules of
#                       reach_scope.py (the one list, and what is not a promise); reach_report.py
#                       renders its table, reach.json and reach.html
#   mutant_generation.py  cosmic-ray mutants of stageflow's in-scope modules: ids, sampling
#   generated_mutation.py `make mutation`'s generated half: score, triage, per-module table
#   bounded.py          subprocesses with a total time budget (contracts, diffbehavior)
#
# It may import core.sched, core.check, core.sut and models; nothing imports it but tests.
"""The runners: `make verify`, matrix, nightly, modelcheck, contracts and mutation.

The public names are re-exported lazily: ``core/run/matrix.py`` must run on the system Python
before ``.venv`` exists (the Makefile checks STAGEFLOW= and SUT= with it), so importing this
package may not import Hypothesis or Stageflow.
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
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
