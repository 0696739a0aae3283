"""Laws of PipelineContext's pure projections: to_dict, the id and tenant fields, extract_service.

PipelineContext itself is mutable by design (stages write ``ctx.data``); what must hold is that
its *projections* are faithful and detached:

* ``to_dict`` ("Convert context to a dict for tool execution") writes every id as its string
  (or None), keeps topology, execution mode, input, metadata, service, data and cancellation,
  and hands a tool a detached dict: ``to_dict`` copies ``metadata``, and the reasonable
  expectation is that it treats ``data`` the same way (SF-VAL-12 while it does not);
* the id and tenant fields survive every hop between the two context types:
  ``to_snapshot`` -> ``from_snapshot`` keeps each id, and ``TenantContext.from_snapshot`` keeps
  org, user and session (and is None exactly when there is no org);
* ``extract_service`` agrees with the model in ``models/values.py`` (written from its docstring:
  "chat_fast" -> "chat", kernel names -> None) on generated topologies.

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks 'values.pipeline_context_*'
"""

from __future__ import annotations

import copy
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
    expected,
    releases,
)
from stageflow_verify.core.sut.values import (
    ID_FIELDS,
    context_from_snapshot,
    context_has,
    extract_service,
    pipeline_context,
    tenant_from_snapshot,
)
from stageflow_verify.models import values as model
from stageflow_verify.properties.strategies import datetimes, json_dicts, optional_text, str_dicts

context_fields = st.fixed_dictionaries(
    {
        **{name: st.none() | st.uuids() for name in ID_FIELDS},
        "topology": optional_text,
        "execution_mode": optional_text,
        "input_text": optional_text,
        "input_audio_duration_ms": st.none() | st.integers(0, 10**7),
        "metadata": json_dicts,
        "service": st.text(max_size=6),
        "data": str_dicts,
        "canceled": st.booleans(),
        "created_at": datetimes,
    }
)


@given(fields=context_fields)
def pipeline_context_to_dict_law(fields: dict[str, Any], active: frozenset[str]) -> None:
    count_example()
    ctx = pipeline_context(**copy.deepcopy(fields))
    d = ctx.to_dict()
    for name in ID_FIELDS:
        uid = fields[name]
        assert d[name] == (str(uid) if uid is not None else None), f"to_dict lost {name}"
    for name in ("topology", "execution_mode", "input_text", "input_audio_duration_ms"):
        assert d[name] == fields[name], f"to_dict lost {name}"
    assert d["metadata"] == fields["metadata"] and d["data"] == fields["data"]
    assert d["service"] == fields["service"] and d["canceled"] is fields["canceled"]
    assert d["cancellation_reason"] is None and d["artifacts_count"] == 0
    assert not {"parent_run_id", "parent_stage_id", "correlation_id"} & set(d)
    d["metadata"]["<tool>"] = True
    assert ctx.metadata == fields["metadata"], "a tool changed ctx.metadata through to_dict()"
    if "SF-VAL-12" not in active:  # SF-VAL-12: to_dict hands out the live data dict
        d["data"]["<tool>"] = True
        assert ctx.data == fields["data"], "a tool changed ctx.data through to_dict()"


@given(fields=context_fields)
def pipeline_context_ids_law(fields: dict[str, Any]) -> None:
    count_example()
    ctx = pipeline_context(**fields)
    snapshot = ctx.to_snapshot()
    back = context_from_snapshot(snapshot)
    for name in ID_FIELDS:
        assert getattr(snapshot, name) == fields[name], f"to_snapshot lost {name}"
        assert getattr(back, name) == fields[name], f"from_snapshot lost {name}"
    for name in ("topology", "execution_mode", "input_text", "created_at", "metadata"):
        assert getattr(back, name) == fields[name], f"the snapshot round trip lost {name}"
    # Every other argument of from_snapshot is left out: its defaults (stageflow/stages/
    # context.py:276-288) make a fresh context, uncancelled, with nothing of its own yet.
    fresh = {"canceled": False, "service": "pipeline", "data": {}, "configuration": {}}
    got = {name: getattr(back, name) for name in fresh}
    assert got == fresh, f"from_snapshot(snapshot) with its defaults gave {got}, not {fresh}"
    tenant = tenant_from_snapshot(snapshot)
    if fields["org_id"] is None:
        assert tenant is None, "a TenantContext was made without an org_id"
    else:
        assert tenant is not None
        assert (tenant.org_id, tenant.user_id, tenant.session_id) == (
            fields["org_id"],
            fields["user_id"],
            fields["session_id"],
        ), "TenantContext.from_snapshot lost a tenant field"


# Topologies built from underscore-separated words, so "_kernel" suffixes, leading and
# trailing underscores and empty words all occur, plus arbitrary unicode text.
_words = st.sampled_from(["chat", "voice", "fast", "kernel", "accurate", "", "é"])
topologies = st.none() | st.text(max_size=8) | st.lists(_words, max_size=4).map("_".join)


@given(topology=topologies)
def extract_service_law(topology: str | None) -> None:
    count_example()
    got, expected = extract_service(topology), model.extract_service(topology)
    assert got == expected, f"extract_service({topology!r}) == {got!r}, model says {expected!r}"


CHECKS = [
    Check(
        name="values.pipeline_context_to_dict",
        run=adopting_known(pipeline_context_to_dict_law, lambda: FINDINGS),
        summary="PipelineContext.to_dict keeps every listed field in a detached dict",
        # The law's fields (metadata, input_text, cancellation_reason) and its constructor are
        # 1.2.0's; SF-VAL-12's reproducer checks the data aliasing on every version.
        applies=lambda sf: context_has("create", "metadata", "cancellation_reason"),
    ),
    Check(
        name="values.pipeline_context_ids",
        run=pipeline_context_ids_law,
        summary="ids and tenant fields survive to_snapshot, from_snapshot and TenantContext",
        # Every id field is drawn, so the constructor stands in for create() where it is missing.
        applies=lambda sf: context_has("metadata", "to_snapshot", "from_snapshot"),
    ),
    Check(
        name="values.extract_service",
        run=extract_service_law,
        summary="extract_service agrees with its documented model",
    ),
]


def _to_dict_shares_data(sf: ModuleType) -> bool:
    # Every id is given (0.5.1 requires them; 1.2.0 accepts the same call).
    no_ids = dict.fromkeys(["pipeline_run_id", "request_id", "session_id", "user_id", "org_id"])
    ctx = sf.PipelineContext(data={"approved": False}, interaction_id=None, **no_ids)
    tool_view = ctx.to_dict()
    tool_view["data"]["approved"] = True
    return bool(ctx.data["approved"] is True)


FINDINGS: list[Finding] = [
    Finding(
        id="SF-VAL-12",
        title="PipelineContext.to_dict hands tools the live data dict (metadata is copied)",
        versions=releases(),
        check="values.pipeline_context_to_dict",
        promise=(
            "to_dict: 'Convert context to a dict for tool execution'. It copies metadata "
            "(self.metadata.copy()); reasonably expected to detach data the same way, so a "
            "tool cannot write pipeline data behind the stages' backs."
        ),
        observed=(
            "'data': self.data is the context's own dict: ctx.to_dict()['data']['approved'] = "
            "True changes ctx.data."
        ),
        reproduce=_to_dict_shares_data,
        basis=expected(
            "to_dict makes the dict handed to tools (the guides pass ctx.to_dict() to "
            "registry.execute) and copies metadata for it; a user expects data detached the "
            "same way, so that a tool's write cannot change pipeline data the stages read, "
            "outside the approval and audit the tool guides describe.",
            ("Convert context to a dict for tool execution.", "stageflow/stages/context.py:150"),
            (
                "output = await self.registry.execute(action, ctx.to_dict())",
                "docs/guides/tools.md:578",
            ),
        ),
        severity=Severity(
            "medium",
            "a tool that edits its ctx dict (an ordinary thing to do with a dict it "
            "was given) silently rewrites the run's data",
        ),
        fix="PipelineContext.to_dict (stageflow/stages/context.py:164): 'data': "
        "copy.deepcopy(self.data) (or at least self.data.copy(), as metadata already is).",
    ),
]
