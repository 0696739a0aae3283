"""Triage of the generated mutants that survive ``make mutation`` (ids of
:mod:`core.run.mutant_generation`: ``file:line:operator:occurrence``, stageflow 1.2.0).

``EQUIVALENT``: survivors judged equivalent, each with the one-line reason no user of
stageflow's public API could tell the mutant from pristine. The runner reports them as
``equivalent``, never as killed; an entry that verify does kill is reported as a stale triage.

``KNOWN_GAPS``: survivors that *are* observable (the reason says how), so the suite is blind
there; each is work for issue 15 item 3 (or issues 13-14 for the later modules). They are
reported as ``survived`` and listed, but do not fail the run; a survivor in neither dict does.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {}

KNOWN_GAPS: dict[str, str] = {}
