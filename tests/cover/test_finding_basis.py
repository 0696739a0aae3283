"""Every finding says why it is a bug and how bad it is, and its quotes are Stageflow's words.

A ``documented`` basis quotes Stageflow at ``file:line``; this test opens that line (in the
installed package, or in the upstream guides when they are checked out at ``STAGEFLOW_DOCS``,
default ``/work/upstream/docs``) and requires the quoted words to start within a few lines of
it, whitespace and Markdown emphasis aside, so a quote cannot drift from its source or be
paraphrased into a stronger promise. Withdrawn findings are held to the same rule.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from stageflow_verify.core.run.checks import Finding, Quote, discover_findings
from stageflow_verify.core.run.withdrawn import discover_withdrawn
from stageflow_verify.core.sut import stageflow_module

FINDINGS = discover_findings()
WITHDRAWN = discover_withdrawn()
DOCS = Path(os.environ.get("STAGEFLOW_DOCS", "/work/upstream/docs"))
# A quote may wrap onto the next lines of its docstring or guide.
SPAN = 4


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "").replace("`", "")).strip()


def _source(where: str) -> Path | None:
    path, _, line = where.rpartition(":")
    assert line.isdigit(), f"{where!r} is not path:line"
    if path.startswith("stageflow/"):
        package = Path(stageflow_module().__file__ or "").parent
        return package / path.removeprefix("stageflow/")
    assert path.startswith("docs/"), f"{where!r} is neither stageflow/... nor docs/..."
    guide = DOCS / path.removeprefix("docs/")
    return guide if DOCS.is_dir() else None


QUOTES = [(owner, q) for f in FINDINGS if f.basis for q in f.basis.quotes for owner in [f.id]] + [
    (w.id, q) for w in WITHDRAWN for q in w.basis.quotes
]


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.id)
def test_every_finding_has_a_basis_and_a_severity(finding: Finding) -> None:
    assert finding.basis is not None, f"{finding.id} says nothing of why it is a bug"
    assert finding.severity is not None and finding.severity.why, f"{finding.id}: severity?"
    assert finding.fix, f"{finding.id} does not say where in Stageflow the fix belongs"
    assert len(finding.symptoms) != 1, "one symptom is the finding itself: list none or several"


@pytest.mark.parametrize(("owner", "quote"), QUOTES, ids=lambda v: v if isinstance(v, str) else "")
def test_every_quote_is_at_the_line_it_cites(owner: str, quote: Quote) -> None:
    path = _source(quote.where)
    if path is None:
        pytest.skip(f"the upstream guides are not checked out at {DOCS}")
    line = int(quote.where.rpartition(":")[2])
    lines = path.read_text().splitlines()
    window = _normal(" ".join(lines[line - 1 : line - 1 + SPAN]))
    first = _normal(lines[line - 1])
    text = _normal(quote.text)
    assert text in window and window.index(text) < len(first), (
        f"{owner}: {quote.text!r} is not at {quote.where} (that line reads {lines[line - 1]!r})"
    )


def test_no_withdrawn_id_is_still_registered_and_merged_ids_are_gone() -> None:
    ids = {f.id for f in FINDINGS}
    assert not ids & {w.id for w in WITHDRAWN}
    merged = {m for f in FINDINGS for m in f.merged}
    assert not ids & merged and not merged & {w.id for w in WITHDRAWN}
