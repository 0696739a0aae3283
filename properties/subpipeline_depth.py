"""Law of SubpipelineSpawner's depth limit: max_depth bounds nesting, however a child is spawned.

The spawn-tree machine (:mod:`stateful.subpipeline_machine`) spawns only from runs that are
still running, where the limit holds. This law draws chains where some spawns come from the
context of a child that already finished (a background task, a retry, a continuation started
after the child returned) and compares each spawn's outcome with
:func:`models.subpipeline_depth.spawn_outcomes`: refused exactly past ``max_depth`` levels, with
the parent's depth as ``current_depth``. While SF-SUB-08 reproduces, the law adopts it (a
finished child's context counts as depth 0) and keeps checking everything else: the limit on
nested chains, the depth counted after a detached step, and the reported ``current_depth``.
``max_depth`` is also left out (the documented default, 5, then applies), and
``spawner.max_depth`` must read the limit in force.

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks 'subpipelines.depth_limit'
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from types import ModuleType
from typing import Any

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
from stageflow_verify.core.sut.subpipeline_depth import spawn_chain, spawner_max_depth
from stageflow_verify.models.subpipeline_depth import MODES, spawn_outcomes

CHECK = "subpipelines.depth_limit"
FORGETS_ENDED = "SF-SUB-08"

modes = st.lists(st.sampled_from(MODES), max_size=8).map(tuple)


# "max_depth: Maximum allowed nesting depth (default: 5)" (stageflow/pipeline/subpipeline.py:387)
DEFAULT_MAX_DEPTH = 5


# A negative limit is drawn too: "Raises: MaxDepthExceededError: If spawning would exceed
# max_depth" (stageflow/pipeline/subpipeline.py:446) refuses every spawn, the first one included.
@given(chain=modes, max_depth=st.none() | st.integers(-2, 4))
def depth_limit_law(chain: tuple[str, ...], max_depth: int | None, active: frozenset[str]) -> None:
    count_example()
    limit = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
    reported = spawner_max_depth(max_depth)
    assert reported == limit, f"SubpipelineSpawner(max_depth={max_depth}).max_depth is {reported!r}"
    observed = spawn_chain(chain, max_depth)
    expected = spawn_outcomes(chain, limit, forgets_ended=FORGETS_ENDED in active)
    assert observed == expected, (
        f"spawning the chain {list(chain)} with max_depth={max_depth} returned "
        f"{list(observed)}; the depth limit allows {list(expected)}"
    )


CHECKS = [
    Check(
        name=CHECK,
        run=adopting_known(depth_limit_law, lambda: FINDINGS),
        summary="max_depth bounds nesting for nested and detached spawns alike",
    ),
]


def spawner_counts_unrecorded_parents_as_depth_zero(sf: ModuleType) -> bool:
    """Both symptoms: detached spawns nest past max_depth, and so do spawns from hand forks."""
    return detached_spawns_nest_past_max_depth(sf) and hand_forked_spawns_nest_past_max_depth(sf)


def hand_forked_spawns_nest_past_max_depth(sf: ModuleType) -> bool:
    """With max_depth=1, a child's context forked by hand ("Forking Context") spawns a child:
    three levels below the root, where one is the limit."""
    sub = sf.pipeline.subpipeline

    async def main() -> bool:
        spawner = sub.SubpipelineSpawner(child_tracker=sub.ChildRunTracker(), max_depth=1)
        ids = dict.fromkeys(["request_id", "session_id", "user_id", "org_id", "interaction_id"])
        root = sf.PipelineContext(pipeline_run_id=uuid.uuid4(), **ids)
        nested = []

        async def grandchild(ctx: Any) -> dict[str, Any]:
            nested.append(ctx)
            return {}

        async def child(ctx: Any) -> dict[str, Any]:
            forked = ctx.fork(uuid.uuid4(), "stage", uuid.uuid4())  # one level below the child
            with contextlib.suppress(sub.MaxDepthExceededError):
                await spawner.spawn("grandchild", forked, uuid.uuid4(), "stage", grandchild)
            return {}

        await spawner.spawn("child", root, uuid.uuid4(), "stage", child)
        return bool(nested)  # it ran: depth 3 under max_depth=1

    return asyncio.run(main())


def detached_spawns_nest_past_max_depth(sf: ModuleType) -> bool:
    """With max_depth=1, each level spawns the next after its own runner returned: ten levels."""
    sub = sf.pipeline.subpipeline

    async def main() -> int:
        spawner = sub.SubpipelineSpawner(child_tracker=sub.ChildRunTracker(), max_depth=1)
        ids = dict.fromkeys(["request_id", "session_id", "user_id", "org_id", "interaction_id"])
        ctx = sf.PipelineContext(pipeline_run_id=uuid.uuid4(), **ids)
        levels = 0
        for _ in range(10):
            kept: list[Any] = []

            async def runner(child: Any, kept: list[Any] = kept) -> dict[str, Any]:
                kept.append(child)  # e.g. handed to a background task, which spawns later
                return {}

            try:
                await spawner.spawn("again", ctx, uuid.uuid4(), "stage", runner)
            except sub.MaxDepthExceededError:
                break
            levels, ctx = levels + 1, kept[0]
        return levels

    return asyncio.run(main()) > 1


FINDINGS: list[Finding] = [
    Finding(
        id=FORGETS_ENDED,
        title="a spawn from a finished child's context, or from a hand-forked one, starts "
        "again at depth 1: max_depth does not bound their nesting",
        versions=releases(),
        check=CHECK,
        promise="SubpipelineSpawner: 'Enforcing maximum nesting depth'; max_depth: 'Maximum "
        "allowed nesting depth'; spawn raises MaxDepthExceededError 'If spawning would exceed "
        "max_depth'. A child forked from a child is nested two deep (its parent_run_id chain "
        "says so) whether or not the middle run is still running.",
        observed="the spawner remembers a child's depth only while the child's own spawn() "
        "runs (_run_depths is popped in its finally) and counts an unknown parent as depth 0: "
        "with max_depth=1, each level spawning the next from its kept context after returning "
        "nests ten levels deep, and a pipeline that re-spawns itself in the background "
        "recurses without bound. A context forked by hand (ctx.fork, the docs' 'Forking "
        "Context') is a parent the spawner never recorded, so it counts as depth 0 as well.",
        reproduce=spawner_counts_unrecorded_parents_as_depth_zero,
        tags=("expectation",),
        basis=documented(
            (
                "The spawner enforces a maximum nesting depth to prevent runaway recursion:",
                "docs/advanced/subpipelines.md:640",
            ),
            (
                "max_depth: Maximum allowed nesting depth (default: 5)",
                "stageflow/pipeline/subpipeline.py:387",
            ),
            argument="A child spawned from a child is two levels deep (its parent_run_id chain "
            "says so) whether or not the middle run is still running; the limit counts only "
            "runs whose spawn() has not returned.",
        ),
        severity=Severity(
            "medium",
            "the guard against runaway recursion is off for background and continuation "
            "spawns, the case where recursion is hardest to see",
        ),
        symptoms=(
            "detached: with max_depth=1, each level spawning the next from its kept context "
            "after returning nests ten levels deep",
            "hand-forked: with max_depth=1, a child's context forked by hand (ctx.fork, "
            "docs/advanced/subpipelines.md:49) spawns a grandchild three levels below the root "
            "(subpipelines.unusual_parents adopts this one)",
        ),
        fix="SubpipelineSpawner.spawn (stageflow/pipeline/subpipeline.py:452): derive the depth "
        "from the context (e.g. a depth field fork() increments, or the parent_run_id chain) "
        "rather than from _run_depths, which forgets a run when its spawn() returns.",
    ),
]
