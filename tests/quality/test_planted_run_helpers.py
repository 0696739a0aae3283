"""Bugs planted in ``stageflow.helpers.run_utils``, each caught by ``helpers.run_utils`` with a
shrunk example; pristine Stageflow passes.

One bug per rule of :mod:`models.run_helpers` and of the sink and logging claims: ``to_dict``
without the cancellation, ``get_stage_data`` ignoring its default, ``create_snapshot``
replacing a given id, a runner printing while quiet, ``print_result`` leaving out the error,
the sink storing events with ``capture=False``, colouring with ``colorize=False``, matching
types exactly in ``get_events_by_type``, a summary with the wrong count, ``setup_logging``
ignoring ``verbose``, and ``JsonLogFormatter`` dropping the ``stage`` field.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import pytest

from stageflow_verify.properties.run_helpers import helpers_check, run_helpers_law
from tests.quality.planting import expect_failure, expect_pass

run_utils = pytest.importorskip("stageflow.helpers.run_utils")
Sink = run_utils.ObservableEventSink


def test_pristine_stageflow_passes() -> None:
    expect_pass(run_helpers_law)


def test_to_dict_without_the_cancellation_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_utils.RunResult.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        made: dict[str, Any] = real(self)
        made.pop("cancel_reason", None)  # the planted bug
        return made

    monkeypatch.setattr(run_utils.RunResult, "to_dict", to_dict)
    caught = expect_failure(run_helpers_law)
    assert "RunResult" in str(caught.error) and "cancel" in str(caught.error), caught.error


def test_get_stage_data_ignoring_its_default_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def get_stage_data(self: Any, stage_name: str, key: str, default: Any = None) -> Any:
        return self.stages.get(stage_name, {}).get(key)  # the planted bug

    monkeypatch.setattr(run_utils.RunResult, "get_stage_data", get_stage_data)
    caught = expect_failure(run_helpers_law)
    assert "get_stage_data" in str(caught.error), caught.error


def test_create_snapshot_replacing_a_given_id_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_utils.PipelineRunner.create_snapshot

    @functools.wraps(real)
    def create_snapshot(self: Any, **kwargs: Any) -> Any:
        kwargs.pop("request_id", None)  # the planted bug: a fresh one instead
        return real(self, **kwargs)

    monkeypatch.setattr(run_utils.PipelineRunner, "create_snapshot", create_snapshot)
    caught = expect_failure(run_helpers_law)
    assert "request_id given" in str(caught.error), caught.error


def test_print_result_without_the_error_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def print_result(self: Any, result: Any, *, show_data: bool = True) -> None:
        print("RESULTS", *result.stages)  # the planted bug: a failure says nothing

    monkeypatch.setattr(run_utils.PipelineRunner, "print_result", print_result)
    caught = expect_failure(run_helpers_law)
    assert "print_result never shows the error" in str(caught.error), caught.error


def test_a_quiet_runner_that_prints_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_utils.PipelineRunner.run

    @functools.wraps(real)
    async def run(self: Any, pipeline: Any, **kwargs: Any) -> Any:
        print("RUNNING PIPELINE")  # the planted bug: whatever verbose says
        return await real(self, pipeline, **kwargs)

    monkeypatch.setattr(run_utils.PipelineRunner, "run", run)
    caught = expect_failure(run_helpers_law)
    assert "printed while not verbose" in str(caught.error), caught.error


def test_sink_capturing_when_told_not_to_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Sink.__init__

    def init(self: Any, **kwargs: Any) -> None:
        real(self, **{**kwargs, "capture": True})  # the planted bug

    monkeypatch.setattr(Sink, "__init__", init)
    caught = expect_failure(run_helpers_law)
    assert "events" in str(caught.error), caught.error


def test_sink_colouring_when_told_not_to_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Sink._print_event

    def print_event(self: Any, event: dict[str, Any]) -> None:
        self.colorize = True  # the planted bug
        real(self, event)

    monkeypatch.setattr(Sink, "_print_event", print_event)
    caught = expect_failure(run_helpers_law)
    assert "ANSI" in str(caught.error), caught.error


def test_events_by_type_matching_exactly_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def by_type(self: Any, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]  # the planted bug

    monkeypatch.setattr(Sink, "get_events_by_type", by_type)
    caught = expect_failure(run_helpers_law)
    assert "get_events_by_type" in str(caught.error), caught.error


def test_summary_with_the_wrong_count_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def print_summary(self: Any) -> None:
        print(f"Total events: {len(self.events) + 1}")  # the planted bug

    monkeypatch.setattr(Sink, "print_summary", print_summary)
    caught = expect_failure(run_helpers_law)
    assert "summary" in str(caught.error), caught.error


def test_setup_logging_ignoring_verbose_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_utils.setup_logging

    def setup_logging(**kwargs: Any) -> None:
        real(**{**kwargs, "verbose": False})  # the planted bug
        logging.getLogger().setLevel(logging.INFO)

    monkeypatch.setattr(run_utils, "setup_logging", setup_logging)
    caught = expect_failure(run_helpers_law)
    assert "level" in str(caught.error), caught.error


def test_json_formatter_dropping_the_stage_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_utils.JsonLogFormatter.format

    def format_record(self: Any, record: logging.LogRecord) -> str:
        made = json.loads(real(self, record))
        made.pop("stage", None)  # the planted bug
        return json.dumps(made)

    monkeypatch.setattr(run_utils.JsonLogFormatter, "format", format_record)
    caught = expect_failure(run_helpers_law)
    assert "extra fields" in str(caught.error), caught.error


def test_each_finding_is_rediscovered_when_left_out() -> None:
    # The law adopts SF-HELP-01..03 and 05 while they reproduce; with one left out, pristine
    # 1.2.0 must fail it (the deviation is there because Stageflow needs it, not to quiet a
    # check), and the failure is that finding's own symptom, not some other rule's.
    found = {"SF-HELP-01", "SF-HELP-02", "SF-HELP-03", "SF-HELP-05"}
    rule = {"SF-HELP-01": "raised TypeError", "SF-HELP-02": "raised RuntimeError"}
    rule["SF-HELP-03"] = "get_stage_events"
    rule["SF-HELP-05"] = "immutability violations logged"
    for left_out in sorted(found):
        active = frozenset(found - {left_out})
        caught = expect_failure(lambda a=active: helpers_check(a))  # type: ignore[misc]
        assert rule[left_out] in str(caught.error), (left_out, caught.error)
