"""Law of the subpipeline event records: what a caller who builds one reads back.

``PipelineSpawnedChildEvent``, ``PipelineChildCompletedEvent``, ``PipelineChildFailedEvent`` and
``PipelineCanceledEvent`` are public (``docs/advanced/subpipelines.md:746-752`` import them) and
documented by the dicts their ``to_dict`` writes (``:764-811``). The spawn-tree machine reads
the events the spawner emits, which always pass every field; this law builds each record with
its optional fields drawn *or left out*, so a changed default is seen:

- every field passed is in ``to_dict``, ids as strings, and an absent ``parent_run_id`` of a
  canceled event is ``None`` ("null if root", ``:808``);
- left out: ``duration_ms`` is 0.0 and ``cascade_depth`` 0 ("0 for root", ``:810``), ``reason``
  "user_requested" (``:809``; also ``cancel_with_children``'s documented default, ``:622``), and
  ``timestamp`` is an ISO-8601 time in UTC;
- a record cannot be changed once built (each is declared ``frozen=True``): an event handed to
  several sinks or kept for replay must read the same everywhere.

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks values.subpipeline_events
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.sut.values import SUBPIPELINE_EVENTS, subpipeline_event

_OMITTED = "<omitted>"
_texts = st.text("abc_", max_size=6)
# Each event's fields: (name, strategy, default or _OMITTED when the field is required).
_FIELDS: dict[str, list[tuple[str, st.SearchStrategy[Any], Any]]] = {
    "PipelineSpawnedChildEvent": [
        ("parent_run_id", st.uuids(), _OMITTED),
        ("child_run_id", st.uuids(), _OMITTED),
        ("parent_stage_id", _texts, _OMITTED),
        ("pipeline_name", _texts, _OMITTED),
        ("correlation_id", st.uuids(), _OMITTED),
    ],
    "PipelineChildCompletedEvent": [
        ("parent_run_id", st.uuids(), _OMITTED),
        ("child_run_id", st.uuids(), _OMITTED),
        ("pipeline_name", _texts, _OMITTED),
        ("duration_ms", st.floats(0, 1e6), 0.0),
    ],
    "PipelineChildFailedEvent": [
        ("parent_run_id", st.uuids(), _OMITTED),
        ("child_run_id", st.uuids(), _OMITTED),
        ("pipeline_name", _texts, _OMITTED),
        ("error_message", _texts, _OMITTED),
        ("duration_ms", st.floats(0, 1e6), 0.0),
    ],
    "PipelineCanceledEvent": [
        ("pipeline_run_id", st.uuids(), _OMITTED),
        ("parent_run_id", st.none() | st.uuids(), None),
        ("reason", _texts, "user_requested"),
        ("cascade_depth", st.integers(0, 4), 0),
    ],
}


@st.composite
def events(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(event class, the arguments passed, what to_dict must say for each field)."""
    name = draw(st.sampled_from(SUBPIPELINE_EVENTS))
    passed: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for field, values, default in _FIELDS[name]:
        leave_out = default is not _OMITTED and draw(st.booleans())
        value = default if leave_out else draw(values)
        if not leave_out:
            passed[field] = value
        expected[field] = str(value) if isinstance(value, UUID) else value
    return name, passed, expected


@given(event=events())
def subpipeline_events_law(event: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
    count_example()
    name, passed, expected = event
    record = subpipeline_event(name, **passed)
    written = record.to_dict()
    stamp = written.pop("timestamp", None)
    assert written == expected, f"{name}({passed}).to_dict() wrote {written}, not {expected}"
    when = datetime.fromisoformat(str(stamp))
    assert when.utcoffset() == timedelta(0), f"{name}: timestamp {stamp!r} is not UTC"
    field = next(iter(passed))
    try:
        setattr(record, field, passed[field])
    except (dataclasses.FrozenInstanceError, AttributeError):
        pass
    else:
        raise AssertionError(f"{name}.{field} could be reassigned after the event was built")


CHECKS = [
    Check(
        name="values.subpipeline_events",
        run=subpipeline_events_law,
        summary="subpipeline event records: every field and default in to_dict, frozen",
    )
]
