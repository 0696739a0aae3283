"""Findings checked and withdrawn: the behaviour is what Stageflow documents as intended.

A withdrawn finding keeps its id (so an old report or bisect log that names it can be looked up)
and says why it is not a bug, quoting the documentation that makes the behaviour intended, as a
good upstream report lists what it checked and ruled out. Modules under ``stateful/`` and
``properties/`` publish theirs in a module-level ``WITHDRAWN`` list, beside their ``FINDINGS``;
verify never runs them, and ``reports/findings.md`` and the README list them.

A model that once adopted a withdrawn finding as a deviation now states the documented behaviour
as its own rule (quoting the same words), so the check passes on pristine Stageflow and still
fails when Stageflow departs from its documentation.
"""

from __future__ import annotations

from dataclasses import dataclass

from stageflow_verify.core.run.checks import Basis, _published


@dataclass(frozen=True)
class Withdrawn:
    """``basis`` quotes the documentation that makes the behaviour intended (or, where nothing
    promises otherwise, the documentation that shows there is no promise to break). ``see``
    names the finding that carries the promise really broken nearby, if there is one."""

    id: str
    title: str
    reason: str
    basis: Basis
    see: str = ""

    def __post_init__(self) -> None:
        if not self.basis.quotes:
            raise ValueError(f"{self.id}: a withdrawal quotes the documentation that allows it")


def discover_withdrawn() -> list[Withdrawn]:
    return sorted(_published("WITHDRAWN", Withdrawn), key=lambda w: w.id)
