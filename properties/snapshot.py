"""Laws of ContextSnapshot, the "immutable view passed to stages".

ContextSnapshot documents three promises, and each gets a law:

* "Serializable to JSON (for testing and Central Pulse replay)" and "Full JSON roundtrip
  support": ``from_dict(to_dict(s)) == s``, and the same through ``json.dumps``/``json.loads``
  when the payload is JSON data. Generated snapshots fill every bundle (RunIdentity,
  Enrichments with a profile and web results, Conversation with messages and a routing
  decision, a dict extension) or leave it None, so a field the round trip drops shows.
* the ``with_*`` copies replace one field and keep every other one;
* "Immutable (frozen dataclass)": no field can be reassigned, and (the reasonable reading of
  "immutable") nothing reachable from the snapshot can change it afterwards: not the caller's
  metadata dict, not the dict ``s.metadata`` hands out, not ``to_dict()``'s result. While
  SF-VAL-11 reproduces, the law excuses exactly its symptom (the written metadata keys show
  through, with the values written) and still compares everything else.

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks 'values.context_snapshot_*'
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
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
from stageflow_verify.core.sut.values import (
    ID_FIELDS,
    context_snapshot,
    conversation,
    enrichments,
    message,
    record_fields,
    run_identity,
    snapshot_from_dict,
    snapshot_takes_dict_extensions,
    snapshot_with,
)
from stageflow_verify.properties.strategies import (
    datetimes,
    is_hashable,
    json_dicts,
    optional_text,
    values,
)

_texts = st.text(max_size=6)
run_identities = st.builds(
    run_identity, st.fixed_dictionaries({f: st.none() | st.uuids() for f in ID_FIELDS}), datetimes
)
_messages = st.builds(message, _texts, _texts, st.none() | datetimes, json_dicts)
_routing = st.none() | st.tuples(_texts, _texts, _texts, optional_text)
conversations = st.builds(conversation, st.lists(_messages, max_size=3), _routing)
_enrichments = st.builds(
    enrichments,
    st.none() | st.uuids(),
    optional_text,
    json_dicts,
    st.lists(_texts, max_size=3),
    st.lists(json_dicts, max_size=2),
    # Each part present or not, so from_dict's "is anything there" test (legacy format) meets
    # every combination, not only "a profile is always there".
    with_profile=st.booleans(),
    memory=st.none()
    | st.tuples(st.lists(_texts, max_size=2), st.lists(_texts, max_size=2), optional_text),
    documents=st.lists(st.tuples(optional_text, optional_text), max_size=2),
)

snapshot_fields = st.fixed_dictionaries(
    {
        "run_id": run_identities,
        "enrichments": st.none() | _enrichments,
        "conversation": st.none() | conversations,
        # 0.5.1's to_dict takes typed extension bundles only, not plain dicts: none drawn there.
        "extensions": (st.none() | json_dicts) if snapshot_takes_dict_extensions() else st.none(),
        "input_text": optional_text,
        "input_audio_duration_ms": st.none() | st.integers(0, 10**7),
        "topology": optional_text,
        "execution_mode": optional_text,
        "created_at": datetimes,
        "metadata": json_dicts,
    }
)


@given(fields=snapshot_fields)
def context_snapshot_roundtrip_law(fields: dict[str, Any]) -> None:
    count_example()
    snapshot = context_snapshot(**fields)
    as_dict = snapshot.to_dict()
    assert snapshot_from_dict(as_dict) == snapshot, "from_dict(to_dict(s)) != s"
    through_json = json.loads(json.dumps(as_dict))
    assert snapshot_from_dict(through_json) == snapshot, "the JSON round trip changed s"
    for name in ID_FIELDS:  # the flat, backwards-compatible view agrees with run_id
        uid = getattr(fields["run_id"], name)
        assert as_dict[name] == (str(uid) if uid else None), f"flat {name} disagrees"


_replacements = {
    "run_id": run_identities,
    "enrichments": _enrichments,
    "conversation": conversations,
    "extensions": json_dicts,
}


@given(fields=snapshot_fields, field=st.sampled_from(sorted(_replacements)), data=st.data())
def context_snapshot_copy_law(fields: dict[str, Any], field: str, data: st.DataObject) -> None:
    count_example()
    snapshot = context_snapshot(**fields)
    replacement = data.draw(_replacements[field], label="replacement")
    before = record_fields(snapshot)
    copied = snapshot_with(snapshot, field, replacement)
    assert record_fields(copied) == {**before, field: replacement}, f"with_{field} lost a field"
    assert record_fields(snapshot) == before, f"with_{field} changed the original"


@given(fields=snapshot_fields, value=values)
def context_snapshot_frozen_law(fields: dict[str, Any], value: Any, active: frozenset[str]) -> None:
    count_example()
    passed_in = copy.deepcopy(fields)
    snapshot = context_snapshot(**passed_in)
    for name in fields:
        try:
            setattr(snapshot, name, value)
        except dataclasses.FrozenInstanceError:
            continue
        raise AssertionError(f"ContextSnapshot allowed s.{name} = ...")
    twin = context_snapshot(**copy.deepcopy(fields))
    assert snapshot == twin
    if is_hashable(snapshot):
        assert hash(snapshot) == hash(twin), "equal snapshots hash apart"
    before = copy.deepcopy(snapshot.to_dict())
    passed_in["metadata"]["<mutated>"] = True
    handed_out = snapshot.to_dict()
    handed_out["metadata"]["<to_dict>"] = True
    handed_out["topology"] = "<to_dict>"  # to_dict's result is the caller's, not a live view
    with contextlib.suppress(TypeError):  # a read-only mapping is what "immutable" asks for
        snapshot.metadata["<attribute>"] = True
    after = snapshot.to_dict()
    if "SF-VAL-11" in active:
        # SF-VAL-11 excuses exactly what its reproducer shows: a write into the metadata dict
        # (the caller's, s.metadata, to_dict()'s) shows through. So each written key may
        # appear, with the value written; any other change to metadata, or to any other field
        # of to_dict(), still fails the law.
        shown = {key for key in _METADATA_WRITES if key in after["metadata"]}
        before["metadata"] = {**before["metadata"], **dict.fromkeys(shown, True)}
    assert after == before, "the 'immutable' snapshot changed after creation"


# The metadata keys the frozen law writes through the three paths SF-VAL-11 names.
_METADATA_WRITES = ("<mutated>", "<to_dict>", "<attribute>")

CHECKS = [
    Check(
        name="values.context_snapshot_roundtrip",
        run=context_snapshot_roundtrip_law,
        summary="ContextSnapshot.from_dict(to_dict(s)) == s, also through JSON",
    ),
    Check(
        name="values.context_snapshot_copies",
        run=context_snapshot_copy_law,
        summary="with_run_id/enrichments/conversation/extensions keep every other field",
    ),
    Check(
        name="values.context_snapshot_frozen",
        run=adopting_known(context_snapshot_frozen_law, lambda: FINDINGS),
        summary="an 'immutable' ContextSnapshot cannot change after creation",
    ),
]


def _metadata_mutable(sf: ModuleType) -> bool:
    # The three ways in that the frozen law excuses while this reproduces, each on its own
    # snapshot: the caller's dict, s.metadata and to_dict()'s metadata.
    callers = {"tenant_tier": "free"}
    through_caller = sf.context.ContextSnapshot(metadata=callers)
    callers["tenant_tier"] = "enterprise"
    through_attribute = sf.context.ContextSnapshot(metadata={"tenant_tier": "free"})
    with contextlib.suppress(TypeError):  # a read-only mapping would be the fix
        through_attribute.metadata["tenant_tier"] = "enterprise"
    through_to_dict = sf.context.ContextSnapshot(metadata={"tenant_tier": "free"})
    through_to_dict.to_dict()["metadata"]["tenant_tier"] = "enterprise"
    changed = (through_caller, through_attribute, through_to_dict)
    return any(s.to_dict()["metadata"]["tenant_tier"] == "enterprise" for s in changed)


FINDINGS: list[Finding] = [
    Finding(
        id="SF-VAL-11",
        title="An 'immutable' ContextSnapshot's metadata can be changed, also via to_dict()",
        versions=releases(),
        check="values.context_snapshot_frozen",
        promise=(
            "ContextSnapshot docstring: 'Immutable view passed to stages ... It is: Immutable "
            "(frozen dataclass)'. Only its fields are frozen; a user reasonably reads "
            "'immutable' as: the snapshot a stage receives cannot change."
        ),
        observed=(
            "metadata is the caller's dict, and s.metadata / s.to_dict()['metadata'] hand out "
            "that same dict: s.to_dict()['metadata']['tenant_tier'] = 'enterprise' changes s "
            "(as do writes into the caller's dict and into s.metadata)."
        ),
        reproduce=_metadata_mutable,
        basis=documented(
            (
                "Immutable view passed to stages containing run identity",
                "stageflow/context/context_snapshot.py:43",
            ),
            ("- Immutable (frozen dataclass)", "stageflow/context/context_snapshot.py:46"),
        ),
        severity=Severity(
            "medium",
            "every stage of a run reads one snapshot: a stage's write to its metadata (through "
            "s.metadata or s.to_dict()) silently changes what later stages and replays see",
        ),
        fix="ContextSnapshot (stageflow/context/context_snapshot.py:42): copy metadata on "
        "construction into a read-only mapping (types.MappingProxyType), and copy it in to_dict.",
    ),
]
