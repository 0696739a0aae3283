"""The planted-bug catalog is sound: it applies, it covers every class, no mutant is equivalent.

``make mutation`` is too slow for ``make test`` (it runs verify once per mutant); these tests
check what makes its numbers mean something, cheaply: each edit still matches the installed
stageflow exactly once, the installed package is never written, every mutant's witness differs
from pristine (run in one interpreter for all copies), and one mutant goes end to end through
verify, killed, next to a clean pristine copy.
"""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path

import pytest

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run.mutation import (
    Edit,
    Mutant,
    StaleCatalogError,
    apply,
    judge,
    make_copy,
    run_verify,
    run_witness_batch,
    stageflow_package,
)
from tests.quality.mutants import MUTANTS

CLASSES = {"fork", "frozen_dict", "output_bag", "context_bag", "spawner", "graph"}


def _digest(package: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        sha.update(path.read_bytes())
    return sha.hexdigest()


def test_catalog_has_25_unique_mutants_covering_every_class() -> None:
    ids = [m.id for m in MUTANTS]
    assert len(ids) >= 25 and len(set(ids)) == len(ids)
    areas = {m.area for m in MUTANTS}
    assert areas >= CLASSES, f"classes without a mutant: {CLASSES - areas}"
    assert all(sum(m.area == a for m in MUTANTS) >= 3 for a in CLASSES)


def test_every_mutant_targets_existing_checks() -> None:
    names = [c.name for c in registry.discover_checks()]
    for mutant in MUTANTS:
        for glob in mutant.checks:
            assert fnmatch.filter(names, glob), f"{mutant.id}: {glob!r} matches no check"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_every_edit_occurs_exactly_once_in_installed_stageflow(mutant: Mutant) -> None:
    package = stageflow_package()
    for edit in mutant.edits:
        assert (package / edit.file).read_text().count(edit.old) == 1, edit.old


def test_a_stale_edit_is_refused(tmp_path: Path) -> None:
    stale = Mutant("fork.stale", "", (Edit("stages/context.py", "no such text", ""),), (), "")
    copy = make_copy(tmp_path, None)
    with pytest.raises(StaleCatalogError, match="occurs 0 times"):
        apply(stale, copy / "stageflow")


# Two shards, so `make test`'s two xdist workers share the re-imports (about 0.3 s each).
@pytest.mark.parametrize("shard", [0, 1])
def test_each_witness_differs_between_pristine_and_its_mutant(tmp_path: Path, shard: int) -> None:
    mutants = MUTANTS[shard::2]
    installed = _digest(stageflow_package())
    pristine = make_copy(tmp_path / "pristine", None)
    copies = [make_copy(tmp_path / m.id, m) for m in mutants]
    pairs = [(pristine, m.witness) for m in mutants] + [
        (copy, m.witness) for copy, m in zip(copies, mutants, strict=True)
    ]
    results = run_witness_batch(pairs, pristine)
    before, after = results[: len(mutants)], results[len(mutants) :]
    same = [
        f"{m.id}: {m.witness} gives {b} on both"
        for m, b, a in zip(mutants, before, after, strict=True)
        if a == b
    ]
    assert not same, "equivalent mutants (or witnesses that miss them):\n" + "\n".join(same)
    assert not [b for b in before if b.startswith("raised")], before
    assert _digest(stageflow_package()) == installed, "the installed stageflow was modified"


def test_a_planted_bug_is_killed_and_pristine_is_clean(tmp_path: Path) -> None:
    mutant = next(m for m in MUTANTS if m.id == "frozen_dict.item_assignment")
    outcome = judge(mutant, mutant.checks, baseline=False, pristine_witness={})
    assert outcome.verdict == "killed", outcome.detail
    assert outcome.new_rows == ["values.frozen_dict_immutable"]
    code, new_rows, output = run_verify(
        make_copy(tmp_path, None), mutant.checks, tmp_path / "reports"
    )
    assert (code, new_rows) == (0, []), output
