"""Planted bugs in Stageflow's value types are found, and shrunk, by the value laws.

Each bug is planted with pytest's monkeypatch (never by editing the installed package) and
undone when the test ends. The check's ``run()`` must raise with Hypothesis's falsifying
example; the same check passes on pristine Stageflow (tests/cover/test_properties_values.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import stageflow
from stageflow.utils.frozen import FrozenDict

from stageflow_verify.core.run.checks import Check
from stageflow_verify.properties import frozen, stage_output


def _check(module: Any, name: str) -> Check:
    checks: list[Check] = module.CHECKS
    return next(c for c in checks if c.name == name)


def test_frozen_dict_item_assignment_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def __setitem__(self: FrozenDict[Any, Any], key: Any, value: Any) -> None:
        self._data[key] = value

    monkeypatch.setattr(FrozenDict, "__setitem__", __setitem__, raising=False)
    with pytest.raises(AssertionError, match=r"FrozenDict allowed fd\[k\] = v") as info:
        _check(frozen, "values.frozen_dict_immutable").run()
    # Shrunk: a dict of at most one short entry, printed as a call. (Which small dict the
    # shrinker ends on depends on the constants Hypothesis mines from the loaded modules.)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "frozen_dict_immutable_law(" in notes, notes
    assert re.search(r"data=\{[^,]{0,12}\},", notes), notes


def test_factory_dropping_version_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    pristine_ok = stageflow.StageOutput.ok

    def ok(data: Any = None, *, version: str | None = None, **kwargs: Any) -> Any:
        return pristine_ok(data, **kwargs)  # the planted bug: version is dropped

    monkeypatch.setattr(stageflow.StageOutput, "ok", staticmethod(ok))
    with pytest.raises(AssertionError, match=r"StageOutput.ok dropped version") as info:
        _check(stage_output, "values.stage_output_factories").run()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "stage_output_factory_law(" in notes and "'ok'" in notes and "'version': ''" in notes


def test_planted_bugs_leave_no_trace() -> None:
    assert "__setitem__" not in FrozenDict.__dict__
    _check(frozen, "values.frozen_dict_immutable").run()
    _check(stage_output, "values.stage_output_factories").run()
