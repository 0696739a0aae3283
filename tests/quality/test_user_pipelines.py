"""The three example pipelines of core/sut/user/examples, verified both ways.

Each correct variant passes ``explore_pipeline`` under the profile's budget; each buggy variant
fails with the violation its planted bug causes, the failure carries the swimlane and the
``replay_pipeline_run`` call, and replaying the printed choices outside Hypothesis reproduces
the same violation (so the printed schedule is the failing one, not a hint).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from stageflow_verify.core.sut.user import (
    PipelineInvariantError,
    PipelineRun,
    explore_pipeline,
    replay_pipeline_run,
)
from stageflow_verify.core.sut.user.examples import fan_out, payments, subpipelines
from tests.quality.planting import expect_failure, expect_pass

Invariant = Callable[[PipelineRun], "list[str] | None"]
EXAMPLES: dict[str, tuple[Callable[..., Any], Callable[[], Any], Sequence[Invariant], str]] = {
    "fan_out": (
        fan_out.fan_out_pipeline,
        fan_out.fan_out_context,
        [fan_out.every_tag_kept],
        "every_tag_kept: profile tags are",
    ),
    "subpipelines": (
        subpipelines.research_pipeline,
        subpipelines.research_context,
        [],
        "no_task_left_running: a task",
    ),
    "payments": (
        payments.payment_pipeline,
        payments.payment_context,
        [payments.charged_at_most_once],
        "charged_at_most_once: order-7 was charged 2 times",
    ),
}


def _replay_choices(report: str) -> list[int]:
    found = re.findall(r"Replay: replay_pipeline_run\(pipeline, context, (\[[0-9, ]*\])\)", report)
    assert found, f"no replay call in the report:\n{report}"
    return [int(c) for c in found[-1].strip("[]").split(",") if c.strip()]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_correct_example_pipeline_passes(name: str) -> None:
    pipeline, context, invariants, _ = EXAMPLES[name]
    expect_pass(lambda: explore_pipeline(pipeline, context, invariants=invariants))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_buggy_example_fails_with_a_schedule_that_replays(name: str) -> None:
    pipeline, context, invariants, symptom = EXAMPLES[name]

    def buggy(ctx: Any) -> Any:
        return pipeline(ctx, buggy=True)

    caught = expect_failure(lambda: explore_pipeline(buggy, context, invariants=invariants))
    assert isinstance(caught.error, PipelineInvariantError)
    assert symptom in str(caught.error)
    assert "one lane per task" in caught.report  # the swimlane of the shrunk run
    choices = _replay_choices(caught.report)
    with pytest.raises(PipelineInvariantError, match=re.escape(symptom)):
        replay_pipeline_run(buggy, context, choices, invariants=invariants)


def test_buggy_fan_out_passes_in_stock_asyncio_order() -> None:
    # What a plain asyncio.run test sees: the lost update needs another interleaving.
    replay_pipeline_run(
        lambda ctx: fan_out.fan_out_pipeline(ctx, buggy=True),
        fan_out.fan_out_context,
        [],
        invariants=[fan_out.every_tag_kept],
    )


def test_stageflows_own_leftover_stages_fail_once_no_longer_excused() -> None:
    # SF-RUN-04 / SF-RUN-10 are excused by default; without the excuse the correct fan-out
    # fails on them, naming Stageflow's task: the excuse hides a real, registered finding.
    caught = expect_failure(
        lambda: explore_pipeline(
            fan_out.fan_out_pipeline,
            fan_out.fan_out_context,
            invariants=[fan_out.every_tag_kept],
            excuse_known=False,
        )
    )
    assert "- no_task_left_running: Stageflow's own task" in str(caught.error)
