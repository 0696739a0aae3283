"""Generated mutants (core/run/mutant_generation.py, core/run/generated_mutation.py): the sample
is reproducible, ids are stable, every mutant changes the code, scoring reads verify's verdict,
and bad input stops with exit 2. Two real mutants go through verify on the fast ``values.frozen_*``
laws; the sample itself is `make mutation`'s job, never `make test`'s."""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from pathlib import Path

import pytest

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run import mutant_generation
from stageflow_verify.core.run.generated_mutation import Scored, score, triage, write_section
from stageflow_verify.core.run.mutant_generation import (
    MODULE_GROUPS,
    GeneratedMutant,
    generate,
    generate_file,
    mutated_source,
    parse_sample,
    sample,
)
from stageflow_verify.core.run.mutation import main, stageflow_package
from tests.quality.equivalent_mutants import EQUIVALENT, KNOWN_GAPS

ID = re.compile(r"^[a-z_/]+\.py:\d+:[A-Za-z_]+:\d+$")
FAST_CHECKS = ("values.frozen_*",)


@pytest.fixture(scope="module")
def modelled() -> list[GeneratedMutant]:
    found = generate(stageflow_package(), MODULE_GROUPS["modelled"])
    return [m for each in found.values() for m in each.mutants]


def test_ids_are_unique_stable_and_name_file_line_operator_occurrence(
    modelled: list[GeneratedMutant],
) -> None:
    ids = [m.id for m in modelled]
    assert len(set(ids)) == len(ids)
    assert all(ID.match(i) for i in ids), [i for i in ids if not ID.match(i)][:3]
    again = generate_file(stageflow_package(), "utils/frozen.py").mutants
    assert [m.id for m in again] == [m.id for m in modelled if m.file == "utils/frozen.py"]


def test_every_mapped_glob_matches_a_check_and_every_module_is_mapped() -> None:
    names = [c.name for c in registry.discover_checks()]
    names += [f"finding.{f.id}" for f in registry.discover_findings()]
    # The later modules run every check on purpose, but issue 16's files, scored on their own.
    mapped = set(MODULE_GROUPS["modelled"]) | set(MODULE_GROUPS["interceptors"])
    for file, globs in mutant_generation.CHECKS_BY_FILE.items():
        assert file in mapped
        for glob in globs:
            assert fnmatch.filter(names, glob), f"{file}: {glob!r} matches no verify row"
    assert mapped <= set(mutant_generation.CHECKS_BY_FILE)


def test_a_seed_gives_the_same_sample_and_another_seed_another(
    modelled: list[GeneratedMutant],
) -> None:
    first = sample(modelled, 30, seed=15)
    assert len(first) == 30 and first == sample(modelled, 30, seed=15)
    assert first != sample(modelled, 30, seed=16)
    assert sample(modelled, 10, seed=15) == first[:10]  # a prefix is a smaller sample
    assert sorted(sample(modelled, None, seed=15), key=modelled.index) == modelled
    assert sample(modelled, 10_000, seed=15) == sample(modelled, None, seed=15)


def test_every_operator_changes_the_code_on_the_line_its_id_names(
    modelled: list[GeneratedMutant],
) -> None:
    package = stageflow_package()
    for mutant in sample(modelled, 40, seed=1):  # one per operator family is plenty
        source = (package / mutant.file).read_text()
        mutated = mutated_source(package, mutant)
        compile(mutated, mutant.file, "exec")
        changed = [
            group[1] + 1
            for group in difflib.SequenceMatcher(
                None, source.splitlines(), mutated.splitlines()
            ).get_opcodes()
            if group[0] != "equal"
        ]
        assert changed and changed[0] in (mutant.line, mutant.line - 1), (mutant.id, changed)


def test_annotations_and_unpacking_stars_are_not_mutated(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "from __future__ import annotations\n"
        "def f(x: int | None, *, y: dict[str, int] | None = None) -> int | None:\n"
        "    z: int | None = 0\n"
        "    return g(x | z, **{**(y or {})})\n"
    )
    found = generate_file(tmp_path, "m.py")
    bitor = [m for m in found.mutants if m.operator.startswith("ReplaceBinaryOperator_BitOr")]
    assert {m.line for m in bitor} == {4}  # only `x | z` in the body
    assert found.skipped_in_annotations > 0 and found.skipped_unpacking_stars > 0
    assert not [m for m in found.mutants if m.operator.startswith("ReplaceBinaryOperator_Mul")]
    assert not [m for m in found.mutants if m.operator.startswith("ReplaceBinaryOperator_Pow")]


def test_exception_replacer_gets_a_class_nothing_raises(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "def f():\n    try:\n        return 1 // 0\n"
        "    except ZeroDivisionError:\n        return 0\n"
    )
    (mutant,) = [m for m in generate_file(tmp_path, "m.py").mutants if "Exception" in m.operator]
    namespace: dict[str, object] = {}
    exec(compile(mutated_source(tmp_path, mutant), "m.py", "exec"), namespace)
    with pytest.raises(ZeroDivisionError):  # the handler catches nothing now, no NameError
        namespace["f"]()  # type: ignore[operator]


def _fast(monkeypatch: pytest.MonkeyPatch, file: str) -> None:
    monkeypatch.setitem(mutant_generation.CHECKS_BY_FILE, file, FAST_CHECKS)


def test_a_mutant_verify_sees_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    _fast(monkeypatch, "utils/frozen.py")  # FrozenDict(data) keeps no data: the laws fail
    outcome = score(GeneratedMutant("utils/frozen.py", 37, "AddNot", 0))
    assert outcome.verdict == "killed" and outcome.new_rows, outcome.detail


def test_a_mutant_the_checks_cannot_see_survives(monkeypatch: pytest.MonkeyPatch) -> None:
    _fast(monkeypatch, "context/bag.py")  # the frozen laws never touch ContextBag
    outcome = score(GeneratedMutant("context/bag.py", 71, "AddNot", 0))
    assert outcome.verdict == "survived" and not outcome.new_rows, outcome.detail


def test_a_triaged_survivor_is_equivalent_never_killed() -> None:
    survivor = Scored("a.py:1:AddNot:0", "a.py", "survived", 1.0)
    assert triage(survivor, {"a.py:1:AddNot:0": "why"}, {}).verdict == "equivalent"
    killed = Scored("a.py:1:AddNot:0", "a.py", "killed", 1.0)
    assert triage(killed, {"a.py:1:AddNot:0": "why"}, {}).verdict == "killed"
    gap = triage(Scored("b.py:2:AddNot:0", "b.py", "survived", 1.0), {}, {"b.py:2:AddNot:0": "x"})
    assert gap.verdict == "survived" and gap.triage == "x"


def test_every_triaged_id_is_a_generated_mutant(modelled: list[GeneratedMutant]) -> None:
    triaged = set(EQUIVALENT) | set(KNOWN_GAPS)
    later_files = {i.split(":", 1)[0] for i in triaged} & set(MODULE_GROUPS["later"])
    later = generate(stageflow_package(), sorted(later_files))
    known = {m.id for m in modelled} | {m.id for f in later.values() for m in f.mutants}
    assert triaged <= known, sorted(triaged - known)
    assert not set(EQUIVALENT) & set(KNOWN_GAPS)
    assert all(reason.strip() for reason in [*EQUIVALENT.values(), *KNOWN_GAPS.values()])


def test_both_halves_share_mutation_json(tmp_path: Path) -> None:
    write_section(tmp_path, "catalog", [{"id": "pristine"}])
    write_section(tmp_path, "generated", {"sample": 3})
    assert json.loads((tmp_path / "mutation.json").read_text()) == {
        "complete": True,
        "catalog": [{"id": "pristine"}],
        "generated": {"sample": 3},
    }


@pytest.mark.parametrize(
    "argv",
    [["--sample=abc"], ["--sample=-1"], ["--sample=1.5"], ["--seed=x"], ["--modules=nope"]],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--no-catalog", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1


def test_an_unknown_generated_id_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-catalog", "--generated=utils/frozen.py:1:AddNot:99"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_sample_parses_counts_and_all() -> None:
    assert parse_sample("all") is None and parse_sample("0") == 0 and parse_sample("40") == 40
