"""The context model's own rules, on small hand-written trees."""

from __future__ import annotations

from stageflow_verify.models.context_tree import (
    SHALLOW_INHERITED_DATA,
    SHALLOW_PARENT_SNAPSHOT,
    ContextTreeModel,
    CreateRoot,
    EditThrough,
    Fork,
    MarkCanceled,
    ReadPath,
    TreeState,
)
from stageflow_verify.models.heap import EMPTY_HEAP, Plain, SetKey, container_paths, load, store

ROOT = CreateRoot(
    identity={"pipeline_run_id": "r", "org_id": "o", "user_id": "u"},
    topology="chat_fast",
    execution_mode=None,
    service="pipeline",
    data={"profile": {"tier": "free"}},
    configuration={},
    metadata={},
    extensions=None,
)


def _fork(inherit: bool = True, topology: str | None = None) -> Fork:
    return Fork(0, "c", "stage", "corr", topology, None, inherit, None)


def _tree(model: ContextTreeModel) -> TreeState:
    return model.step(model.step(model.init(), ROOT), _fork())


def _edit_child_profile(model: ContextTreeModel, read_path: ReadPath) -> TreeState:
    path = ("profile",)
    return model.step(_tree(model), EditThrough(1, read_path, path, SetKey("tier", "pro")))


def test_store_then_load_gives_back_the_plain_value() -> None:
    value: Plain = {"a": [1, {"b": None}], "c": "x"}
    heap, ref = store(EMPTY_HEAP, value)
    assert load(heap, ref) == value


def test_container_paths_list_every_nested_container_once() -> None:
    heap, ref = store(EMPTY_HEAP, {"a": [1, {"b": {}}], "c": 2})
    assert ref is not None and not isinstance(ref, (bool, int, str))
    assert container_paths(heap, ref.box) == [(), ("a",), ("a", 1), ("a", 1, "b")]


def test_promised_fork_isolates_inherited_nested_data_from_the_parent() -> None:
    model = ContextTreeModel()
    state = _edit_child_profile(model, ReadPath.DATA)
    assert model.observe(state, 0)["data"] == {"profile": {"tier": "free"}}
    assert model.observe(state, 1)["data"] == {"profile": {"tier": "pro"}}


def test_adopted_shallow_inheritance_lets_the_child_write_into_the_parent() -> None:
    model = ContextTreeModel(frozenset({SHALLOW_INHERITED_DATA}))
    state = _edit_child_profile(model, ReadPath.DATA)
    assert model.observe(state, 0)["data"] == {"profile": {"tier": "pro"}}


def test_promised_parent_snapshot_is_read_only_and_stays_as_it_was_at_fork() -> None:
    model = ContextTreeModel()
    state = _edit_child_profile(model, ReadPath.PARENT_DATA)
    assert model.observe(state, 0)["data"] == {"profile": {"tier": "free"}}
    assert model.observe(state, 1)["parent_data"] == {"profile": {"tier": "free"}}


def test_adopted_shallow_snapshot_shares_nested_values_with_the_parent() -> None:
    model = ContextTreeModel(frozenset({SHALLOW_PARENT_SNAPSHOT}))
    state = _edit_child_profile(model, ReadPath.PARENT_DATA)
    assert model.observe(state, 0)["data"] == {"profile": {"tier": "pro"}}


def test_fork_inherits_tenant_fields_and_links_to_the_parent_run() -> None:
    model = ContextTreeModel()
    identity = model.observe(_tree(model), 1)["identity"]
    assert isinstance(identity, dict)
    assert (identity["org_id"], identity["user_id"]) == ("o", "u")
    assert (identity["pipeline_run_id"], identity["parent_run_id"]) == ("c", "r")


def test_empty_topology_override_is_the_childs_own_under_the_promise() -> None:
    model = ContextTreeModel()
    state = model.step(model.step(model.init(), ROOT), _fork(topology=""))
    assert model.observe(state, 1)["topology"] == ""


def test_first_cancellation_reason_sticks() -> None:
    model = ContextTreeModel()
    state = model.step(model.step(_tree(model), MarkCanceled(1, "user")), MarkCanceled(1, None))
    observed = model.observe(state, 1)
    assert (observed["canceled"], observed["cancellation_reason"]) == (True, "user")
    assert model.observe(state, 0)["canceled"] is False
