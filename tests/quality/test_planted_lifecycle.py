"""Bugs planted in a run's lifecycle, one or two per rule of ``models/run_lifecycle.py``, each
caught by ``lifecycle.run`` with a shrunk example naming the field that differs.

- inputs: ``get_from`` treats a falsy value as absent; strict validation switched off;
- results: ``require_ok`` lets a SKIP output through;
- cleanup: the registry runs its callbacks first-in first-out;
- events: a stage's context forgets the run's event sink (events go to the global one);
- task group: a group keeping its promise passes (SF-LIFE-04 then FIXED), the model without
  SF-LIFE-04 fails on pristine Stageflow, and a body error that cancels no task is caught;
  as a stage's work, the model without SF-LIFE-03 or SF-LIFE-04 fails on pristine Stageflow,
  and cleanups skipped when the owner is cancelled are caught;
- legacy StageGraph: the model without SF-RUN-02, or without SF-RUN-08 (its circuit breaker,
  shared by the runs of one graph), fails on pristine Stageflow; a CANCEL output
  turned into a failed result and a stage event without the run's id are caught;
- PipelineRunner: the model without SF-LIFE-05 fails on pristine Stageflow, a runner that
  restores the caller's sink passes (SF-LIFE-05 then FIXED), a cancel reported as a failure
  is caught.

Every patch lives only inside its test (``monkeypatch``); the machine runs as ``make verify``
runs it, under the selected profile (``ci`` in ``make test``).
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest

from stageflow_verify.core.run.checks import reproducing_ids
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties.legacy_graph import ADOPTED as LEGACY_ADOPTED
from stageflow_verify.properties.legacy_graph import legacy_graph_law, run_legacy_graph_law
from stageflow_verify.properties.runner import FINDINGS as RUNNER_FINDINGS
from stageflow_verify.properties.runner import run_runner_law, runner_law
from stageflow_verify.properties.task_group import FINDINGS as TASK_GROUP_FINDINGS
from stageflow_verify.properties.task_group import (
    run_task_group_in_run_law,
    run_task_group_law,
    task_group_in_run_law,
    task_group_law,
)
from stageflow_verify.stateful.lifecycle_findings import FINDINGS as LIFECYCLE_FINDINGS
from stageflow_verify.stateful.lifecycle_findings import KNOWN_ELSEWHERE, applies
from stageflow_verify.stateful.lifecycle_machine import run_lifecycle_machine
from tests.quality.planting import Caught, expect_failure, expect_pass

sf = stageflow_module()
if applies(sf) is not None:
    pytest.skip(str(applies(sf)), allow_module_level=True)

inputs = sf.stages.inputs
dag = sf.pipeline.dag
ORIGINAL_CREATE_INPUTS = inputs.create_stage_inputs
ORIGINAL_STAGE_CONTEXT = dag.StageContext
PipelineResults = sf.pipeline.results.PipelineResults
CleanupRegistry = sf.pipeline.cancellation.CleanupRegistry


def caught_in(field: str) -> Caught:
    caught = expect_failure(run_lifecycle_machine)
    assert field in str(caught.error), caught.error
    # Shrunk: the graph, then the one run that shows it (teardown is listed too).
    runs = [s for s in caught.steps if "draw_graph" not in s and "teardown" not in s]
    assert len(runs) == 1, caught.steps
    return caught


def test_pristine_stageflow_passes() -> None:
    expect_pass(run_lifecycle_machine)


def test_falsy_value_read_as_missing_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def get_from(self: Any, stage_name: str, key: str, default: Any = None) -> Any:
        self._validate_dependency(stage_name)
        output = self.prior_outputs.get(stage_name)
        return (output.data.get(key) if output else None) or default  # the planted bug

    monkeypatch.setattr(inputs.StageInputs, "get_from", get_from)
    caught_in("reads:")


def test_strict_validation_switched_off_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def lenient(*args: Any, **kwargs: Any) -> Any:
        return ORIGINAL_CREATE_INPUTS(*args, **{**kwargs, "strict": False})  # the planted bug

    monkeypatch.setattr(inputs, "create_stage_inputs", lenient)
    caught_in("reads:")


def test_require_ok_accepting_a_skip_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = PipelineResults.require_ok

    def require_ok(self: Any, stage_name: str) -> Any:
        if self.require(stage_name).status == sf.StageStatus.SKIP:
            return self[stage_name]  # the planted bug
        return original(self, stage_name)

    monkeypatch.setattr(PipelineResults, "require_ok", require_ok)
    caught_in("results:")


def test_cleanups_run_first_in_first_out_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = CleanupRegistry.run_all

    async def run_all(self: Any, *, timeout: float = 10.0) -> Any:
        self._callbacks.reverse()  # the planted bug: run_all's LIFO now runs them FIFO
        return await original(self, timeout=timeout)

    monkeypatch.setattr(CleanupRegistry, "run_all", run_all)
    caught_in("not LIFO")


def test_stage_context_forgetting_the_run_sink_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def stage_context(**fields: Any) -> Any:
        fields.pop("event_sink", None)  # the planted bug: the global sink serves instead
        return ORIGINAL_STAGE_CONTEXT(**fields)

    monkeypatch.setattr(dag, "StageContext", stage_context)
    caught_in("events:")


# -- StructuredTaskGroup (lifecycle.task_group) ----------------------------------------------
StructuredTaskGroup = sf.pipeline.cancellation.StructuredTaskGroup
ORIGINAL_AEXIT = StructuredTaskGroup.__aexit__


async def aexit_as_documented(self: Any, exc_type: Any, exc_val: Any, exc_tb: Any) -> Any:
    """__aexit__ keeping the docstring's promise: the first failure cancels the others."""
    if exc_type is not None or not self._tasks:
        return await ORIGINAL_AEXIT(self, exc_type, exc_val, exc_tb)
    pending, first = set(self._tasks), None
    while pending and first is None:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        failed = [t for t in self._tasks if t in done and not t.cancelled() and t.exception()]
        if failed:
            first = failed[0].exception()
            self._cancel_token.cancel("Task failed")
            await self._cancel_all()
    await ORIGINAL_AEXIT(self, None, None, None)  # every task is done: this runs the cleanups
    if first is not None:
        raise first
    return False


def test_task_group_as_documented_passes_and_fixes_the_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(StructuredTaskGroup, "__aexit__", aexit_as_documented)
    assert not reproducing_ids(TASK_GROUP_FINDINGS), "SF-LIFE-04 should be FIXED by the patch"
    expect_pass(run_task_group_law)


def test_task_group_model_without_the_finding_fails_on_pristine() -> None:
    caught = expect_failure(lambda: task_group_law(active=frozenset()))
    assert "StructuredTaskGroup differs" in str(caught.error), caught.error


def test_body_error_that_cancels_no_task_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def cancel_all(self: Any) -> None:
        self._cancel_token.cancel("Task group shutting down")  # the planted bug: no task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    monkeypatch.setattr(StructuredTaskGroup, "_cancel_all", cancel_all)
    caught = expect_failure(run_task_group_law)
    assert "body" in str(caught.error), caught.error


@pytest.mark.parametrize("left_out", ["SF-LIFE-03", "SF-LIFE-04"])
def test_task_group_in_run_model_without_one_finding_fails_on_pristine(left_out: str) -> None:
    active = reproducing_ids([*TASK_GROUP_FINDINGS, *LIFECYCLE_FINDINGS]) - {left_out}
    caught = expect_failure(lambda: task_group_in_run_law(active=active))
    assert "StructuredTaskGroup in a run differs" in str(caught.error), caught.error


def test_group_cleanups_skipped_when_cancelled_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = CleanupRegistry.run_all

    async def run_all(self: Any, *, timeout: float = 10.0) -> Any:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return [], []  # the planted bug: a cancelled owner skips its cleanups
        return await original(self, timeout=timeout)

    monkeypatch.setattr(CleanupRegistry, "run_all", run_all)
    caught = expect_failure(run_task_group_in_run_law)
    assert "not each once, LIFO" in str(caught.error), caught.error


# -- legacy StageGraph (lifecycle.legacy_graph) ----------------------------------------------
PipelineContext = sf.PipelineContext


@pytest.mark.parametrize(
    ("left_out", "shows"), [("SF-RUN-02", "retry"), ("SF-RUN-08", "Circuit breaker open")]
)
def test_legacy_model_without_one_adopted_finding_fails_on_pristine(
    left_out: str, shows: str
) -> None:
    active = reproducing_ids(LEGACY_ADOPTED) - {left_out}
    caught = expect_failure(lambda: legacy_graph_law(active=active))
    assert "StageGraph run" in str(caught.error) and shows in str(caught.error), caught.error


def test_legacy_model_counting_each_failure_once_sees_the_double_count() -> None:
    # SF-RUN-11 left out: the model counts a raise once, as the guides' "After 5 failures"
    # says, and the law compares the breaker's counts after every run.
    active = reproducing_ids(LEGACY_ADOPTED) - {"SF-RUN-11"}
    caught = expect_failure(lambda: legacy_graph_law(active=active))
    assert "the breaker counts" in str(caught.error), caught.error


def test_legacy_cancel_output_as_failure_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = dag.StageGraph._normalize_result

    def normalize(name: str, raw: Any, started_at: Any, ended_at: Any) -> Any:
        result = original(name, raw, started_at, ended_at)
        if isinstance(raw, sf.StageOutput) and raw.status == sf.StageStatus.CANCEL:
            result.status = "failed"  # the planted bug
        return result

    monkeypatch.setattr(dag.StageGraph, "_normalize_result", staticmethod(normalize))
    caught = expect_failure(run_legacy_graph_law)
    assert "results:" in str(caught.error), caught.error


def test_legacy_event_without_the_run_id_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = PipelineContext.record_stage_event

    def record(self: Any, *, stage: str, status: str, payload: Any = None) -> None:
        sink = self.event_sink

        class Forgetful:  # the planted bug: the run id is dropped on the way to the sink
            def try_emit(self, *, type: str, data: dict[str, Any]) -> None:
                sink.try_emit(type=type, data={**data, "pipeline_run_id": None})

        self.event_sink = Forgetful()
        try:
            original(self, stage=stage, status=status, payload=payload)
        finally:
            self.event_sink = sink

    monkeypatch.setattr(PipelineContext, "record_stage_event", record)
    caught = expect_failure(run_legacy_graph_law)
    assert "events:" in str(caught.error), caught.error


# -- PipelineRunner (lifecycle.runner) -------------------------------------------------------
run_utils = importlib.import_module("stageflow.helpers.run_utils")
sink_var = importlib.import_module("stageflow.events.sink")._event_sink_var


def test_runner_model_without_sf_life_05_fails_on_pristine() -> None:
    active = reproducing_ids([*LIFECYCLE_FINDINGS, *KNOWN_ELSEWHERE])
    caught = expect_failure(lambda: runner_law(active=active))
    assert "global sink kept" in str(caught.error) or "RunResult" in str(caught.error)


def test_runner_restoring_the_sink_passes_and_fixes_the_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = run_utils.PipelineRunner.run

    async def run_restoring(self: Any, *args: Any, **kwargs: Any) -> Any:
        saved = sink_var.get()
        try:
            return await original(self, *args, **kwargs)
        finally:
            sink_var.set(saved)  # the fix: the helper's sink serves its run only

    monkeypatch.setattr(run_utils.PipelineRunner, "run", run_restoring)
    assert not reproducing_ids(RUNNER_FINDINGS), "SF-LIFE-05 should be FIXED by the patch"
    expect_pass(run_runner_law)


def test_runner_reporting_a_cancel_as_a_failure_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    never_raised = type("NeverRaised", (Exception,), {})
    monkeypatch.setattr(run_utils, "UnifiedPipelineCancelled", never_raised)  # the planted bug
    caught = expect_failure(run_runner_law)
    assert "RunResult" in str(caught.error) and "cancel" in str(caught.error), caught.error
