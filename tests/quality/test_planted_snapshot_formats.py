"""Planted bugs in ContextSnapshot.from_dict's legacy and typed-extension paths fail the
snapshot-format laws; pristine Stageflow passes them (both run in `make verify`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from stageflow_verify.core.run.checks import Check
from stageflow_verify.core.sut.values import snapshot_takes_dict_extensions
from stageflow_verify.properties import snapshot, snapshot_formats
from tests.quality.planting import expect_failure, expect_pass

ContextSnapshot = pytest.importorskip("stageflow.context").ContextSnapshot


def _check(name: str) -> Check:
    return next(c for c in snapshot_formats.CHECKS if c.name == name)


def _wrap_from_dict(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any], dict[str, Any]], Any]
) -> None:
    """from_dict, with ``change(data, kwargs)`` applied to its input first."""
    original = ContextSnapshot.from_dict.__func__

    def from_dict(cls: Any, /, data: dict[str, Any], **kwargs: Any) -> Any:
        data = dict(data)
        change(data, kwargs)
        return original(cls, data, **kwargs)

    monkeypatch.setattr(ContextSnapshot, "from_dict", classmethod(from_dict))


def legacy_messages_ignored(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    if "conversation" not in data:
        data["messages"] = []


def legacy_profile_ignored(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    if "enrichments" not in data:
        data["profile"] = None


def legacy_interaction_id_dropped(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    if "run_id" not in data:
        data["interaction_id"] = None


def legacy_lone_documents_dropped(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    # The generated mutant context_snapshot.py:297:ReplaceOrWithAnd:2: `documents and
    # web_results`, so documents (or web results) alone build no Enrichments.
    nothing_else = not data.get("profile") and not data.get("memory")
    both = data.get("documents") and data.get("web_results")
    if "enrichments" not in data and nothing_else and not both:
        data["documents"], data["web_results"] = [], []


def missing_created_at_is_naive(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    data.setdefault("created_at", datetime(2026, 1, 1).isoformat())


def registry_ignored(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    kwargs.pop("extension_types", None)


def bundle_type_name_dropped(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    data.pop("extensions_type", None)


@pytest.mark.parametrize(
    ("change", "check", "symptom"),
    [
        (legacy_messages_ignored, "values.context_snapshot_legacy_dict", "legacy flat dict"),
        (legacy_profile_ignored, "values.context_snapshot_legacy_dict", "legacy flat dict"),
        (legacy_interaction_id_dropped, "values.context_snapshot_legacy_dict", "legacy flat"),
        (missing_created_at_is_naive, "values.context_snapshot_legacy_dict", "not UTC"),
        (legacy_lone_documents_dropped, "values.context_snapshot_legacy_dict", "legacy flat"),
        (registry_ignored, "values.context_snapshot_typed_extensions", "extension_types"),
        (bundle_type_name_dropped, "values.context_snapshot_typed_extensions", "!= s"),
    ],
    ids=lambda v: getattr(v, "__name__", None) or "",
)
def test_planted_from_dict_bug_fails_its_law(
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[dict[str, Any], dict[str, Any]], Any],
    check: str,
    symptom: str,
) -> None:
    _wrap_from_dict(monkeypatch, change)
    caught = expect_failure(_check(check).run)
    assert symptom in str(caught.error), caught.report


@pytest.mark.parametrize("check", [c.name for c in snapshot_formats.CHECKS])
def test_pristine_stageflow_passes(check: str) -> None:
    expect_pass(_check(check).run)


def test_a_to_dict_that_breaks_on_dict_extensions_fails_the_roundtrip_not_the_probe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The generated mutant context_snapshot.py:198:AddNot:9 (`if not hasattr(..., "to_dict")`):
    # a dict's .to_dict() raises AttributeError. The feature probe must not read that as
    # "this version has no dict extensions" and stop drawing them.
    original = ContextSnapshot.to_dict

    def to_dict(self: Any) -> Any:
        if isinstance(self.extensions, dict):
            raise AttributeError("'dict' object has no attribute 'to_dict'")
        return original(self)

    monkeypatch.setattr(ContextSnapshot, "to_dict", to_dict)
    assert snapshot_takes_dict_extensions(), "the probe reads the planted bug as a feature gap"
    roundtrip = next(c for c in snapshot.CHECKS if c.name == "values.context_snapshot_roundtrip")
    caught = expect_failure(roundtrip.run)
    assert isinstance(caught.error, AttributeError), caught.report
