"""The adopted SF-VAL-11 excuses exactly its symptom in ``values.context_snapshot_frozen``: a
second bug in the same law (here, in to_dict and in the metadata it hands out) still fails the
check as verify runs it, with SF-VAL-11 reproducing and adopted; pristine Stageflow passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stageflow_verify.core.run.checks import Check, reproducing_ids
from stageflow_verify.properties import snapshot
from tests.quality.planting import expect_failure, expect_pass

ContextSnapshot = pytest.importorskip("stageflow.context").ContextSnapshot


def _frozen_check() -> Check:
    return next(c for c in snapshot.CHECKS if c.name == "values.context_snapshot_frozen")


def _wrap_to_dict(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[Any, dict[str, Any]], dict[str, Any]]
) -> None:
    original = ContextSnapshot.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        return change(self, original(self))

    monkeypatch.setattr(ContextSnapshot, "to_dict", to_dict)


def to_dict_memoized(monkeypatch: pytest.MonkeyPatch) -> None:
    # A cache keyed on the snapshot: every call hands out one dict, so the caller's writes
    # into its top level (not only into metadata) change what the snapshot serialises to.
    cache: dict[int, dict[str, Any]] = {}
    _wrap_to_dict(monkeypatch, lambda s, d: cache.setdefault(id(s), d))


def metadata_write_loses_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # Metadata still shared (SF-VAL-11's symptom), and a write through it also drops the
    # keys that were there before: more than the finding shows.
    def change(s: Any, d: dict[str, Any]) -> dict[str, Any]:
        if "<to_dict>" in s.metadata:
            kept = {k: v for k, v in s.metadata.items() if k.startswith("<")}
            s.metadata.clear()
            s.metadata.update(kept)
        return d

    _wrap_to_dict(monkeypatch, change)


def metadata_write_changes_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # A write through to_dict() shows through with a value other than the one written.
    def change(s: Any, d: dict[str, Any]) -> dict[str, Any]:
        if s.metadata.get("<to_dict>") is True:
            s.metadata["<to_dict>"] = "<changed>"
        return d

    _wrap_to_dict(monkeypatch, change)


@pytest.mark.parametrize(
    "plant", [to_dict_memoized, metadata_write_loses_keys, metadata_write_changes_value]
)
def test_second_bug_in_the_frozen_law_fails_although_sf_val_11_is_adopted(
    monkeypatch: pytest.MonkeyPatch, plant: Callable[[pytest.MonkeyPatch], None]
) -> None:
    plant(monkeypatch)
    assert "SF-VAL-11" in reproducing_ids(snapshot.FINDINGS)  # adopted, as in verify
    caught = expect_failure(_frozen_check().run)
    assert "the 'immutable' snapshot changed after creation" in str(caught.error)


def test_pristine_stageflow_passes_the_frozen_law_with_sf_val_11_adopted() -> None:
    assert "SF-VAL-11" in reproducing_ids(snapshot.FINDINGS)
    expect_pass(_frozen_check().run)
