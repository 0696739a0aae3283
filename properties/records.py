"""Laws of the records Stageflow serialises: OutputEntry and SubpipelineResult.

Both have a ``to_dict`` documented (OutputEntry) or used as a JSON-serialisable view, and
neither has a ``from_dict``, so the law is the one-way half of a round trip: every field of the
record can be read back from the dict (a timestamp through ``datetime.fromisoformat``, a UUID
through ``UUID(...)``, a StageOutput through its status value and fields), and the dict
survives ``json.dumps``/``json.loads`` unchanged when the payload is JSON data. Summaries the
format chose on purpose (``artifacts_count`` rather than the artifacts) are checked as counts.
SubpipelineResult.to_dict writes ``data`` and ``error`` only when they hold something (its
fields are documented as optional, and nothing promises a round trip), so there an empty value
reads back as absent: that is the law's rule, not a deviation (SF-VAL-10, which held it to the
round trip, was withdrawn).

OutputEntry is a frozen dataclass, so its law also checks that its own fields cannot be
reassigned. (Its StageOutput's data dict is shared, which is SF-VAL-08's subject, not this one.)

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks 'values.*_to_dict'
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from types import ModuleType
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import (
    Check,
    Finding,
    Severity,
    adopting_known,
    count_example,
    documented,
    expected,
    releases,
)
from stageflow_verify.core.run.withdrawn import Withdrawn
from stageflow_verify.core.sut.values import (
    output_entry,
    output_fields,
    output_has_version,
    stage_output,
    subpipeline_result,
)
from stageflow_verify.properties.strategies import datetimes, json_dicts, optional_text

_MISSING = object()


@given(
    status=st.sampled_from(["ok", "skip", "cancel", "fail", "retry"]),
    data=json_dicts,
    error=optional_text,
    duration=st.none() | st.integers(0, 10**6),
    # 0.5.1's StageOutput has no version: none is drawn there.
    version=optional_text if output_has_version() else st.none(),
    attempt=st.integers(1, 10),
    timestamp=datetimes,
    stage_name=st.text(max_size=8),
)
def output_entry_to_dict_law(
    status: str,
    data: dict[str, Any],
    error: str | None,
    duration: int | None,
    version: str | None,
    attempt: int,
    timestamp: datetime,
    stage_name: str,
    active: frozenset[str],
) -> None:
    count_example()
    out = stage_output(status, data=data, error=error, duration_ms=duration, version=version)
    entry = output_entry(out, attempt, timestamp, stage_name)
    for name in ("output", "attempt", "timestamp", "stage_name"):
        try:
            setattr(entry, name, None)
        except dataclasses.FrozenInstanceError:
            continue
        raise AssertionError(f"OutputEntry allowed entry.{name} = None")
    d = entry.to_dict()
    fields = output_fields(out)
    assert d["stage_name"] == stage_name and d["attempt"] == attempt
    assert datetime.fromisoformat(d["timestamp"]) == timestamp, "timestamp did not round-trip"
    assert d["status"] == fields["status"] and d["data"] == data
    assert d["error"] == error and d["duration_ms"] == duration
    assert d["artifacts_count"] == 0 and d["events_count"] == 0
    # SF-VAL-09: to_dict omits the output's version; 0.5.1 has no version to keep. Adopted, it
    # excuses only the missing key: a version that is written must be the output's.
    if output_has_version() and ("SF-VAL-09" not in active or "version" in d):
        assert d.get("version", _MISSING) == version, "OutputEntry.to_dict lost the version"
    assert json.loads(json.dumps(d)) == d, "OutputEntry.to_dict is not JSON round-trippable"


_OMITTED = "<omitted>"
# SubpipelineResult's documented defaults (docs/advanced/subpipelines.md:729-731 list data and
# error as optional, "| None"; the dataclass gives None, None and 0.0): an argument left out
# reads as its default, so a changed default is a bug a caller who omits it sees.
RESULT_DEFAULTS: dict[str, Any] = {"data": None, "error": None, "duration_ms": 0.0}


@given(
    success=st.booleans(),
    child_run_id=st.uuids(),
    data=st.just(_OMITTED) | st.none() | json_dicts,
    error=st.just(_OMITTED) | optional_text,
    duration=st.just(_OMITTED) | st.floats(min_value=0, max_value=1e9, allow_nan=False),
)
def subpipeline_result_to_dict_law(
    success: bool,
    child_run_id: UUID,
    data: Any,
    error: Any,
    duration: Any,
    active: frozenset[str],
) -> None:
    count_example()
    given_args = {"data": data, "error": error, "duration_ms": duration}
    passed = {k: v for k, v in given_args.items() if v is not _OMITTED}
    data, error, duration = ({**RESULT_DEFAULTS, **passed}[k] for k in given_args)
    d = subpipeline_result(success, child_run_id, **passed).to_dict()
    assert d["success"] is success and UUID(d["child_run_id"]) == child_run_id
    assert d["duration_ms"] == duration, f"duration_ms={d['duration_ms']!r}, passed {passed}"
    # An absent key reads as None: that is how to_dict writes "no data" and "no error", and it
    # writes an empty one the same way. The fields are documented as optional ("data | dict |
    # None", "error | str | None | Error message if failed", docs/advanced/subpipelines.md:729)
    # and no from_dict or docstring promises a round trip, so {} and "" read back as None.
    assert d.get("data") == (data or None), f"SubpipelineResult.to_dict lost data={data!r}"
    assert d.get("error") == (error or None), f"SubpipelineResult.to_dict lost error={error!r}"
    assert json.loads(json.dumps(d)) == d, "SubpipelineResult.to_dict is not JSON round-trippable"


CHECKS = [
    Check(
        name="values.output_entry_to_dict",
        run=adopting_known(output_entry_to_dict_law, lambda: FINDINGS),
        summary="OutputEntry is frozen and its to_dict keeps every field, JSON-safe",
    ),
    Check(
        name="values.subpipeline_result_to_dict",
        run=adopting_known(subpipeline_result_to_dict_law, lambda: FINDINGS),
        summary="SubpipelineResult.to_dict keeps every field, JSON-safe",
    ),
]


def _entry_drops_version(sf: ModuleType) -> bool:
    out = sf.StageOutput.ok({"text": "hi"}, version="summary/v2")
    entry = sf.context.OutputEntry(output=out, attempt=1, timestamp=datetime.now(), stage_name="s")
    return "version" not in entry.to_dict()


def _needs_output_version(sf: ModuleType) -> str | None:
    # On 0.5.1, ok(version=...) lands in **kwargs and is dropped: the reproducer would say True
    # about a field that does not exist there.
    if any(f.name == "version" for f in dataclasses.fields(sf.StageOutput)):
        return None
    return "StageOutput has no version field in this version"


FINDINGS: list[Finding] = [
    Finding(
        id="SF-VAL-09",
        title="OutputEntry.to_dict omits the StageOutput's version",
        versions=releases("0.7.0"),
        check="values.output_entry_to_dict",
        promise=(
            "OutputEntry.to_dict 'Convert to JSON-serializable dictionary' serialises every "
            "other StageOutput field (status, data, error, duration_ms); reasonably expected to "
            "keep the 'explicit schema version tag' StageOutput.with_version sets."
        ),
        observed="OutputEntry(StageOutput.ok(..., version='summary/v2'), ...).to_dict() has no "
        "'version' key: the schema tag is lost from OutputBag.to_dict too.",
        reproduce=_entry_drops_version,
        applies=_needs_output_version,
        basis=expected(
            "to_dict is the bag's serialised form and carries every other StageOutput field; "
            "version exists to tag the schema of data, so a consumer of the serialised entry "
            "is the one who needs it, and cannot tell v1 from v2 data without it.",
            (
                "Return a copy with an explicit schema version tag.",
                "stageflow/core/stage_output.py:148",
            ),
            ("Convert to JSON-serializable dictionary.", "stageflow/context/output_bag.py:66"),
        ),
        severity=Severity("low", "metadata lost from a serialised view; the live entry keeps it"),
        fix="OutputEntry.to_dict (stageflow/context/output_bag.py:67): add "
        "'version': self.output.version.",
    ),
]

# Checked, not a bug.
WITHDRAWN: list[Withdrawn] = [
    Withdrawn(
        id="SF-VAL-10",
        title="SubpipelineResult.to_dict drops empty data and empty error",
        reason="to_dict is a one-way serialiser with no docstring and no from_dict, and "
        "SubpipelineResult documents data and error as optional ('Error message if failed'): "
        "writing an empty one as absent breaks no promise. The law now states that rule.",
        basis=documented(
            (
                "| `data` | `dict \\| None` | Output data from the child pipeline |",
                "docs/advanced/subpipelines.md:729",
            ),
            (
                "| `error` | `str \\| None` | Error message if failed |",
                "docs/advanced/subpipelines.md:730",
            ),
        ),
    ),
]
