"""Known findings about ``PipelineContext.fork``, each with its minimal reproducer.

Every reproducer is plain Stageflow code (``sf`` is the imported ``stageflow`` package), returns
True while the violation is there, and is what ``reports/findings.md`` prints. The context
machine adopts the ones that still reproduce as deviations of its model (see
``models/context_tree.py`` for the promise each one breaks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import ModuleType
from typing import Any
from uuid import UUID

from stageflow_verify.core.run.checks import Finding, Severity, documented, expected, releases
from stageflow_verify.core.sut.context import features
from stageflow_verify.models import context_tree as model

CHECK = "context.fork_tree"
PARENT, CHILD, ACTION = UUID(int=1), UUID(int=2), UUID(int=3)


def _needs_inherit_data(sf: ModuleType) -> str | None:
    # The adapter's reading of fork's signature: a fork wrapped by a planted bug
    # (``*args, **kwargs``) still takes inherit_data.
    if features().inherit_data:
        return None
    return "fork has no inherit_data parameter in this version"


def _needs_field(name: str) -> Callable[[ModuleType], str | None]:
    def applies(sf: ModuleType) -> str | None:
        if name in {f.name for f in dataclasses.fields(sf.PipelineContext)}:
            return None
        return f"PipelineContext has no {name} field in this version"

    return applies


# Every id is given, None included: 0.5.1 requires them all, and 1.2.0 accepts the same call.
def _parent(sf: ModuleType, run_id: UUID | None = PARENT, **fields: Any) -> Any:
    no_ids = dict.fromkeys(["request_id", "session_id", "user_id", "org_id", "interaction_id"])
    return sf.PipelineContext(pipeline_run_id=run_id, **no_ids, **fields)


def child_writes_parent_through_parent_data(sf: ModuleType) -> bool:
    parent = _parent(sf, data={"profile": {"tier": "free"}})
    child = parent.fork(CHILD, "stage", ACTION)
    try:
        child.get_parent_data("profile")["tier"] = "pro"
    except TypeError:
        return False  # read-only, as promised
    return bool(parent.data["profile"]["tier"] == "pro")


def child_writes_parent_through_inherited_data(sf: ModuleType) -> bool:
    parent = _parent(sf, data={"profile": {"tier": "free"}})
    child = parent.fork(CHILD, "stage", ACTION, inherit_data=True)
    child.data["profile"]["tier"] = "pro"
    return bool(parent.data["profile"]["tier"] == "pro")


def child_writes_parent_configuration_or_metadata(sf: ModuleType) -> bool:
    # Both symptoms, each where the context has the field (metadata came in 0.9.5).
    has_metadata = "metadata" in {f.name for f in dataclasses.fields(sf.PipelineContext)}
    metadata: dict[str, Any] = {"metadata": {"labels": {"env": "prod"}}} if has_metadata else {}
    parent = _parent(sf, configuration={"llm": {"model": "small"}}, **metadata)
    child = parent.fork(CHILD, "stage", ACTION)
    child.configuration["llm"]["model"] = "large"
    shared = parent.configuration["llm"]["model"] == "large"
    if has_metadata:
        child.metadata["labels"]["env"] = "test"
        shared = shared or parent.metadata["labels"]["env"] == "test"
    return bool(shared)


def child_writes_parent_extensions(sf: ModuleType) -> bool:
    parent = _parent(sf, extensions={"feature": "on"})
    child = parent.fork(CHILD, "stage", ACTION)
    child.extensions["feature"] = "off"
    return bool(parent.extensions["feature"] == "off")


def empty_topology_override_ignored(sf: ModuleType) -> bool:
    parent = _parent(sf, topology="chat_fast")
    child = parent.fork(CHILD, "stage", ACTION, topology="")
    return bool(child.topology != "")


def child_of_unidentified_parent_is_not_a_child_run(sf: ModuleType) -> bool:
    parent = _parent(sf, run_id=None)
    child = parent.fork(CHILD, "stage", ACTION)
    return not child.is_child_run


def earlier_snapshot_follows_later_writes(sf: ModuleType) -> bool:
    ctx = _parent(sf, metadata={"labels": {"env": "prod"}}, extensions={"feature": "on"})
    snapshot = ctx.to_snapshot()
    ctx.extensions["feature"] = "off"
    ctx.metadata["labels"]["env"] = "test"
    extensions_follow = snapshot.extensions["feature"] == "off"
    return bool(extensions_follow or snapshot.metadata["labels"]["env"] == "test")


def _needs_snapshot_containers(sf: ModuleType) -> str | None:
    held = {f.name for f in dataclasses.fields(sf.PipelineContext)}
    if not hasattr(sf.PipelineContext, "to_snapshot") or not {"metadata", "extensions"} <= held:
        return "PipelineContext has no to_snapshot, metadata or extensions in this version"
    return None


# The releases each finding was measured to reproduce on (`make verify-all`): those that need
# fork(inherit_data=) (1.2.0) or a context's metadata and extensions (0.9.5) are N/A before.
ALL_VERSIONS = releases()
SINCE_1_2 = releases("1.2.0")
SINCE_0_9_5 = releases("0.9.5")  # metadata and extensions


def _finding(
    id: str,
    title: str,
    promise: str,
    observed: str,
    reproduce: Any,
    versions: tuple[str, ...] = ALL_VERSIONS,
    **kw: Any,
) -> Finding:
    return Finding(id, title, versions, CHECK, promise, observed, reproduce, **kw)


FINDINGS = [
    _finding(
        model.SHALLOW_PARENT_SNAPSHOT,
        "A child can overwrite its parent's nested data through get_parent_data",
        "fork: 'Gets a read-only snapshot of parent data'; PipelineContext: 'Child contexts "
        "have read-only access to parent data'. (FrozenDict's own docstring admits 'a shallow "
        "freeze': the documented mechanism is weaker than the documented promise.)",
        "Only the top level is frozen: a nested dict from get_parent_data is the parent's own "
        "object, so the child's write lands in parent.data, and parent writes made after the "
        "fork show through the 'snapshot'.",
        child_writes_parent_through_parent_data,
        basis=documented(
            ("- Gets a read-only snapshot of parent data", "stageflow/stages/context.py:366"),
            (
                "Child contexts have read-only access to parent data and their own",
                "stageflow/stages/context.py:60",
            ),
            ("Children get a frozen snapshot of parent data:", "docs/advanced/subpipelines.md:388"),
        ),
        severity=Severity(
            "high",
            "silent: on the documented read path a child rewrites its parent's nested data, "
            "and the parent's later writes show through the child's 'snapshot'",
        ),
        fix="PipelineContext.fork (stageflow/stages/context.py:424): snapshot the parent's "
        "data deeply (FrozenDict(copy.deepcopy(self.data)), or freeze nested containers), "
        "since FrozenDict is documented as a shallow freeze.",
    ),
    _finding(
        model.SHALLOW_INHERITED_DATA,
        "inherit_data copies one level: a child's nested write changes the parent's data",
        "fork: 'Has its own fresh data dict'; spawn: 'inherit_data: Whether to copy all parent "
        "data or selected keys into the child context's mutable data dict'.",
        "self.data.copy() is shallow: nested values are shared, so child.data['k']['x'] = v "
        "rewrites parent.data['k']['x'].",
        child_writes_parent_through_inherited_data,
        SINCE_1_2,
        applies=_needs_inherit_data,
        basis=expected(
            "The guides say inherit_data=True 'copies the full parent data dict', and a "
            "one-level copy is a copy; they also advise it only when the bag is 'intentionally "
            "safe to copy', which warns about copying, not about sharing. They promise that a "
            "child's outputs do not pollute the parent, and with a shared nested dict a "
            "child's ordinary write child.data['profile']['tier'] = ... rewrites the parent's.",
            ("- `inherit_data=True` copies the full parent `data` dict.", "docs/api/context.md:72"),
            (
                "Use `inherit_data=True` only when the whole parent `data` bag is intentionally "
                "safe to copy.",
                "docs/guides/context.md:154",
            ),
            ("Child outputs don't pollute parent context:", "docs/advanced/subpipelines.md:406"),
        ),
        severity=Severity(
            "medium", "silent, but opt-in: only with inherit_data, and only for nested values"
        ),
        fix="PipelineContext.fork (stageflow/stages/context.py:387 and :389): deep-copy the "
        "inherited values (copy.deepcopy), or document that nested values stay shared.",
    ),
    _finding(
        model.SHALLOW_CONFIGURATION,
        "A child's nested configuration or metadata write changes the parent's",
        "Undocumented for fork; a user expects a child not to change what its parent owns "
        "(fork copies configuration and metadata, so it means to isolate them).",
        "configuration.copy() and metadata.copy() are shallow: nested values of both are "
        "shared with the parent.",
        child_writes_parent_configuration_or_metadata,
        basis=expected(
            "fork copies configuration and metadata for the child "
            "(configuration=self.configuration.copy(), metadata=self.metadata.copy()), so it "
            "means to isolate them, and a child pipeline tuning its own configuration (a nested "
            "model setting, say) or labelling its own metadata should not change the parent's; "
            "a copy that still shares nested values isolates only the top level.",
            (
                "# configuration: static wiring/configuration for this topology",
                "stageflow/stages/context.py:73",
            ),
        ),
        severity=Severity(
            "low",
            "configuration is meant to be static and metadata is rarely nested; few children "
            "write into either",
        ),
        symptoms=(
            "child.configuration['llm']['model'] = 'large' changes parent.configuration",
            "child.metadata['labels']['env'] = 'test' changes parent.metadata (from 0.9.5, "
            "where contexts have metadata; was SF-CTX-04)",
        ),
        merged=("SF-CTX-04",),
        fix="PipelineContext.fork (stageflow/stages/context.py:403 and :410): "
        "copy.deepcopy(self.configuration) and copy.deepcopy(self.metadata).",
    ),
    _finding(
        model.LIVE_EXTENSIONS,
        "Parent and child share one extensions dict: any child write reaches the parent",
        "Undocumented for fork; a user expects a child not to change what its parent owns.",
        "fork passes extensions=self.extensions: the very same object, top level included.",
        child_writes_parent_extensions,
        SINCE_0_9_5,
        applies=_needs_field("extensions"),
        basis=expected(
            "fork copies configuration and metadata for the child but hands it the parent's "
            "extensions dict itself, so even a top-level write by the child "
            "(child.extensions['feature'] = 'off') changes the parent. Nothing says extensions "
            "are shared on purpose; if they are, that deserves a line in fork's docstring.",
            (
                "Extensions allow applications to add custom data to the context without "
                "modifying core types.",
                "docs/guides/context.md:520",
            ),
        ),
        severity=Severity(
            "low", "a top-level write suffices, but few children write extensions at all"
        ),
        fix="PipelineContext.fork (stageflow/stages/context.py:409): pass a copy "
        "(dict(self.extensions) or a deep copy), or document that extensions are shared.",
    ),
    _finding(
        model.EMPTY_OVERRIDE_IGNORED,
        "fork(topology='') or execution_mode='' silently keeps the parent's value",
        "fork: 'topology: Optional different topology for child' (None means inherit).",
        "fork uses `topology or self.topology`, so an empty string is replaced by the parent's.",
        empty_topology_override_ignored,
        basis=expected(
            "None is fork's 'not given' (its default), so '' is a value the caller chose (say, "
            "to clear the topology), and `topology or self.topology` silently replaces it.",
            ("topology: Optional different topology for child", "stageflow/stages/context.py:374"),
        ),
        severity=Severity("low", "an empty topology or execution mode is an unusual value"),
        fix="PipelineContext.fork (stageflow/stages/context.py:402 and :404): "
        "`self.topology if topology is None else topology`, likewise execution_mode.",
    ),
    _finding(
        model.UNIDENTIFIED_PARENT_NOT_CHILD,
        "A child forked from a context without pipeline_run_id is not a child run",
        "is_child_run: 'Check if this context is for a child/subpipeline run'.",
        "is_child_run tests parent_run_id, which is the parent's pipeline_run_id (None when the "
        "parent had none), so the forked child reports is_child_run == False.",
        child_of_unidentified_parent_is_not_a_child_run,
        basis=documented(
            (
                '"""Check if this context is for a child/subpipeline run."""',
                "stageflow/stages/context.py:323",
            ),
        ),
        severity=Severity(
            "low",
            "only under a parent without pipeline_run_id; Stageflow itself reads it only for "
            "child-run metrics (ChildTrackerMetricsInterceptor)",
        ),
        fix="PipelineContext.is_child_run (stageflow/stages/context.py:324): test a marker fork "
        "always sets (parent_stage_id or correlation_id, which fork requires), not "
        "parent_run_id.",
    ),
    Finding(
        model.LIVE_SNAPSHOT_CONTAINERS,
        "A snapshot from ctx.to_snapshot() changes when the context's extensions or nested "
        "metadata are written later",
        SINCE_0_9_5,
        "context.views",
        "to_snapshot: 'Derive immutable snapshot view from the canonical PipelineContext'; the "
        "context guide: 'ContextSnapshot — Immutable derived view for stage execution'.",
        "to_snapshot passes extensions=self.extensions (the context's own dict) and "
        "metadata=self.metadata.copy() (one level): ctx.extensions['feature'] = 'off' or "
        "ctx.metadata['labels']['env'] = 'test' after the snapshot was taken changes it. "
        "(SF-VAL-11 is ContextSnapshot's own metadata handed out for writing; this is the "
        "context's later writes reaching a snapshot taken before them.)",
        earlier_snapshot_follows_later_writes,
        _needs_snapshot_containers,
        basis=documented(
            (
                "Derive immutable snapshot view from the canonical PipelineContext.",
                "stageflow/stages/context.py:179",
            ),
            ("Immutable derived view for stage execution", "docs/guides/context.md:10"),
        ),
        severity=Severity(
            "low",
            "silent, but only when the context's extensions or nested metadata are written "
            "after a snapshot was taken; Stageflow itself writes neither",
        ),
        symptoms=(
            "ctx.extensions['feature'] = 'off' after snap = ctx.to_snapshot() shows in "
            "snap.extensions",
            "ctx.metadata['labels']['env'] = 'test' after snap = ctx.to_snapshot() shows in "
            "snap.metadata (a top-level write does not: metadata is copied one level)",
        ),
        fix="PipelineContext.to_snapshot (stageflow/stages/context.py:196 and :202): "
        "copy.deepcopy(self.extensions) and copy.deepcopy(self.metadata) (an ExtensionBundle "
        "is a frozen dataclass and can be passed as it is).",
    ),
]
