"""A counterexample left unshrunk in the example database is shrunk again before it is reported.

Issue 22 item 6. A run interrupted while shrinking leaves in the database the failure it had
reached, and the next run replays that first. Hypothesis 6.170 then reports it *as stored*: when
every primary entry replays exactly, ``ConjectureRunner._run`` skips generation and shrinking
alike ("fast path for development", ``internal/conjecture/engine.py``), whatever the phases say.
So ``dev`` and ``nightly`` (the profiles that keep a database; ``ci`` and ``crosshair`` keep
none) wrap theirs in :class:`core.run.reshrink.ShrinkAgainDatabase`, which makes the replayed
failure go through the shrink phase.

Planted here: ``StageOutput.ok`` dropping every key whose value is 10 or more. The unshrunk
entry is made as an interrupted shrink leaves one: by a run without the shrink phase, which saves
the first failure it finds. The next run must try that entry first and report the minimal
example, ``{'': 10}``. A third test pins Hypothesis's own behaviour, so an upgrade that drops the
fast path shows up here and the wrapper can go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from stageflow_verify.core.run import profiles  # noqa: F401 (registers the profiles)
from stageflow_verify.core.run.reshrink import ShrinkAgainDatabase
from stageflow_verify.core.sut import stageflow_module
from tests.quality.planting import Caught, expect_failure

_MINIMAL = {"": 10}


def _plant(monkeypatch: pytest.MonkeyPatch) -> None:
    output = stageflow_module().StageOutput
    original = output.ok.__func__

    def dropping_large_values(cls: Any, /, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        kept = {k: v for k, v in (data or {}).items() if not (isinstance(v, int) and v >= 10)}
        return original(cls, kept, **kw)

    monkeypatch.setattr(output, "ok", classmethod(dropping_large_values))


def _law(run_settings: settings, seen: list[dict[str, int]]) -> Any:
    # One law, one database key: every run below replays the same entries.
    @settings(run_settings)
    @given(data=st.dictionaries(st.text(max_size=4), st.integers(0, 1000), max_size=8))
    def ok_keeps_its_data(data: dict[str, int]) -> None:
        seen.append(data)
        assert stageflow_module().StageOutput.ok(data).data == data

    return ok_keeps_its_data


def _replay_after_interrupted_shrink(
    base: settings, directory: Path, database: ExampleDatabase
) -> tuple[dict[str, int], list[dict[str, int]], Caught]:
    """(the unshrunk entry left behind, what the next run tried, what it reported)."""
    base = settings(base, deadline=None, derandomize=False, max_examples=200)
    interrupted: list[dict[str, int]] = []
    stored = DirectoryBasedExampleDatabase(str(directory))
    expect_failure(_law(settings(base, database=stored, phases=[Phase.generate]), interrupted))
    unshrunk = interrupted[-1]
    assert unshrunk != _MINIMAL, "the planted failure was minimal at once: nothing to shrink"
    seen: list[dict[str, int]] = []
    caught = expect_failure(_law(settings(base, database=database), seen))
    return unshrunk, seen, caught


@pytest.mark.parametrize("profile", ["dev", "nightly"])
def test_a_replayed_unshrunk_failure_is_shrunk_before_it_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str
) -> None:
    _plant(monkeypatch)
    base = settings.get_profile(profile)
    assert isinstance(base.database, ShrinkAgainDatabase) and Phase.shrink in base.phases
    database = ShrinkAgainDatabase(DirectoryBasedExampleDatabase(str(tmp_path)))
    unshrunk, seen, caught = _replay_after_interrupted_shrink(base, tmp_path, database)
    assert seen[0] == unshrunk  # the database entry was replayed first...
    assert f"data={_MINIMAL!r}" in caught.report  # ...and shrunk before it was reported
    assert f"data={unshrunk!r}" not in caught.report
    # The shrunk failure is what the database replays from now on.
    again: list[dict[str, int]] = []
    expect_failure(_law(settings(base, database=database, deadline=None), again))
    assert again[0] == _MINIMAL


def test_without_the_wrapper_hypothesis_reports_the_replayed_failure_unshrunk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _plant(monkeypatch)
    raw = DirectoryBasedExampleDatabase(str(tmp_path))
    base = settings.get_profile("dev")
    unshrunk, seen, caught = _replay_after_interrupted_shrink(base, tmp_path, raw)
    assert seen == [unshrunk, unshrunk]  # replayed, replayed once more to report, nothing else
    assert f"data={unshrunk!r}" in caught.report


def test_pristine_stageflow_keeps_the_data_it_is_given() -> None:
    quiet = settings(settings.get_profile("dev"), database=None, max_examples=50)
    _law(quiet, [])()
