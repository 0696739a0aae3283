"""Planted subpipeline bugs: each one must make subpipelines.spawn_tree fail, shrunk.

Each bug is planted by recompiling one ``SubpipelineSpawner`` method from its installed source
with a single textual edit and monkeypatching it onto the class for the test's duration; the
installed package is never written. The edit must match exactly once, so a Stageflow release
that rewrites the method fails here loudly instead of silently planting nothing.
"""

from __future__ import annotations
import __future__

import inspect
import textwrap

import pytest

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties.subpipeline_depth import CHECKS as DEPTH_CHECKS
from stageflow_verify.properties.subpipeline_emit import CHECKS as EMIT_CHECKS
from stageflow_verify.stateful.subpipeline_machine import run_spawn_tree
from tests.quality.planting import expect_failure, expect_pass

RULES = tuple(
    f"state.{r}("
    for r in (
        "spawn_child",
        "finish_child",
        "cancel_child_task",
        "cancel_with_children",
        "race",
    )
)
MAX_SHRUNK_STEPS = 10  # lines of the shrunk program: configure() and the rules (a race is one)


def plant(monkeypatch: pytest.MonkeyPatch, method: str, edits: list[tuple[str, str]]) -> None:
    sub = stageflow_module().pipeline.subpipeline
    source = textwrap.dedent(inspect.getsource(getattr(sub.SubpipelineSpawner, method)))
    for old, new in edits:
        assert source.count(old) == 1, f"planted edit {old!r} no longer matches {method}"
        source = source.replace(old, new)
    flags = __future__.annotations.compiler_flag  # the module's annotations stay strings
    code = compile(source, f"<planted {method}>", "exec", flags=flags, dont_inherit=True)
    namespace: dict[str, object] = {}
    exec(code, vars(sub), namespace)
    monkeypatch.setattr(sub.SubpipelineSpawner, method, namespace[method])


def assert_found_and_shrunk(*expected_rules: str, max_steps: int = MAX_SHRUNK_STEPS) -> list[str]:
    caught = expect_failure(run_spawn_tree)
    assert isinstance(caught.error, AssertionError), caught.error
    steps = [s for s in caught.steps if s.startswith(("state.configure", *RULES))]
    assert steps, f"no runnable counterexample was attached:\n{caught.report}"
    assert len(steps) <= max_steps, "\n".join(steps)
    assert any(rule in s for s in steps for rule in expected_rules), "\n".join(steps)
    return steps


def test_pristine_stageflow_passes_the_spawn_tree_check() -> None:
    expect_pass(run_spawn_tree)


def test_depth_check_off_by_one_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    plant(
        monkeypatch,
        "spawn",
        [("current_depth >= self._max_depth:", "current_depth > self._max_depth:")],
    )
    assert_found_and_shrunk("spawn_child", "race")


def test_child_depth_not_recorded_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    plant(monkeypatch, "spawn", [("self._run_depths[child_run_id] = child_depth", "pass")])
    assert_found_and_shrunk("spawn_child", "race")


def test_unregister_skipped_when_the_child_fails_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plant(
        monkeypatch,
        "spawn",
        [
            (
                "start_time = time.perf_counter()\n",
                "start_time = time.perf_counter()\n    failed = False\n",
            ),
            ("except Exception as e:\n", "except Exception as e:\n        failed = True\n"),
            (
                "finally:\n        if parent_run_id:",
                "finally:\n        if parent_run_id and not failed:",
            ),
        ],
    )
    assert_found_and_shrunk("finish_child", "race")


def test_cancel_that_is_not_recursive_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    plant(
        monkeypatch,
        "cancel_with_children",
        [
            (
                "await cancel_recursive(child_id, depth + 1)",
                "await cancel_recursive(child_id, depth + 1) if depth == 0 else None",
            )
        ],
    )
    # A known shrink-quality gap, not a bound the check meets: since the machine's cancel got
    # its own precondition (225b1a0), the shrink stops at 13 lines, ten of them cancels of an
    # already cancelled root ahead of the three that matter (configure, a two-level spawn under
    # r1, cancel r1). Bounded at that, so a worse shrink still fails this test.
    assert_found_and_shrunk("cancel_with_children", "race", max_steps=13)


def test_registration_after_the_runner_started_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register = (
        "if parent_run_id:\n"
        "        await self._tracker.register_child(parent_run_id, child_run_id)\n"
    )
    plant(
        monkeypatch,
        "spawn",
        [
            (register, ""),
            (
                "result = await runner(child_ctx)\n",
                "started = asyncio.ensure_future(runner(child_ctx))\n"
                "        await asyncio.sleep(0)\n"
                "        if parent_run_id:\n"
                "            await self._tracker.register_child(parent_run_id, child_run_id)\n"
                "        result = await started\n",
            ),
        ],
    )
    assert_found_and_shrunk("spawn_child", "race")


# Correlation fields (docs/advanced/subpipelines.md:63-73 and 764-816), compared field by field
# in the events and on the child's context.
@pytest.mark.parametrize(
    ("method", "edit", "where", "rule"),
    [
        (
            "spawn",
            ("pipeline_name, correlation_id)", "pipeline_name, child_run_id)"),
            "'correlation_id'",
            "spawn_child",
        ),
        (
            "spawn",
            (
                "child_run_id, parent_stage_id, pipeline_name",
                "child_run_id, pipeline_name, pipeline_name",
            ),
            "'parent_stage_id'",
            "spawn_child",
        ),
        (
            "spawn",
            ("correlation_id=correlation_id,", "correlation_id=uuid4(),"),
            "child correlation fields",
            "spawn_child",
        ),
        (
            "cancel_with_children",
            (
                "_emit_canceled(current_id, parent, reason, depth)",
                "_emit_canceled(current_id, parent, 'canceled', depth)",
            ),
            "'reason'",
            "cancel_with_children",
        ),
    ],
    ids=[
        "spawned_event_wrong_correlation",
        "spawned_event_wrong_stage",
        "child_ctx_no_correlation",
        "canceled_event_wrong_reason",
    ],
)
def test_a_wrong_correlation_field_is_found(
    monkeypatch: pytest.MonkeyPatch, method: str, edit: tuple[str, str], where: str, rule: str
) -> None:
    plant(monkeypatch, method, [edit])
    caught = expect_failure(run_spawn_tree)
    assert where in str(caught.error), caught.report
    # A spawn is also one of a race's moves: either rule is a counterexample that spawns.
    rules = (f"state.{rule}(", "state.race(")
    assert any(r in s for s in caught.steps for r in rules), caught.report


# The depth-limit law (properties/subpipeline_depth.py) holds the same planted depth bugs to
# account on chains the machine never builds (spawns from finished children's contexts).
run_depth_limit = next(c.run for c in DEPTH_CHECKS if c.name == "subpipelines.depth_limit")


@pytest.mark.parametrize(
    ("old", "new", "symptom"),
    [
        # a successful child's duration in seconds, not milliseconds
        (
            "start_time) * 1000\n\n",
            "start_time) / 1000\n\n",
            "but its runner took",
        ),
        # a failed child's duration counted from the wrong origin
        (
            "start_time) * 1000\n        logger",
            "start_time) * 1000 + 1000\n        logger",
            "but its runner took",
        ),
        # the completed event carries another duration than the result
        (
            "pipeline_name, duration_ms)",
            "pipeline_name, duration_ms + 1)",
            "event says duration_ms",
        ),
    ],
    ids=["ok_duration_in_seconds", "failed_duration_offset", "event_duration_differs"],
)
def test_a_wrong_duration_is_found(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str, symptom: str
) -> None:
    plant(monkeypatch, "spawn", [(old, new)])
    caught = expect_failure(run_spawn_tree)
    assert symptom in str(caught.error), caught.report


def test_pristine_stageflow_passes_the_depth_limit_law() -> None:
    expect_pass(run_depth_limit)


@pytest.mark.parametrize(
    "edit",
    [
        ("current_depth >= self._max_depth:", "current_depth > self._max_depth:"),
        ("self._run_depths[child_run_id] = child_depth", "pass"),
        ("child_depth = current_depth + 1", "child_depth = current_depth"),
        # the generated mutant subpipeline.py:453:ReplaceComparisonOperator_GtE_Is:0: the same
        # as `>=` for a limit >= 0, never refuses under a negative one
        ("current_depth >= self._max_depth:", "current_depth is self._max_depth:"),
    ],
    ids=["off_by_one", "depth_not_recorded", "depth_not_incremented", "negative_limit_ignored"],
)
def test_a_planted_depth_bug_breaks_the_depth_limit_law(
    monkeypatch: pytest.MonkeyPatch, edit: tuple[str, str]
) -> None:
    plant(monkeypatch, "spawn", [edit])
    caught = expect_failure(run_depth_limit)
    assert "the depth limit allows" in str(caught.error), caught.report


def test_a_changed_max_depth_default_breaks_the_depth_limit_law(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = stageflow_module().pipeline.subpipeline
    init = sub.SubpipelineSpawner.__init__
    # (child_tracker=None, emit_events=True, max_depth=5): the last default is max_depth's.
    assert list(inspect.signature(init).parameters)[-1] == "max_depth", "signature changed"
    monkeypatch.setattr(init, "__defaults__", (*init.__defaults__[:-1], 6))
    caught = expect_failure(run_depth_limit)
    assert "max_depth=None" in str(caught.error), caught.report


def test_a_max_depth_that_is_no_property_breaks_the_depth_limit_law(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # cosmic-ray's RemoveDecorator on the property: spawner.max_depth is a bound method.
    sub = stageflow_module().pipeline.subpipeline
    monkeypatch.setattr(sub.SubpipelineSpawner, "max_depth", sub.SubpipelineSpawner.max_depth.fget)
    caught = expect_failure(run_depth_limit)
    assert ".max_depth is <bound method" in str(caught.error), caught.report


def test_a_spawn_that_inherits_by_default_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # The machine leaves inherit_data out of some spawns: the default is part of the contract.
    plant(
        monkeypatch,
        "spawn",
        [
            (
                "inherit_data: bool | Iterable[str] = False,",
                "inherit_data: bool | Iterable[str] = True,",
            )
        ],
    )
    caught = expect_failure(run_spawn_tree)
    assert "ctx.data disagrees with the model" in str(caught.error), caught.report


# The batch a draining parent once made inexplicable (tests/cover/test_subpipeline_regressions.py):
# a cascade over r0 racing the finish of c2, c1's last child. With the parent's end a step of its
# own the model accepts Stageflow's order; a cascade that loses its depth-first order (marks c1
# before its still-registered child c2, docs/advanced/subpipelines.md:624 "depth-first
# cascading") must still be explained by no order of the batch.
def test_a_cascade_marking_a_parent_before_its_child_is_still_found_in_that_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stageflow_verify.core.sched.choosers import ReplayChooser
    from tests.cover.test_subpipeline_regressions import (
        CHILD_ENDS_BEFORE_CASCADE,
        PARENT_DRAINING_BATCH,
        draining_parent_machine,
    )

    def race(schedule: tuple[int, ...]) -> list[str]:
        machine = draining_parent_machine()
        try:
            machine.race_ops(PARENT_DRAINING_BATCH, ReplayChooser(schedule))
            return list(machine._observed()["canceled"])
        finally:
            machine.teardown()

    # Pristine, in stock order the cascade reaches c2 before it ends: ['c2', 'c1'], explained.
    assert race(()) == ["c1", "c2", "r0"]
    plant(
        monkeypatch,
        "cancel_with_children",
        [
            (
                "        for child_id in children:\n"
                "            await cancel_recursive(child_id, depth + 1)\n",
                "",
            ),
            (
                "await self._emit_canceled(current_id, parent, reason, depth)\n",
                "await self._emit_canceled(current_id, parent, reason, depth)\n"
                "        for child_id in children:\n"
                "            await cancel_recursive(child_id, depth + 1)\n",
            ),
        ],
    )
    with pytest.raises(AssertionError, match="not linearizable") as caught:
        race(())
    assert "Cancel(run='r0', with_contexts=False) -> ('canceled', ['c1', 'c2'])" in str(
        caught.value
    )
    # Where c2 ended before the cascade looked, parent-first and children-first mark the same
    # runs: that schedule cannot tell them apart, and the split model accepts both.
    assert race(CHILD_ENDS_BEFORE_CASCADE) == ["c1", "r0"]


# The emit_events law (properties/subpipeline_emit.py): the switch turned off, or left out.
run_emit_events = next(c.run for c in EMIT_CHECKS if c.name == "subpipelines.emit_events")


@pytest.mark.parametrize(
    ("method", "edit"),
    [
        # the generated mutant subpipeline.py:511:ReplaceAndWithOr:3: a failing child emits
        # 'failed' although emit_events=False
        (
            "spawn",
            (
                "if self._emit_events and parent_run_id:\n            await self._emit_failed",
                "if self._emit_events or parent_run_id:\n            await self._emit_failed",
            ),
        ),
        # a cancelled run announces its cancellation whatever emit_events says
        ("cancel_with_children", ("if self._emit_events:", "if True:")),
    ],
    ids=["failed_emitted_when_off", "canceled_emitted_when_off"],
)
def test_an_event_emitted_with_emit_events_off_breaks_the_emit_law(
    monkeypatch: pytest.MonkeyPatch, method: str, edit: tuple[str, str]
) -> None:
    plant(monkeypatch, method, [edit])
    caught = expect_failure(run_emit_events)
    assert "emit_events =False" in str(caught.error), caught.report


def test_a_spawner_quiet_by_default_breaks_the_emit_law(monkeypatch: pytest.MonkeyPatch) -> None:
    init = stageflow_module().pipeline.subpipeline.SubpipelineSpawner.__init__
    # (child_tracker=None, emit_events=True, max_depth=5): the middle default is emit_events'.
    assert list(inspect.signature(init).parameters)[2] == "emit_events", "signature changed"
    monkeypatch.setattr(init, "__defaults__", (None, False, *init.__defaults__[2:]))
    caught = expect_failure(run_emit_events)
    assert "emit_events left out" in str(caught.error), caught.report


def test_pristine_stageflow_passes_the_emit_law() -> None:
    expect_pass(run_emit_events)
