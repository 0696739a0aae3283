"""Two bugs planted in graph runs, each caught by ``graphs.run_dag`` with a shrunk example.

Planted bug 1, "the retry attempt counter is reset on each attempt", is invisible in pristine
1.2.0: SF-RUN-01 makes ``run_with_interceptors`` retry at most once, so RetryInterceptor never
reads its counter past 0. The test therefore first gives Stageflow the retry loop its docs
promise (:func:`retry_as_documented`, a patch of ``stageflow.pipeline.dag``'s reference, not of
the installed file), checks the machine passes on that (SF-RUN-01 stops reproducing, so the
model drops it), and then plants the reset on top. Planted bug 2 keeps a guard-retried stage's
first output: the guard then never sees the re-run's fresh output.

Every patch lives only inside its test (``monkeypatch``); the machine runs as ``make verify``
runs it, under the selected profile (``ci`` in ``make test``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from stageflow_verify.core.sut import stageflow_module

# Both planted bugs live in concepts 0.5.1 lacks (RetryInterceptor, guard-retry policies).
pytest.importorskip("stageflow.pipeline.retry", reason="this stageflow has no RetryInterceptor")

from stageflow_verify.stateful.graph_machine import run_graph_machine
from tests.quality.planting import expect_failure, expect_pass

sf = stageflow_module()
dag = sf.pipeline.dag
ErrorAction = sf.pipeline.interceptors.ErrorAction
RetryInterceptor = sf.pipeline.retry.RetryInterceptor
ORIGINAL_RUN_WITH_INTERCEPTORS = sf.pipeline.interceptors.run_with_interceptors
ORIGINAL_HANDLE_RETRY = RetryInterceptor._handle_retry
ORIGINAL_EXECUTE_NODE = dag.UnifiedStageGraph._execute_node


async def _on_error(stage: str, error: Exception, ctx: Any, stack: list[Any]) -> Any:
    for interceptor in sorted(stack, key=lambda i: i.priority, reverse=True):
        action = await interceptor.on_error(stage, error, ctx)
        if action != ErrorAction.FAIL:
            return action
    return ErrorAction.FAIL


async def retry_as_documented(
    stage_name: str, stage_run: Callable[[], Any], ctx: Any, interceptors: list[Any]
) -> Any:
    """run_with_interceptors, but a retried attempt that fails asks on_error again."""
    stage, stack = stage_name, interceptors
    calls = 0

    async def attempts() -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            return await stage_run()
        while True:  # the error phase's one retry, extended into the documented loop
            try:
                return await stage_run()
            except Exception as exc:
                if await _on_error(stage, exc, ctx, stack) != ErrorAction.RETRY:
                    raise

    return await ORIGINAL_RUN_WITH_INTERCEPTORS(stage, attempts, ctx, stack)


def shrunk_program(error: BaseException) -> list[str]:
    """The rule calls of Hypothesis's falsifying program, from the notes it attached."""
    notes = "\n".join(getattr(error, "__notes__", []))
    assert "state.build_graph(" in notes, notes
    return re.findall(r"^state\.\w+\(", notes, flags=re.MULTILINE)


async def forget_attempts(self: Any, stage: str, ctx: Any, error: str) -> Any:
    ctx.data.pop(f"_retry.{stage}", None)  # the planted bug: every attempt looks like the first
    return await ORIGINAL_HANDLE_RETRY(self, stage, ctx, error)


async def keep_first_output(self: Any, name: str, *args: Any) -> Any:
    stage, output, result = await ORIGINAL_EXECUTE_NODE(self, name, *args)
    run_data = args[-1].data  # the run's PipelineContext: one per run
    first = run_data.setdefault(f"_planted.first_output.{name}", output)  # the planted bug
    return stage, first, result


def test_machine_passes_with_the_documented_retry_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dag, "run_with_interceptors", retry_as_documented)
    expect_pass(run_graph_machine)


def test_retry_counter_reset_on_each_attempt_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dag, "run_with_interceptors", retry_as_documented)
    monkeypatch.setattr(RetryInterceptor, "_handle_retry", forget_attempts)
    caught = expect_failure(run_graph_machine)
    assert "transient" in str(caught.error), caught.error
    steps = shrunk_program(caught.error)
    # Shrunk: build the graph, then one run (invariant checks are listed too).
    assert len([s for s in steps if "breaker" not in s and "teardown" not in s]) <= 2, steps
    print(caught.error, *caught.error.__notes__, sep="\n")


def test_guard_retry_with_stale_output_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dag.UnifiedStageGraph, "_execute_node", keep_first_output)
    caught = expect_failure(run_graph_machine)
    assert "guard retry" in str(caught.error), caught.error
    steps = shrunk_program(caught.error)
    # Shrunk: build the graph, then one run (invariant checks are listed too).
    assert len([s for s in steps if "breaker" not in s and "teardown" not in s]) <= 2, steps
    print(caught.error, *caught.error.__notes__, sep="\n")
