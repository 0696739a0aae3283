"""Planted bugs in read paths the bag machines and frozen-type laws gained for `make reach`:
``stage in bag``, the bags' debugging reprs, ``FrozenList.copy`` (read element-wise, so the
adopted SF-VAL-04 no longer shields it) and the frozen types' reprs. Each must fail its check;
pristine Stageflow passes them all (test_planted_bags.py, tests/cover/test_properties_values.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stageflow_verify.core.run.checks import Check
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties import frozen
from stageflow_verify.stateful.bag_machine import run_context_bag, run_output_bag
from tests.quality.planting import expect_failure

sf = stageflow_module()
OutputBag = sf.context.OutputBag
ContextBag = sf.context.ContextBag
FrozenDict = sf.utils.frozen.FrozenDict
FrozenList = sf.utils.frozen.FrozenList


def _law(name: str) -> Callable[[], None]:
    checks: list[Check] = frozen.CHECKS
    return next(c for c in checks if c.name == name).run


PLANTED: list[tuple[Any, str, Any, Callable[[], None], str]] = [
    # `in` answers for the wrong table: stages that were never written are "in" the bag.
    (OutputBag, "__contains__", lambda self, stage: True, run_output_bag, "in('stt') gives True"),
    (OutputBag, "__repr__", lambda self: "OutputBag(stages=[])", run_output_bag, "repr() gives ()"),
    (ContextBag, "__repr__", lambda self: "ContextBag(keys=[])", run_context_bag,
     "repr() gives ()"),
    (FrozenList, "copy", lambda self: FrozenList([]), _law("values.frozen_list_sequence_laws"),
     "copy() lost the data"),
    (FrozenList, "__repr__", lambda self: "FrozenList([...])",
     _law("values.frozen_list_sequence_laws"), "repr hides an item"),
    (FrozenDict, "__repr__", lambda self: "FrozenDict({...})",
     _law("values.frozen_dict_mapping_laws"), "repr hides a key"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("owner", "name", "bug", "run", "symptom"),
    PLANTED,
    ids=[f"{owner.__name__}.{name}" for owner, name, *_ in PLANTED],
)
def test_planted_read_path_bug_fails_its_check(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
    bug: Any,
    run: Callable[[], None],
    symptom: str,
) -> None:
    monkeypatch.setattr(owner, name, bug)
    caught = expect_failure(run)
    assert symptom in caught.report + str(caught.error), caught.report


def test_adopted_sf_val_09_excuses_only_the_missing_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SF-VAL-09 (to_dict omits the version) stays adopted; a to_dict that writes a *wrong*
    version is a second bug in the same code, and the law must still report it."""
    from stageflow_verify.properties import records

    entry_class = sf.context.OutputEntry
    original = entry_class.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        return {**original(self), "version": "v-wrong"}

    monkeypatch.setattr(entry_class, "to_dict", to_dict)
    check = next(c for c in records.CHECKS if c.name == "values.output_entry_to_dict")
    caught = expect_failure(check.run)
    assert "lost the version" in str(caught.error), caught.report
