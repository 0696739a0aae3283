"""``lifecycle.task_group``: StructuredTaskGroup against :mod:`models.task_group`, on the
deterministic loop (interleavings drawn by Hypothesis, virtual time), and SF-LIFE-04.

A plan has 0 to 4 tasks working whole seconds plus ``5**i`` microseconds (no two end
together), each returning or raising; or, instead of failing tasks, a body that raises at an
instant an eighth of a second off every task's end; and 0 to 3 cleanups. The observation
(which tasks finished or were cancelled, what left the ``async with``, the token, each cleanup's
start and end, the exit instant) must equal the model's, and the cleanups must run LIFO.

For example::

    run_task_group_law()  # raises with the shrunk plan and the swimlane
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import replace
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import (
    Check,
    Finding,
    Severity,
    adopting_known,
    count_example,
    documented,
    releases,
)
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.core.sut.task_group import play_group, play_group_in_run
from stageflow_verify.models.task_group import (
    SIBLINGS_NOT_CANCELLED,
    GroupPlan,
    predict_group,
    predict_group_in_run,
)
from stageflow_verify.stateful.graph_machine import fine
from stageflow_verify.stateful.lifecycle_findings import FINDINGS as LIFECYCLE_FINDINGS

CHECK = "lifecycle.task_group"


def applies(sf: ModuleType) -> str | None:
    if importlib.util.find_spec("stageflow.pipeline.cancellation") is None:
        return "this stageflow has no stageflow.pipeline.cancellation (no StructuredTaskGroup)"
    return None


@st.composite
def plans(draw: st.DrawFn) -> GroupPlan:
    count = draw(st.integers(0, 4))  # no task at all: the group still runs its cleanups
    works = tuple(draw(st.integers(1, 3)) + fine(i) for i in range(count))
    body_error_at = draw(st.sampled_from([None, None, 0.125, 1.125, 2.125]))
    # With a body error no task fails: which of the two came first would be a second promise.
    fails = tuple(body_error_at is None and draw(st.booleans()) for _ in range(count))
    return GroupPlan(works, fails, body_error_at, draw(st.integers(0, 3)))


@given(plan=plans(), data=st.data())
def task_group_law(plan: GroupPlan, data: st.DataObject, active: frozenset[str]) -> None:
    count_example()
    seen, registered, ran = run(lambda: play_group(plan), HypothesisChooser(data)).value
    expected = predict_group(plan, active)
    assert ran == registered[::-1], (
        f"cleanups ran {ran}, registered {registered}: not each once, LIFO"
    )
    assert seen == expected, (
        f"StructuredTaskGroup differs from the model for {plan}\n"
        f"  model:     {expected}\n  stageflow: {seen}\n  adopted: {sorted(active) or 'none'}"
    )


@given(
    plan=plans().filter(lambda p: p.body_error_at is None),
    sibling_raises_at=st.sampled_from([None, 0.125, 1.125, 2.125, 3.125, 3.375]),
    data=st.data(),
)
def task_group_in_run_law(
    plan: GroupPlan, sibling_raises_at: float | None, data: st.DataObject, active: frozenset[str]
) -> None:
    count_example()
    with quiet():
        seen, failed, ran = run(
            lambda: play_group_in_run(plan, sibling_raises_at), HypothesisChooser(data)
        ).value
    seen = replace(seen, token_cancelled=False)  # no promise: see predict_group_in_run
    expected, fails = predict_group_in_run(plan, sibling_raises_at, active)
    registered = list(range(plan.cleanups))
    assert ran == registered[::-1], (
        f"cleanups ran {ran}, registered {registered}: not each once, LIFO"
    )
    assert (seen, failed) == (expected, fails), (
        f"StructuredTaskGroup in a run differs from the model for {plan}, the sibling raising "
        f"at {sibling_raises_at}\n  model:     {expected}, run failed by {fails}\n"
        f"  stageflow: {seen}, run failed by {failed}\n  adopted: {sorted(active) or 'none'}"
    )


def siblings_of_a_failed_task_finish(sf: ModuleType) -> bool:
    from stageflow.pipeline.cancellation import StructuredTaskGroup

    async def main() -> bool:
        failed = asyncio.Event()
        sibling_finished = []

        async def fails() -> None:
            failed.set()
            raise ValueError("boom")

        async def sibling() -> None:
            await failed.wait()
            for _ in range(5):  # keeps working past the failure, yielding each time
                await asyncio.sleep(0)
            sibling_finished.append(True)

        try:
            async with StructuredTaskGroup() as tg:
                tg.create_task(fails())
                tg.create_task(sibling())
        except ValueError:
            pass
        return sibling_finished == [True]

    return asyncio.run(main())


FINDINGS = [
    Finding(
        SIBLINGS_NOT_CANCELLED,
        "StructuredTaskGroup lets the siblings of a failed task run to completion",
        releases(),
        CHECK,
        "StructuredTaskGroup docstring (pipeline/cancellation.py): 'If any task fails, all "
        "others are cancelled and cleanup callbacks are run'.",
        "__aexit__ first awaits asyncio.gather(*tasks, return_exceptions=True), i.e. every task "
        "to its end, and only then cancels the (finished) rest; the group raises the first "
        "failure in creation order, not the first in time, and exits when the slowest task does.",
        siblings_of_a_failed_task_finish,
        tags=("interleaving",),
        basis=documented(
            (
                "# If any task fails, all others are cancelled",
                "stageflow/pipeline/cancellation.py:190",
            ),
        ),
        severity=Severity(
            "medium",
            "a failed group waits for its slowest task and reports the first failure "
            "in creation order, not in time",
        ),
        fix="StructuredTaskGroup.__aexit__ (stageflow/pipeline/cancellation.py:249): wait with "
        "asyncio.wait(FIRST_EXCEPTION), cancel the rest on the first failure, then gather "
        "(or build on asyncio.TaskGroup).",
        applies=applies,
    ),
]

run_task_group_law = adopting_known(task_group_law, lambda: FINDINGS)
run_task_group_in_run_law = adopting_known(
    task_group_in_run_law, lambda: [*FINDINGS, *LIFECYCLE_FINDINGS]
)

CHECKS = [
    Check(
        name=CHECK,
        run=run_task_group_law,
        summary="StructuredTaskGroup: sibling cancellation, body errors, LIFO cleanups",
        applies=applies,
    ),
    Check(
        name=f"{CHECK}_in_run",
        run=run_task_group_in_run_law,
        summary="StructuredTaskGroup as a stage's work, cancelled by a failing sibling stage",
        applies=applies,
    ),
]
