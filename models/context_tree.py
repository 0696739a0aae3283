"""Reference model of a tree of ``PipelineContext`` objects: roots, forks, writes, cancellation.

The model is pure and sequential: :meth:`ContextTreeModel.step` maps a state and an operation to
the next state, and :meth:`ContextTreeModel.observe` says what a user reading a context sees.
Containers live on a :class:`~models.heap.Heap`, so sharing between a parent and a child is
explicit and every write, however deep, reaches exactly the contexts that share its box.

What the model encodes, rule by rule, with the Stageflow text it rests on
(``stageflow/stages/context.py`` and ``stageflow/pipeline/subpipeline.py``, 1.2.0):

- ``PipelineContext``: "Child contexts have read-only access to parent data". ``fork``: "Gets a
  read-only snapshot of parent data". The model takes *snapshot* and *read-only* at their word:
  the child's view of parent data is fixed at fork time, at every depth, and nothing done through
  it reaches the parent. Stageflow's ``FrozenDict`` documents "This is a shallow freeze. Nested
  mutable objects can still be modified", so the documented mechanism is weaker than the
  documented promise: that gap is finding SF-CTX-01, adopted as ``SHALLOW_PARENT_SNAPSHOT``.
- ``fork``: "Has its own fresh data dict and artifacts list"; ``spawn``: "inherit_data: Whether to
  copy all parent data or selected keys into the child context's mutable ``data`` dict".
  A user reads *copy* as: writing to the child's data, at any depth, leaves the parent alone.
  The code copies one level (SF-CTX-02, ``SHALLOW_INHERITED_DATA``).
- ``spawn``: "data_overrides: Extra child data to merge after inherited data". Merging is
  ``dict.update``: the child holds the caller's values by reference, as Python does everywhere,
  so the caller's dict and the child share nested values. That is a convention, not a leak between
  parent and child, and the model follows it.
- ``fork``: "Inherits auth context (user_id, org_id, session_id)"; "Has its own
  pipeline_run_id"; "References parent via parent_run_id and parent_stage_id". request_id,
  interaction_id and service are inherited too (undocumented; it is what a child of one request
  should carry). ``is_child_run``: "Check if this context is for a child/subpipeline run": true
  for every forked context (SF-CTX-07 when the parent had no run id).
- configuration, metadata and extensions: undocumented for fork. A user expects a child not to
  be able to change what its parent owns, so the model gives the child its own deep copies
  (SF-CTX-03: configuration and metadata are copied one level, one cause in two fields, which
  absorbed SF-CTX-04; SF-CTX-05: extensions are the parent's very object).
- ``fork``: "topology: Optional different topology for child", "execution_mode: Optional
  different execution mode": None means inherit, any string is the child's
  (SF-CTX-06: an empty string is ignored).
- ``mark_canceled``: sets ``canceled``; the first reason sticks. A fork starts uncanceled.
- ``to_snapshot``: "Derive immutable snapshot view from the canonical PipelineContext"
  (``stageflow/stages/context.py:179``); "ContextSnapshot — Immutable derived view for stage
  execution" (``docs/guides/context.md:10``). A snapshot taken earlier keeps what the context
  held then, at every depth (:meth:`ContextTreeModel.take_snapshot`). The code copies metadata
  one level and hands over the context's very extensions dict (SF-CTX-08), so later writes to
  either (nested ones for metadata) show through the earlier snapshot.

Each deviation is named by the id of the finding that shows it. A machine adopts the deviations
whose findings still reproduce, so it keeps hunting past known bugs; the finding's own check
keeps the promise visible (KNOWN while it reproduces, FIXED once it does not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import TypeAlias

from stageflow_verify.models.heap import (
    EMPTY_HEAP,
    Copy,
    Edit,
    Heap,
    MapBox,
    Path,
    Plain,
    Ref,
    Value,
    copy_box,
    copy_value,
    edit_box,
    load,
    resolve,
    store,
)

SHALLOW_PARENT_SNAPSHOT = "SF-CTX-01"
SHALLOW_INHERITED_DATA = "SF-CTX-02"
SHALLOW_CONFIGURATION = "SF-CTX-03"
# One finding: fork copies both dicts one level, side by side (context.py:403, :410).
SHALLOW_METADATA = SHALLOW_CONFIGURATION  # was SF-CTX-04
LIVE_EXTENSIONS = "SF-CTX-05"
EMPTY_OVERRIDE_IGNORED = "SF-CTX-06"
UNIDENTIFIED_PARENT_NOT_CHILD = "SF-CTX-07"
LIVE_SNAPSHOT_CONTAINERS = "SF-CTX-08"

ROOT_ID_FIELDS = (
    "pipeline_run_id",
    "request_id",
    "session_id",
    "user_id",
    "org_id",
    "interaction_id",
)
IDENTITY_FIELDS = (*ROOT_ID_FIELDS, "parent_run_id", "parent_stage_id", "correlation_id")
TENANT_FIELDS = ("user_id", "org_id", "session_id")
INHERITED_ID_FIELDS = ("request_id", "session_id", "user_id", "org_id", "interaction_id")

Identity: TypeAlias = Mapping[str, str | None]


class ReadPath(Enum):
    """Where a user can get hold of a container held by (or shared with) a context."""

    DATA = "data"
    CONFIGURATION = "configuration"
    METADATA = "metadata"
    EXTENSIONS = "extensions"
    PARENT_DATA = "parent_data"  # get_parent_data(path[0]), then into the value
    DATA_OVERRIDES = "data_overrides"  # the dict the caller passed to fork


@dataclass(frozen=True)
class ContextNode:
    identity: Identity
    topology: str | None
    execution_mode: str | None
    service: str
    data: int
    configuration: int
    metadata: int
    extensions: int | None
    parent_data: int | None
    overrides: int | None
    is_child_run: bool
    canceled: bool = False
    cancellation_reason: str | None = None
    artifacts: int = 0


@dataclass(frozen=True)
class TreeState:
    """Contexts in creation order (a context's index is its name), over one heap.

    inv: all(_boxes_exist(self.heap, c) for c in self.contexts)
    """

    heap: Heap
    contexts: tuple[ContextNode, ...]
    __hash__ = None  # type: ignore[assignment]  # a heap is not hashable


@dataclass(frozen=True)
class CreateRoot:
    identity: Identity
    topology: str | None
    execution_mode: str | None
    service: str
    data: dict[str, Plain]
    configuration: dict[str, Plain]
    metadata: dict[str, Plain]
    extensions: dict[str, Plain] | None


@dataclass(frozen=True)
class Fork:
    parent: int
    child_run_id: str
    parent_stage_id: str
    correlation_id: str
    topology: str | None
    execution_mode: str | None
    inherit_data: bool | tuple[str, ...]
    data_overrides: dict[str, Plain] | None


@dataclass(frozen=True)
class EditThrough:
    """``edit`` applied to the container found at ``path`` under ``read_path`` of a context."""

    context: int
    read_path: ReadPath
    path: Path
    edit: Edit


@dataclass(frozen=True)
class MarkCanceled:
    context: int
    reason: str | None  # None: the default argument


@dataclass(frozen=True)
class AddArtifact:
    context: int


Operation: TypeAlias = CreateRoot | Fork | EditThrough | MarkCanceled | AddArtifact

DEFAULT_CANCEL_REASON = "Cancellation requested"


class ContextTreeModel:
    """The sequential specification, parameterised by the deviations it adopts.

    For example::

        model = ContextTreeModel(deviations=frozenset())
        state = model.step(model.init(), CreateRoot(...))
        state = model.step(state, Fork(parent=0, ...))
        model.observe(state, 1)["data"]
    """

    def __init__(self, deviations: frozenset[str] = frozenset()) -> None:
        self.deviations = deviations

    def init(self) -> TreeState:
        """post: __return__.contexts == () and not __return__.heap.boxes"""
        return TreeState(EMPTY_HEAP, ())

    def _copy(self, deviation: str, otherwise: Copy = Copy.DEEP) -> Copy:
        if deviation in self.deviations:
            return Copy.LIVE if deviation == LIVE_EXTENSIONS else Copy.SHALLOW
        return otherwise

    def step(self, state: TreeState, op: Operation) -> TreeState:
        """Apply ``op``; only CreateRoot and Fork add a context, and none is ever removed.

        pre: isinstance(op, CreateRoot) or 0 <= _target(op) < len(state.contexts)
        post: len(__return__.contexts) == len(state.contexts) + isinstance(op, (CreateRoot, Fork))
        post: __return__.heap.next_id >= state.heap.next_id
        """
        # CrossHair 0.0.113 cannot make symbolic values of the recursive Plain alias.
        # crosshair: off
        if isinstance(op, CreateRoot):
            return self._create_root(state, op)
        if isinstance(op, Fork):
            return self._fork(state, op)
        if isinstance(op, EditThrough):
            return self._edit(state, op)
        node = state.contexts[op.context]
        if isinstance(op, MarkCanceled):
            reason = node.cancellation_reason
            if reason is None:
                reason = DEFAULT_CANCEL_REASON if op.reason is None else op.reason
            node = replace(node, canceled=True, cancellation_reason=reason)
        else:
            node = replace(node, artifacts=node.artifacts + 1)
        return _with_node(state, op.context, node)

    def _create_root(self, state: TreeState, op: CreateRoot) -> TreeState:
        heap = state.heap
        boxes: list[int] = []
        for value in (op.data, op.configuration, op.metadata):
            heap, ref = store(heap, value)
            assert isinstance(ref, Ref)
            boxes.append(ref.box)
        extensions: int | None = None
        if op.extensions is not None:
            heap, ref = store(heap, op.extensions)
            assert isinstance(ref, Ref)
            extensions = ref.box
        identity = {f: op.identity.get(f) for f in ROOT_ID_FIELDS}
        identity.update(parent_run_id=None, parent_stage_id=None, correlation_id=None)
        node = ContextNode(
            identity=identity,
            topology=op.topology,
            execution_mode=op.execution_mode,
            service=op.service,
            data=boxes[0],
            configuration=boxes[1],
            metadata=boxes[2],
            extensions=extensions,
            parent_data=None,
            overrides=None,
            is_child_run=False,
        )
        return TreeState(heap, (*state.contexts, node))

    def _override(self, given: str | None, inherited: str | None) -> str | None:
        if given is None or (given == "" and EMPTY_OVERRIDE_IGNORED in self.deviations):
            return inherited
        return given

    def _fork(self, state: TreeState, op: Fork) -> TreeState:
        parent = state.contexts[op.parent]
        heap = state.heap
        parent_box = heap.box(parent.data)
        assert isinstance(parent_box, MapBox)
        if op.inherit_data is True:
            keys: tuple[str, ...] = parent_box.keys()
        elif op.inherit_data is False:
            keys = ()
        else:  # selected keys, in the order given, those the parent has
            present = set(parent_box.keys())
            keys = tuple(dict.fromkeys(k for k in op.inherit_data if k in present))
        entries: dict[str, Value] = {}
        for key in keys:
            heap, entries[key] = copy_value(
                heap, parent_box.get(key), self._copy(SHALLOW_INHERITED_DATA)
            )
        overrides: int | None = None
        if op.data_overrides is not None:
            heap, ref = store(heap, op.data_overrides)
            assert isinstance(ref, Ref)
            overrides = ref.box
            override_box = heap.box(overrides)
            assert isinstance(override_box, MapBox)
            entries.update(override_box.items)  # by reference, as dict.update does
        heap, data = heap.allocate(MapBox(tuple(entries.items())))
        heap, snapshot = copy_box(heap, parent.data, self._copy(SHALLOW_PARENT_SNAPSHOT))
        heap, configuration = copy_box(
            heap, parent.configuration, self._copy(SHALLOW_CONFIGURATION)
        )
        heap, metadata = copy_box(heap, parent.metadata, self._copy(SHALLOW_METADATA))
        extensions: int | None = None
        if parent.extensions is not None:
            heap, extensions = copy_box(heap, parent.extensions, self._copy(LIVE_EXTENSIONS))
        identity = {f: parent.identity.get(f) for f in INHERITED_ID_FIELDS}
        parent_run_id = parent.identity.get("pipeline_run_id")
        identity.update(
            pipeline_run_id=op.child_run_id,
            parent_run_id=parent_run_id,
            parent_stage_id=op.parent_stage_id,
            correlation_id=op.correlation_id,
        )
        is_child_run = parent_run_id is not None or (
            UNIDENTIFIED_PARENT_NOT_CHILD not in self.deviations
        )
        node = ContextNode(
            identity=identity,
            topology=self._override(op.topology, parent.topology),
            execution_mode=self._override(op.execution_mode, parent.execution_mode),
            service=parent.service,
            data=data,
            configuration=configuration,
            metadata=metadata,
            extensions=extensions,
            parent_data=snapshot,
            overrides=overrides,
            is_child_run=is_child_run,
        )
        return TreeState(heap, (*state.contexts, node))

    def take_snapshot(self, state: TreeState, context: int) -> tuple[TreeState, int, int | None]:
        """The boxes an earlier ``to_snapshot()`` of ``context`` reads its metadata and
        extensions from (None: the context had no extensions): deep copies, so nothing written
        later reaches them. Under SF-CTX-08 exactly the code's copies, nothing more: metadata
        one level deep (``self.metadata.copy()``), extensions the context's own box.

        pre: 0 <= context < len(state.contexts)
        """
        live = LIVE_SNAPSHOT_CONTAINERS in self.deviations
        node = state.contexts[context]
        heap, metadata = copy_box(state.heap, node.metadata, Copy.SHALLOW if live else Copy.DEEP)
        extensions: int | None = None
        if node.extensions is not None:
            heap, extensions = copy_box(heap, node.extensions, Copy.LIVE if live else Copy.DEEP)
        return TreeState(heap, state.contexts), metadata, extensions

    def load_box(self, state: TreeState, box: int | None) -> Plain:
        """What a reader of ``box`` (one :meth:`take_snapshot` returned) sees now."""
        return None if box is None else load(state.heap, Ref(box))

    def root_box(self, state: TreeState, context: int, read_path: ReadPath) -> int | None:
        """The box a read path starts from (for PARENT_DATA, the snapshot's top level)."""
        node = state.contexts[context]
        return {
            ReadPath.DATA: node.data,
            ReadPath.CONFIGURATION: node.configuration,
            ReadPath.METADATA: node.metadata,
            ReadPath.EXTENSIONS: node.extensions,
            ReadPath.PARENT_DATA: node.parent_data,
            ReadPath.DATA_OVERRIDES: node.overrides,
        }[read_path]

    def writable(self, read_path: ReadPath, path: Path) -> bool:
        """Whether an edit through this read path reaches anything.

        Parent data is a read-only snapshot: the top level is a FrozenDict, and deeper values
        are the child's to read, not to change. Under SF-CTX-01 they are the parent's own
        objects, so an edit there lands in whatever still shares them.

        post: read_path is not ReadPath.PARENT_DATA or bool(path) or not __return__
        """
        if read_path is not ReadPath.PARENT_DATA:
            return True
        return bool(path) and SHALLOW_PARENT_SNAPSHOT in self.deviations

    def _edit(self, state: TreeState, op: EditThrough) -> TreeState:
        start = self.root_box(state, op.context, op.read_path)
        if start is None or not self.writable(op.read_path, op.path):
            return state
        target = resolve(state.heap, start, op.path)
        if target is None:
            return state
        return TreeState(edit_box(state.heap, target, op.edit), state.contexts)

    def observe(self, state: TreeState, context: int) -> dict[str, Plain]:
        """What a user reading context ``context`` sees, as plain data.

        pre: 0 <= context < len(state.contexts)
        post: __return__["canceled"] == (__return__["cancellation_reason"] is not None)
        """
        node = state.contexts[context]
        heap = state.heap

        def opt(box: int | None) -> Plain:
            return None if box is None else load(heap, Ref(box))

        return {
            "identity": {f: node.identity.get(f) for f in IDENTITY_FIELDS},
            "topology": node.topology,
            "execution_mode": node.execution_mode,
            "service": node.service,
            "is_child_run": node.is_child_run,
            "data": load(heap, Ref(node.data)),
            "configuration": load(heap, Ref(node.configuration)),
            "metadata": load(heap, Ref(node.metadata)),
            "extensions": opt(node.extensions),
            "parent_data": opt(node.parent_data),
            "data_overrides": opt(node.overrides),
            "canceled": node.canceled,
            "cancellation_reason": node.cancellation_reason,
            "artifacts": node.artifacts,
        }


def _boxes_exist(heap: Heap, node: ContextNode) -> bool:
    held = (node.data, node.configuration, node.metadata, node.extensions, node.parent_data)
    return all(b is None or b in heap.boxes for b in (*held, node.overrides))


def _target(op: Operation) -> int:
    # The context an operation acts on (a Fork's parent); CreateRoot acts on none.
    if isinstance(op, Fork):
        return op.parent
    return -1 if isinstance(op, CreateRoot) else op.context


def _with_node(state: TreeState, index: int, node: ContextNode) -> TreeState:
    contexts = list(state.contexts)
    contexts[index] = node
    return TreeState(state.heap, tuple(contexts))
