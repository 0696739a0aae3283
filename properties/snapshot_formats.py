"""Laws of ContextSnapshot's two other dict formats: typed extension bundles and the legacy
flat dict.

``ContextSnapshot.from_dict`` documents both: "Parse run_id - prefer new composed format, fall
back to flat", "prefer new composed format, allow new canonical bundles, fall back to flat legacy
fields", and takes "extension_types: Optional registry mapping extension type names to their
classes for deserialization"; ``ExtensionBundle``: "The bundle provides serialization support
via to_dict() and from_dict()" (``docs/advanced/extensions.md`` shows the registry in use).

* legacy: ``to_dict()`` still writes the flat fields ("Add flat fields for backwards
  compatibility"); a dict holding only those (the composed ``run_id``, ``enrichments`` and
  ``conversation`` left out) must read back as the same snapshot. The flat format has no
  ``created_at`` for the run identity, and a conversation with no message and no routing is no
  conversation in it: those two are the only differences allowed. Left out entirely,
  ``created_at`` is "now", in UTC (``_utc_now``).
* typed extensions: a snapshot holding a bundle reads back equal with the registry, and as the
  bundle's ``to_dict()`` without it ("Graceful fallback when extension type registry is
  unavailable"; a 1.2.0 comment: 0.5.1 has no fallback, so there only the registry is used).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.sut.values import (
    context_snapshot,
    extension_bundle,
    extension_types,
    run_identity_replace,
    snapshot_from_dict,
    snapshot_from_dict_typed,
    snapshot_replace,
    snapshot_takes_dict_extensions,
)
from stageflow_verify.properties.snapshot import snapshot_fields

COMPOSED = ("run_id", "enrichments", "conversation")
bundles = st.builds(extension_bundle, st.text("ab", max_size=3), st.integers(0, 5))


def _legacy_reading(snapshot: Any, read: Any) -> Any:
    """``snapshot`` as the flat format can carry it: ``read``'s run-identity created_at, and
    no conversation (enrichments) when it held nothing: the flat format has no way to say
    "an empty one", and from_dict builds one only if a part of it is there."""
    conversation = snapshot.conversation
    if conversation is not None and not conversation.messages and not conversation.routing_decision:
        conversation = None
    enriched = snapshot.enrichments
    if enriched is not None and not (
        enriched.profile or enriched.memory or enriched.documents or enriched.web_results
    ):
        enriched = None
    run_id = run_identity_replace(snapshot.run_id, created_at=read.run_id.created_at)
    return snapshot_replace(
        snapshot, run_id=run_id, conversation=conversation, enrichments=enriched
    )


@given(fields=snapshot_fields, drop_created_at=st.booleans())
def context_snapshot_legacy_law(fields: dict[str, Any], drop_created_at: bool) -> None:
    count_example()
    snapshot = context_snapshot(**fields)
    flat = {k: v for k, v in snapshot.to_dict().items() if k not in COMPOSED}
    if drop_created_at:
        del flat["created_at"]
    read = snapshot_from_dict(flat)
    expected = _legacy_reading(snapshot, read)
    if drop_created_at:
        assert read.created_at.utcoffset() == timedelta(0), "created_at left out is not UTC"
        expected = snapshot_replace(expected, created_at=read.created_at)
    assert read == expected, f"the legacy flat dict read back as {read}, not {expected}"


@given(fields=snapshot_fields, bundle=bundles, with_registry=st.booleans())
def context_snapshot_typed_extensions_law(
    fields: dict[str, Any], bundle: Any, with_registry: bool
) -> None:
    count_example()
    snapshot = context_snapshot(**{**fields, "extensions": bundle})
    as_dict = snapshot.to_dict()
    # The dict fallback came with plain-dict extensions (1.2.0); 0.5.1 needs the registry.
    with_registry = with_registry or not snapshot_takes_dict_extensions()
    registry = extension_types() if with_registry else None
    read = snapshot_from_dict_typed(as_dict, registry)
    if with_registry:
        assert read == snapshot, "from_dict(to_dict(s), extension_types=...) != s"
    else:
        assert read.extensions == bundle.to_dict(), "without a registry: not the bundle's dict"
        assert read == snapshot_replace(snapshot, extensions=bundle.to_dict())


CHECKS = [
    Check(
        name="values.context_snapshot_legacy_dict",
        run=context_snapshot_legacy_law,
        summary="ContextSnapshot.from_dict reads the legacy flat fields as the snapshot",
    ),
    Check(
        name="values.context_snapshot_typed_extensions",
        run=context_snapshot_typed_extensions_law,
        summary="a typed ExtensionBundle round-trips with extension_types, as a dict without",
    ),
]
