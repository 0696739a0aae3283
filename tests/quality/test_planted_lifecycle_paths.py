"""Bugs planted on the lifecycle paths a graph run rarely takes (issue 17, part B), one or two
per rule of ``models/stage_inputs.py``, ``models/cleanup_tools.py``, ``models/graph_api.py``,
``models/sink_states.py`` and the results defaults of ``models/run_lifecycle.py``, each caught
by its check with a shrunk example; pristine Stageflow passes each check, and each model that
leaves out a finding it adopts fails on pristine Stageflow.

Every patch lives only inside its test (``monkeypatch``); the checks run as ``make verify``
runs them, under the selected profile (``ci`` in ``make test``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from stageflow_verify.core.run.checks import still_reproduces
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties.cleanup_tools import run_cleanup_tools_law
from stageflow_verify.properties.graph_api import run_graph_api_law
from stageflow_verify.properties.sink_states import FINDINGS as SINK_STATE_FINDINGS
from stageflow_verify.properties.sink_states import run_sink_states_law, sink_states_law
from stageflow_verify.properties.stage_inputs import run_stage_inputs_law, stage_inputs_law
from stageflow_verify.stateful.lifecycle_machine import run_lifecycle_machine
from tests.quality.planting import expect_failure, expect_pass

sf = stageflow_module()
inputs = sf.stages.inputs
dag = sf.pipeline.dag
cancellation = sf.pipeline.cancellation
sink_module = sf.events.sink


@pytest.mark.parametrize(
    "check",
    [run_stage_inputs_law, run_cleanup_tools_law, run_graph_api_law, run_sink_states_law],
)
def test_pristine_stageflow_passes(check: Callable[[], None]) -> None:
    expect_pass(check)


# --- StageInputs ------------------------------------------------------------------------------


def test_factory_ignoring_strict_false_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = inputs.create_stage_inputs

    def always_strict(snapshot: Any, **kwargs: Any) -> Any:
        return original(snapshot, **{**kwargs, "strict": True})

    monkeypatch.setattr(inputs, "create_stage_inputs", always_strict)
    caught = expect_failure(run_stage_inputs_law)
    assert "create_stage_inputs kept other arguments" in str(caught.error), caught.error


def test_get_returning_the_last_match_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def last_match(self: Any, key: str, default: Any = None) -> Any:
        self._ensure_valid_key(key)
        found = [o.data[key] for o in self.prior_outputs.values() if key in o.data]
        return found[-1] if found else default

    monkeypatch.setattr(inputs.StageInputs, "get", last_match)
    caught = expect_failure(run_stage_inputs_law)
    assert "answered get(" in str(caught.error), caught.error


def test_none_key_accepted_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def lax(key: Any) -> Any:
        if key == "":
            raise ValueError("StageInputs key cannot be empty")
        return key

    monkeypatch.setattr(inputs.StageInputs, "_ensure_valid_key", staticmethod(lax))
    caught = expect_failure(run_stage_inputs_law)
    assert "'TypeError'" in str(caught.error), caught.error


def test_error_message_without_the_reading_stage_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def init(self: Any, stage_name: str, declared_deps: Any, accessing_stage: Any = None) -> None:
        self.stage_name, self.declared_deps = stage_name, declared_deps
        self.accessing_stage = accessing_stage
        Exception.__init__(self, f"undeclared dependency '{stage_name}'")

    monkeypatch.setattr(inputs.UndeclaredDependencyError, "__init__", init)
    caught = expect_failure(run_stage_inputs_law)
    assert "says" in str(caught.error) or "with the message" in str(caught.error), caught.error


def test_inputs_model_without_sf_life_01_fails_on_pristine() -> None:
    caught = expect_failure(lambda: stage_inputs_law(active=frozenset()))
    assert "UndeclaredDependencyError" in str(caught.error), caught.error


def test_results_data_ignoring_its_default_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    results = sf.pipeline.results.PipelineResults

    def data(self: Any, stage_name: str, default: Any = None) -> Any:
        output = self.get(stage_name)
        if output is None:
            return {}  # the planted bug: the default given is dropped
        return output.data

    monkeypatch.setattr(results, "data", data)
    caught = expect_failure(run_lifecycle_machine)
    assert "results" in str(caught.error), caught.error


# --- cleanup and cancellation tools ------------------------------------------------------------


def test_unregister_that_never_finds_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cancellation.CleanupRegistry, "unregister", lambda self, cb: False)
    caught = expect_failure(run_cleanup_tools_law)
    assert "CleanupRegistry" in str(caught.error), caught.error


def test_run_all_keeping_its_callbacks_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = cancellation.CleanupRegistry.run_all

    async def run_all(self: Any, *, timeout: float = 10.0) -> Any:
        kept = list(self._callbacks)
        answer = await original(self, timeout=timeout)
        self._callbacks.extend(kept)  # the planted bug: still pending afterwards
        return answer

    monkeypatch.setattr(cancellation.CleanupRegistry, "run_all", run_all)
    caught = expect_failure(run_cleanup_tools_law)
    assert "CleanupRegistry" in str(caught.error), caught.error


def test_second_cancel_replacing_the_reason_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = cancellation.CancellationToken.cancel

    def cancel(self: Any, reason: str = "Cancellation requested") -> None:
        if self._cancelled:
            self._reason = reason  # the planted bug
            return
        original(self, reason)

    monkeypatch.setattr(cancellation.CancellationToken, "cancel", cancel)
    caught = expect_failure(run_cleanup_tools_law)
    assert "CancellationToken" in str(caught.error), caught.error


def test_run_with_cleanup_swallowing_the_error_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def run_with_cleanup(coro: Any, cleanup: Any, *, cleanup_timeout: float = 5.0) -> Any:
        try:
            return await coro
        except Exception:
            return None  # the planted bug: the caller never learns
        finally:
            await asyncio.wait_for(cleanup(), timeout=cleanup_timeout)

    monkeypatch.setattr(cancellation, "run_with_cleanup", run_with_cleanup)
    caught = expect_failure(run_cleanup_tools_law)
    assert "run_with_cleanup" in str(caught.error), caught.error


# --- graphs built from specs ---------------------------------------------------------------------


def test_dict_return_losing_its_data_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = dag.UnifiedStageGraph._normalize_output

    def normalize(name: str, raw: Any, started: Any) -> Any:
        return sf.StageOutput.ok() if isinstance(raw, dict) else original(name, raw, started)

    monkeypatch.setattr(dag.UnifiedStageGraph, "_normalize_output", staticmethod(normalize))
    caught = expect_failure(run_graph_api_law)
    assert "outcome" in str(caught.error), caught.error


def test_cancel_request_taken_for_a_failure_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unrelated(Exception):
        pass

    monkeypatch.setattr(dag, "StageCancellationRequested", Unrelated)  # except clauses miss it
    caught = expect_failure(run_graph_api_law)
    assert "cancel_request" in str(caught.error), caught.error


def test_registry_left_after_the_run_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = cancellation.CleanupRegistry()
    monkeypatch.setattr(dag.UnifiedStageGraph, "cleanup_registry", property(lambda self: kept))
    caught = expect_failure(run_graph_api_law)
    assert "registry set, then cleared" in str(caught.error), caught.error


def test_stage_wide_events_never_sent_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from stageflow.observability.wide_events import WideEventEmitter

    monkeypatch.setattr(WideEventEmitter, "emit_stage_event", lambda self, **kw: None)
    caught = expect_failure(run_graph_api_law)
    assert "events" in str(caught.error) and "wide" in str(caught.error), caught.error


# --- BackpressureAwareEventSink's states ----------------------------------------------------------


def test_is_running_that_never_says_so_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = sink_module.BackpressureAwareEventSink
    monkeypatch.setattr(cls, "is_running", property(lambda self: False))
    caught = expect_failure(run_sink_states_law)
    assert "is_running" in str(caught.error), caught.error


def test_drop_rate_of_nothing_sent_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def drop_rate(self: Any) -> float:
        total = self.emitted + self.dropped
        return 100.0 if total == 0 else self.dropped / total * 100.0

    monkeypatch.setattr(sink_module.BackpressureMetrics, "drop_rate", property(drop_rate))
    caught = expect_failure(run_sink_states_law)
    assert "metrics.to_dict()" in str(caught.error), caught.error


def test_sink_model_without_sf_life_09_fails_on_pristine() -> None:
    others = frozenset({"SF-LIFE-06", "SF-LIFE-07"})
    caught = expect_failure(lambda: sink_states_law(active=others))
    assert "burst_stop" in str(caught.error), caught.error


def test_sink_starting_at_once_passes_and_fixes_sf_life_09(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = sink_module.BackpressureAwareEventSink
    original = cls.try_emit

    def try_emit(self: Any, *, type: str, data: Any) -> bool:
        if not self._running:  # start now, not in a task a stop() can overtake
            self._running = True
            self._worker_task = asyncio.get_running_loop().create_task(self._worker())
        return bool(original(self, type=type, data=data))

    monkeypatch.setattr(cls, "try_emit", try_emit)
    expect_pass(run_sink_states_law)
    assert not still_reproduces(SINK_STATE_FINDINGS[0])
