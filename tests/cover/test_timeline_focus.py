"""A failure's timeline shows the steps of the shrunk counterexample, not the whole run.

Hypothesis shrinks each scheduling choice toward 0 (stock asyncio's order), so the picks other
than 0 and the faults are what is left of the counterexample; the report keeps them, a few
steps around each, and the end of the run, and says how many it left out.
"""

from __future__ import annotations

from stageflow_verify.core.sched import timeline
from stageflow_verify.core.sched.timeline import MAX_STEPS, timeline_data
from stageflow_verify.core.sched.trace import CONTEXT_STEPS, Step, Trace, render_swimlane


def _run(length: int, picks: dict[int, int], faults: tuple[int, ...] = ()) -> Trace:
    steps = []
    for n in range(length):
        if n in faults:
            steps.append(Step(n, 1, 0.0, 1, 3, "fault", "", "cancel T1"))
        else:
            steps.append(Step(n, n % 2, 0.0, picks.get(n, 0), 2, "task", "", f"op {n}"))
    return Trace({0: "T0 main", 1: "T1 worker"}, steps)


def _numbers(data: dict[str, object]) -> list[int]:
    steps = data["steps"]
    assert isinstance(steps, list)
    return [step[0] for step in steps]


def test_a_long_run_is_trimmed_to_its_picks_faults_and_end_with_context() -> None:
    data = timeline_data(_run(300, {40: 1}, faults=(150,)), "the run")
    c = CONTEXT_STEPS
    expected = [*range(40 - c, 41 + c), *range(150 - c, 151 + c), *range(299 - c, 300)]
    assert _numbers(data) == expected
    assert data["omitted"] == 300 - len(expected)
    kinds = {step[0]: step[5] for step in data["steps"]}
    assert kinds[150] == "fault"


def test_picks_close_together_share_one_window() -> None:
    data = timeline_data(_run(100, {50: 1, 55: 1}), "the run")
    assert _numbers(data) == [*range(45, 61), *range(94, 100)]


def test_a_run_failing_in_stock_order_is_shown_whole_up_to_the_cap() -> None:
    assert _numbers(timeline_data(_run(30, {}), "short")) == list(range(30))
    capped = timeline_data(_run(MAX_STEPS + 50, {}), "long")
    assert _numbers(capped) == list(range(50, MAX_STEPS + 50))
    assert capped["omitted"] == 50


def test_the_last_run_keeps_an_early_pick_of_a_long_run() -> None:
    # A failure checked after the run reads the remembered run; its first steps may hold the
    # counterexample even when the run is longer than a timeline shows.
    trace = _run(1_000, {3: 1})
    timeline.remember(trace, start=0)
    try:
        remembered = timeline.last_run()
        assert remembered is not None
        assert 3 in _numbers(timeline_data(remembered, "after the run"))
    finally:
        timeline.forget()


def test_the_swimlane_of_a_failures_text_shows_the_same_steps_with_its_gaps_counted() -> None:
    text = render_swimlane(_run(300, {40: 1}, faults=(150,)))
    numbers = [int(line.split()[0]) for line in text.splitlines() if line[:1].isdigit()]
    assert numbers == [*range(35, 46), *range(145, 156), *range(294, 300)]
    gaps = [line for line in text.splitlines() if line.startswith("...")]
    assert gaps == [
        "... 35 earlier steps not shown",
        "... 99 steps not shown",
        "... 138 steps not shown",
    ]
    assert "!! cancel T1" in text
