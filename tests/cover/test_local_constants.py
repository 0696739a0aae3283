"""Hypothesis draws no constant from the suite's own source (core/run/local_constants.py).

A module outside site-packages, with a literal nothing else would produce, is imported while a
derandomized search runs: with the suite's patch in place that literal is never drawn; with
Hypothesis's own function back (the planted bug), the same search draws it, so the test can
tell the two apart.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers

from stageflow_verify.core.run import (
    local_constants,
    profiles,  # noqa: F401 (applies the patch on import)
)

MARKER = 987_654_321  # in the module written below, and nowhere else


@pytest.fixture
def local_module(tmp_path: Path) -> Iterator[None]:
    source = tmp_path / "some_local_module.py"
    source.write_text(f"THRESHOLD = {MARKER}\n")
    spec = importlib.util.spec_from_file_location("some_local_module", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["some_local_module"] = module
    spec.loader.exec_module(module)
    yield
    del sys.modules["some_local_module"]


def drawn() -> set[int]:
    seen: set[int] = set()

    @settings(derandomize=True, database=None, max_examples=400)
    # A wide range around MARKER: a random draw almost never lands on it, while a constant
    # drawn from the local pool is MARKER, the only local literal in range.
    @given(st.integers(MARKER - 10**6, MARKER + 10**6))
    def search(n: int) -> None:
        seen.add(n)

    search()
    return seen


def test_the_suite_patch_is_what_hypothesis_calls() -> None:
    # Hypothesis renamed or dropped the function: the patch would do nothing, silently.
    assert providers._get_local_constants is local_constants._no_local_constants
    assert len(providers._get_local_constants()) == 0


@pytest.mark.usefixtures("local_module")
def test_a_local_literal_is_never_drawn() -> None:
    assert MARKER not in drawn()


@pytest.mark.usefixtures("local_module")
def test_without_the_patch_the_same_search_draws_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "_get_local_constants", ORIGINAL)
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        assert MARKER in drawn()
    finally:
        providers.CONSTANTS_CACHE.cache.clear()


# Hypothesis's own function, kept by the module before it replaced it.
ORIGINAL = local_constants.HYPOTHESIS_LOCAL_CONSTANTS
