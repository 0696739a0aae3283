"""An adapter of ``core/sut`` that cannot drive this Stageflow reads as ERROR, never as NEW.

Two halves. The source half holds ``core/sut`` to it: no ``assert`` (an AssertionError is how a
model disagreement reads, so an adapter's own sanity check would pass for a Stageflow bug, and
``python -O`` would drop it), and every other ``raise`` there is either a HarnessError or one
of the deliberate failures listed below, each of which a stage, sink or runner of ours raises
*as the behaviour under test*. The run half drives adapters into their HarnessErrors under
``verify.run_check``, also where the error is caught on the way (by Stageflow, or by an
adapter that records every exception as an outcome) and what fails next is a comparison.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run import verify
from stageflow_verify.core.run.report import Row
from stageflow_verify.core.sut import HarnessError, stageflow_module
from stageflow_verify.core.sut.bags import ContextBagSut
from stageflow_verify.core.sut.child_tracker import call
from stageflow_verify.core.sut.values import context_snapshot, snapshot_with

SUT = Path(__file__).resolve().parents[2] / "core" / "sut"

# Scenario checks: their asserts are claims about Stageflow (the check itself), not sanity
# checks of the adapter.
ASSERTING_SCENARIOS = {"modelcheck_scenarios.py"}

# (file, exception) raised on purpose: the failure a check injects and then watches Stageflow
# handle. Anything else an adapter raises must be a HarnessError.
DELIBERATE = {
    ("backpressure_sink.py", "DownstreamFailure"),  # a downstream sink that fails
    ("cleanup_tools.py", "Planned"),  # a cleanup, token callback, body or coroutine that raises
    ("graph_api.py", "ValueError"),  # a stage that raises
    ("graph_api.py", "StageCancellationRequested"),  # a stage requesting cancellation
    ("graphs.py", "ValueError"),  # a stage that raises
    ("graphs.py", "TimeoutError"),  # a transient failure, retryable by Stageflow's list
    ("graphs.py", "ConnectionError"),
    ("interceptor_stacks.py", "RuntimeError"),  # a broken interceptor hook
    ("interceptor_stacks.py", "CriticalInterceptorError"),  # a closed gate, as documented
    ("interceptor_stacks.py", "TypeError"),  # the EventSink protocol's keyword-only try_emit
    ("interceptors.py", "ConnectionError"),
    ("interceptors.py", "ValueError"),
    ("interceptors.py", "RateLimitError"),  # stageflow's own, retried only when named
    ("legacy_graph.py", "OSError"),  # the legacy graph's /tmp debug files, refused
    ("lifecycle.py", "ValueError"),
    ("run_helpers.py", "RuntimeError"),  # a stage that fails, for the runner to report
    ("run_helpers.py", "KeyError"),  # caught at once: a log record with exc_info to format
    ("subpipeline_roots.py", "SinkFailure"),  # a failing event sink
    ("subpipelines.py", "RuntimeError"),  # a child runner that raises
    ("subpipeline_emit.py", "ChildFailure"),  # a child runner that raises
    ("task_group.py", "ValueError"),  # a task, or the group's body, that raises
    ("tenancy.py", "TokenExpiredError"),  # a JwtValidator's documented errors
    ("tenancy.py", "InvalidTokenError"),
    ("tenancy.py", "MissingClaimsError"),
    ("tenancy.py", "IdentityProviderDown"),  # an identity provider that is down (SF-AUTH-03)
    ("task_group.py", "BodyError"),
}
ALLOWED = {"HarnessError", "UnsupportedFeature", "StageflowUnavailableError"}


def _raised_name(node: ast.Raise) -> str:
    exc = node.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    if isinstance(exc, ast.IfExp):  # `raise (A if c else B)(...)`: judged by both
        return "|".join(sorted({_name(exc.body), _name(exc.orelse)}))
    return _name(exc)


def _name(node: ast.expr | None) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ast.dump(node) if node else "re-raise"


def _adapter_statements() -> list[tuple[str, int, ast.stmt]]:
    found: list[tuple[str, int, ast.stmt]] = []
    for path in sorted(SUT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assert | ast.Raise):
                found.append((path.name, node.lineno, node))
    return found


def test_no_adapter_asserts_outside_the_scenario_checks() -> None:
    asserts = [
        f"{name}:{line}"
        for name, line, node in _adapter_statements()
        if isinstance(node, ast.Assert) and name not in ASSERTING_SCENARIOS
    ]
    assert asserts == [], "raise HarnessError instead (an AssertionError reads as NEW)"


def test_every_adapter_raise_is_a_harness_error_or_a_listed_deliberate_failure() -> None:
    unexpected = []
    for name, line, node in _adapter_statements():
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue  # a bare `raise` passes on what it caught
        for raised in _raised_name(node).split("|"):
            if raised not in ALLOWED and (name, raised) not in DELIBERATE:
                unexpected.append(f"{name}:{line} raises {raised}")
    assert unexpected == []


def _row(run: Callable[[], None]) -> Row:
    return verify.run_check(registry.Check("t.adapter", run, "s"), stageflow_module())


def _asks_a_snapshot_for_a_missing_field() -> None:
    registry.count_example()
    snapshot_with(context_snapshot(), "colour", "blue")


def _steps_a_tracker_call_that_suspends() -> None:
    registry.count_example()
    call(asyncio.sleep(0))


def test_an_adapter_refusing_an_operation_is_error_at_its_line() -> None:
    row = _row(_asks_a_snapshot_for_a_missing_field)
    assert row.status == "ERROR"
    assert row.fault.startswith("core/sut/values.py:") and row.fault.endswith("snapshot_with")
    row = _row(_steps_a_tracker_call_that_suspends)
    assert row.status == "ERROR" and row.fault.startswith("core/sut/child_tracker.py:")


def _bag_records_its_own_error_then_the_comparison_fails() -> None:
    registry.count_example()
    from stageflow_verify.core.check.history import HistoryRecorder

    sut = ContextBagSut(HistoryRecorder())
    outcome = asyncio.run(sut.perform("t0", "not an operation"))  # type: ignore[arg-type]
    assert outcome is None, f"the model says the read returns; the history holds {outcome}"


def _stageflow_catches_our_runner_then_the_comparison_fails() -> None:
    registry.count_example()
    sf = stageflow_module()
    spawner = sf.pipeline.subpipeline.SubpipelineSpawner(emit_events=False)
    parent = sf.PipelineContext.create(pipeline_run_id=uuid.uuid4())

    async def runner(ctx: object) -> dict[str, str]:
        snapshot_with(context_snapshot(), "colour", "blue")
        return {}

    async def spawn() -> Any:
        return await spawner.spawn("child", parent, uuid.uuid4(), "stage", runner)

    result = asyncio.run(spawn())
    assert result.success, f"the model says the child succeeds; Stageflow says {result.error}"


def test_a_harness_error_caught_on_the_way_still_makes_the_row_error() -> None:
    for run, raiser in (
        (_bag_records_its_own_error_then_the_comparison_fails, "core/sut/bags.py:"),
        (_stageflow_catches_our_runner_then_the_comparison_fails, "core/sut/values.py:"),
    ):
        row = _row(run)
        assert row.status == "ERROR", row.detail
        assert row.fault.startswith(raiser), row.fault
        assert "caught on the way" in row.detail


def test_a_caught_harness_error_of_an_earlier_example_does_not_excuse_a_later_failure() -> None:
    def run() -> None:
        _asks_and_catches()
        registry.count_example()  # the next example: it fails on its own
        assert stageflow_module().StageOutput.ok(data={"k": 1}).data == {"k": 2}

    def _asks_and_catches() -> None:
        registry.count_example()
        with contextlib.suppress(HarnessError):  # caught by someone on the way
            snapshot_with(context_snapshot(), "colour", "blue")

    assert _row(run).status == "NEW"
