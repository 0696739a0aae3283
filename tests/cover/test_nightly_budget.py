"""make nightly's time budget: where the shards stop, the hard stop, the chunk that fits."""

from __future__ import annotations

import time

import pytest

from stageflow_verify.core.run import nightly_budget
from stageflow_verify.core.run.nightly_budget import (
    FIRST_CHUNK,
    MIN_RUN_SECONDS,
    STOP_SECONDS,
    next_chunk,
    run_ends,
    started_at,
)


@pytest.mark.parametrize("minutes", [0.1, 1, 2, 5, 30, 600])
def test_the_run_ends_within_its_budget_plus_ten_percent(minutes: float) -> None:
    budget = minutes * 60
    deadline, hard_stop = run_ends(1000.0, budget)
    end = 1000.0 + max(budget * 1.1, MIN_RUN_SECONDS)
    # Reports get STOP_SECONDS after the hard stop; shards stop before it, never after the budget.
    assert hard_stop + STOP_SECONDS == pytest.approx(end)
    assert deadline < hard_stop and deadline <= 1000.0 + budget


def test_a_start_time_from_make_counts_only_when_it_is_this_runs() -> None:
    assert started_at({"NIGHTLY_STARTED": "995.5"}, 1000.0) == 995.5
    assert started_at({"NIGHTLY_STARTED": "10.0"}, 1000.0) == 1000.0  # left from another run
    assert started_at({"NIGHTLY_STARTED": "soon"}, 1000.0) == 1000.0
    assert started_at({}, 1000.0) == 1000.0


def test_the_chunk_fits_the_time_left_at_the_speed_measured() -> None:
    assert next_chunk(0, 0.0, 30.0, 100) == FIRST_CHUNK  # nothing measured yet
    assert next_chunk(10, 20.0, 30.0, 100) == 15  # 2 s per example
    assert next_chunk(10, 20.0, 1.0, 100) == 1  # at least one example
    assert next_chunk(10, 20.0, 1e6, 100) == 100  # never above the chunk


def test_every_shrink_is_bounded_by_the_hard_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.internal.conjecture import engine

    # Put back whatever bound_shrinking replaces, and its module flag, after the test.
    monkeypatch.setattr(
        engine.ConjectureRunner,
        "shrink_interesting_test_cases",
        engine.ConjectureRunner.shrink_interesting_test_cases,
    )
    monkeypatch.setattr(engine, "MAX_SHRINKING_SECONDS", engine.MAX_SHRINKING_SECONDS)
    monkeypatch.setattr(nightly_budget, "_shrink_bounded", False)
    monkeypatch.setenv(nightly_budget.ENV_HARD_STOP, str(time.time() + 40))
    nightly_budget.bound_shrinking()

    @given(st.integers())
    @settings(database=None, derandomize=True)
    def planted(n: int) -> None:
        assert n < 10

    with pytest.raises(AssertionError):
        planted()
    # Hypothesis's five minutes became what is left before the hard stop, less the margin.
    assert 1 <= engine.MAX_SHRINKING_SECONDS <= 40 - nightly_budget.SHRINK_MARGIN
