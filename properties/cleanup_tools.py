"""``lifecycle.cleanup_tools``: ``CleanupRegistry``, ``CancellationToken``,
``cleanup_on_cancel`` and ``run_with_cleanup`` used directly, against
:mod:`models.cleanup_tools`, on the deterministic loop (virtual time).

A graph run uses a registry and a token of its own (the lifecycle machine and
``lifecycle.task_group`` judge that); a stage or a service also uses these tools directly:
registering and unregistering callbacks, some named, some raising, some outlasting the
timeout; several cancels with and without a reason and callbacks registered before and after;
a guarded body that returns, raises or is cancelled from outside; a coroutine whose cleanup
returns, raises or hangs past ``cleanup_timeout``. Arguments are left out as often as given.

For example::

    run_cleanup_tools_law()  # raises with the shrunk plan and the part that differs
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.sched.choosers import HypothesisChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.cleanup_tools import (
    play_guard,
    play_registry,
    play_token,
    play_wrapped,
)
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.models import cleanup_tools as model
from stageflow_verify.models.cleanup_tools import ToolsPlan

CHECK = "lifecycle.cleanup_tools"


def applies(sf: ModuleType) -> str | None:
    if importlib.util.find_spec("stageflow.pipeline.cancellation") is None:
        return "this stageflow has no stageflow.pipeline.cancellation"
    return None


@st.composite
def plans(draw: st.DrawFn) -> ToolsPlan:
    callbacks = tuple(
        draw(
            st.lists(
                st.tuples(st.sampled_from(["ok", "ok", "raise", "hang"]), st.booleans()), max_size=3
            )
        )
    )
    unregister = draw(st.sampled_from([None, *range(len(callbacks))]))
    return ToolsPlan(
        callbacks,
        unregister,
        draw(st.sampled_from([None, 3.0])),  # 3.0 / 3 callbacks still outlasts WORK
        tuple(draw(st.lists(st.booleans(), max_size=3))),
        tuple(draw(st.lists(st.sampled_from([None, "first", "second"]), max_size=3))),
        draw(st.booleans()),
        draw(st.sampled_from(["ok", "raise", "cancelled"])),
        draw(st.sampled_from(["ok", "raise"])),
        draw(st.booleans()),
        draw(st.sampled_from(["ok", "raise", "cancelled"])),
        draw(st.sampled_from(["ok", "raise", "hang"])),
        draw(st.sampled_from([None, 0.5])),
    )


async def _play(plan: ToolsPlan) -> tuple[object, ...]:
    registry, within = await play_registry(plan)
    return (registry, within, play_token(plan), await play_guard(plan), await play_wrapped(plan))


@given(plan=plans(), data=st.data())
def cleanup_tools_law(plan: ToolsPlan, data: st.DataObject) -> None:
    count_example()
    with quiet():  # the tools log every failed cleanup at ERROR
        registry, within, token, guard, wrapped = run(
            lambda: _play(plan), HypothesisChooser(data)
        ).value
    parts = [
        ("CleanupRegistry (unregister, pending, ran, completed, failed, pending after, again)",
         registry, model.registry(plan)),
        ("CleanupRegistry.run_all returned within its timeout", within, True),
        ("CancellationToken (before, after, reason, calls, late calls)", token, model.token(plan)),
        ("cleanup_on_cancel (cleanup calls, escaped)", guard, model.guard(plan)),
        ("run_with_cleanup (cleanup calls, outcome, seconds)", wrapped, model.wrapped(plan)),
    ]  # fmt: skip
    for what, seen, expected in parts:
        assert seen == expected, (
            f"{what} differs from the model for {plan}\n"
            f"  model:     {expected!r}\n  stageflow: {seen!r}"
        )


def run_cleanup_tools_law() -> None:
    cleanup_tools_law()


CHECKS = [
    Check(
        name=CHECK,
        run=run_cleanup_tools_law,
        summary="CleanupRegistry, CancellationToken, cleanup_on_cancel and run_with_cleanup",
        applies=applies,
    ),
]
