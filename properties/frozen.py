"""Laws of FrozenDict and FrozenList, the read-only wrappers behind context forking.

``PipelineContext.fork`` hands a child ``FrozenDict(parent.data)`` as its read-only view of the
parent, so these two types carry the whole isolation story. Four laws each:

* the ABC laws users rely on without reading docs (``Mapping``: keys, items, values, ``get``,
  ``in`` and ``[]`` agree; ``Sequence``: indexing, slicing, ``index``, ``count``, ``reversed``);
* value semantics: equal by contents, and equal objects hash equal (when hashable at all,
  which, as for ``tuple``, requires hashable contents);
* immutability through every public path: item assignment, deletion and every mutating
  ``dict``/``list`` method must raise, and the caller's source container must not show through;
* the deep version of the last law, which the docstrings handle differently. FrozenDict says
  "This is a shallow freeze. Nested mutable objects can still be modified.", so its law stops at
  the top level (the shallow freeze is its documented rule; SF-VAL-01, which held it to a deep
  freeze, was withdrawn: the promise that shallowness breaks is fork's "read-only access to
  parent data", SF-CTX-01). FrozenList has no such note and "prevents any mutation", so its
  deep law is checked, and the shallowness is SF-VAL-03.

Known violations are adopted sub-case by sub-case: each check computes the findings that still
reproduce once, and skips only what a reproducing finding explains.

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks 'values.frozen_*'
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Hashable, Mapping, MutableMapping, MutableSequence, Sequence
from functools import partial
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
    expected,
    releases,
)
from stageflow_verify.core.run.withdrawn import Withdrawn
from stageflow_verify.core.sut.values import frozen_dict, frozen_list
from stageflow_verify.properties.strategies import (
    clashing_keys,
    is_hashable,
    keys,
    mixed_dicts,
    mutate,
    nested_containers,
    scalars,
    values,
)

_DICT_MUTATORS: list[tuple[str, Callable[[Any, Any, Any], object]]] = [
    ("fd[k] = v", lambda fd, k, v: fd.__setitem__(k, v)),
    ("del fd[k]", lambda fd, k, v: fd.__delitem__(k)),
    ("fd.update({k: v})", lambda fd, k, v: fd.update({k: v})),
    ("fd.pop(k)", lambda fd, k, v: fd.pop(k)),
    ("fd.popitem()", lambda fd, k, v: fd.popitem()),
    ("fd.setdefault(k, v)", lambda fd, k, v: fd.setdefault(k, v)),
    ("fd.clear()", lambda fd, k, v: fd.clear()),
    ("fd |= {k: v}", lambda fd, k, v: fd.__ior__({k: v})),
    ("fd.attr = v", lambda fd, k, v: setattr(fd, "extra", v)),
]

_LIST_MUTATORS: list[tuple[str, Callable[[Any, int, Any], object]]] = [
    ("fl[i] = v", lambda fl, i, v: fl.__setitem__(i, v)),
    ("del fl[i]", lambda fl, i, v: fl.__delitem__(i)),
    ("fl[:] = [v]", lambda fl, i, v: fl.__setitem__(slice(None), [v])),
    ("fl.append(v)", lambda fl, i, v: fl.append(v)),
    ("fl.extend([v])", lambda fl, i, v: fl.extend([v])),
    ("fl.insert(i, v)", lambda fl, i, v: fl.insert(i, v)),
    ("fl.pop()", lambda fl, i, v: fl.pop()),
    ("fl.remove(v)", lambda fl, i, v: fl.remove(v)),
    ("fl.clear()", lambda fl, i, v: fl.clear()),
    ("fl.reverse()", lambda fl, i, v: fl.reverse()),
    ("fl += [v]", lambda fl, i, v: fl.__iadd__([v])),
    ("fl *= 2", lambda fl, i, v: fl.__imul__(2)),
    ("fl.attr = v", lambda fl, i, v: setattr(fl, "extra", v)),
]


def _refused(mutator: Callable[[], object]) -> bool:
    try:
        mutator()
    except (TypeError, AttributeError, NotImplementedError):
        return True
    return False


# --- FrozenDict ------------------------------------------------------------------------------


@given(data=mixed_dicts, probe=keys)
def frozen_dict_mapping_law(data: dict[Any, Any], probe: Any) -> None:
    count_example()
    fd = frozen_dict(data)
    assert isinstance(fd, Mapping) and not isinstance(fd, MutableMapping)
    assert len(fd) == len(data) and list(fd) == list(data)
    assert list(fd.keys()) == list(fd) and list(fd.values()) == [fd[k] for k in fd]
    assert list(fd.items()) == [(k, fd[k]) for k in fd]
    for k, v in data.items():
        assert k in fd and fd[k] is v and fd.get(k) is v
    if probe not in data:
        assert probe not in fd and fd.get(probe) is None and fd.get(probe, 7) == 7
        assert _refused_key(fd, probe), f"fd[{probe!r}] did not raise KeyError"
        assert fd != {**data, probe: 0}
    assert fd == data and data == fd and fd == frozen_dict(data) and fd.copy() == fd
    snapshot = fd.to_dict()
    assert snapshot == data and snapshot is not data and frozen_dict(fd) == fd
    # repr: a debugging view; all it promises is to show the contents.
    assert all(repr(k) in repr(fd) for k in data), f"repr hides a key: {fd!r}"


def _refused_key(fd: Mapping[Any, Any], key: Any) -> bool:
    try:
        fd[key]
    except KeyError:
        return True
    return False


@given(data=st.dictionaries(clashing_keys | keys, scalars | values, max_size=5))
def frozen_dict_hash_law(data: dict[Any, Any], active: frozenset[str]) -> None:
    count_example()
    # The same items inserted in the opposite order: equal as mappings, so equal hashes.
    a, b = frozen_dict(data), frozen_dict(dict(reversed(data.items())))
    assert a == b
    hashable = all(is_hashable(v) for v in data.values())
    if not hashable:
        # Like a tuple holding a list: unhashable contents make the whole unhashable.
        assert not is_hashable(a), "hash() accepted a FrozenDict holding unhashable values"
        return
    printed = [str(k) for k in data]
    if "SF-VAL-02" in active and len(set(printed)) < len(printed):
        return  # SF-VAL-02: keys that print alike (1 and "1") are hashed in insertion order
    assert isinstance(a, Hashable) and hash(a) == hash(b), f"equal {a!r} and {b!r} hash apart"


@given(data=mixed_dicts, key=keys, value=values)
def frozen_dict_immutable_law(
    data: dict[Any, Any], key: Any, value: Any, active: frozenset[str]
) -> None:
    count_example()
    deep_before = copy.deepcopy(data)
    fd = frozen_dict(data)
    for name, mutator in _DICT_MUTATORS:
        assert _refused(partial(mutator, fd, key, value)), f"FrozenDict allowed {name}"
        assert fd == deep_before, f"FrozenDict changed after {name}: {fd!r}"
    data[key] = value  # the caller's own dict: FrozenDict copied it, so nothing shows through
    assert fd == deep_before, "a change to the source dict showed through the FrozenDict"
    fd.to_dict()[key] = value  # to_dict: "Create a mutable copy of the data"
    assert fd == deep_before, "a write to the mutable copy from to_dict() changed the FrozenDict"
    # Nested values are not checked: "This is a shallow freeze. Nested mutable objects can still
    # be modified." (stageflow/utils/frozen.py:30). They are the caller's own objects, and a
    # change to one shows through the FrozenDict, as documented.


# --- FrozenList ------------------------------------------------------------------------------


@given(
    items=st.lists(values, max_size=5),
    probe=values,
    bounds=st.tuples(*[st.none() | st.integers(-6, 6)] * 2),
)
def frozen_list_sequence_law(
    items: list[Any], probe: Any, bounds: tuple[int | None, int | None], active: frozenset[str]
) -> None:
    count_example()
    fl = frozen_list(items)
    n = len(items)
    assert isinstance(fl, Sequence) and not isinstance(fl, MutableSequence)
    assert len(fl) == n and list(fl) == items and list(reversed(fl)) == items[::-1]
    for i in range(-n, n):
        assert fl[i] is items[i]
    assert list(fl[bounds[0] : bounds[1]]) == items[bounds[0] : bounds[1]]
    assert (probe in fl) == (probe in items) and fl.count(probe) == items.count(probe)
    if probe in items:
        assert fl.index(probe) == items.index(probe)
    assert fl.to_list() == items and fl.to_list() is not items
    # copy: "Create a new FrozenList with the same data". Read element-wise, so SF-VAL-04
    # (identity equality) excuses only the == below, not a copy that loses data.
    copied = fl.copy()
    assert type(copied) is type(fl) and list(copied) == items, "copy() lost the data"
    # repr: "FrozenList(...)" showing every item (a debugging view: only that it shows them).
    assert all(repr(v) in repr(fl) for v in items), f"repr hides an item: {fl!r}"
    if "SF-VAL-04" not in active:  # SF-VAL-04: FrozenList compares by identity
        assert fl == frozen_list(items) and fl.copy() == fl, "equal FrozenLists compare unequal"
        assert fl != frozen_list([*items, probe])
    if all(is_hashable(v) for v in items):
        assert hash(fl) == hash(frozen_list(list(items))), "equal FrozenLists hash apart"
    else:
        assert not is_hashable(fl), "hash() accepted a FrozenList holding unhashable values"


@given(items=st.lists(values, min_size=1, max_size=5), index=st.integers(0, 4), value=values)
def frozen_list_immutable_law(
    items: list[Any], index: int, value: Any, active: frozenset[str]
) -> None:
    count_example()
    deep_before = copy.deepcopy(items)
    fl = frozen_list(items)
    for name, mutator in _LIST_MUTATORS:
        assert _refused(partial(mutator, fl, index, value)), f"FrozenList allowed {name}"
        assert list(fl) == deep_before, f"FrozenList changed after {name}: {fl!r}"
    items.append(value)
    assert list(fl) == deep_before, "a change to the source list showed through the FrozenList"
    fl.to_list().append(value)  # to_list: "Create a mutable copy of the data"
    assert list(fl) == deep_before, "a write to the mutable copy from to_list() changed it"
    if "SF-VAL-03" in active:
        return  # SF-VAL-03: nested values handed out by a FrozenList are the caller's objects
    for container in nested_containers(list(fl)):
        mutate(container)
    assert list(fl) == deep_before, f"a nested value handed out by the FrozenList changed: {fl!r}"


CHECKS = [
    Check(
        name="values.frozen_dict_mapping_laws",
        run=frozen_dict_mapping_law,
        summary="FrozenDict obeys the Mapping ABC and equals the dict it wraps",
    ),
    Check(
        name="values.frozen_dict_hash",
        run=adopting_known(frozen_dict_hash_law, lambda: FINDINGS),
        summary="equal FrozenDicts hash equal; unhashable values make it unhashable",
    ),
    Check(
        name="values.frozen_dict_immutable",
        run=adopting_known(frozen_dict_immutable_law, lambda: FINDINGS),
        summary="no public path changes a FrozenDict's own items (a documented shallow freeze)",
    ),
    Check(
        name="values.frozen_list_sequence_laws",
        run=adopting_known(frozen_list_sequence_law, lambda: FINDINGS),
        summary="FrozenList obeys the Sequence ABC, with value equality and hashing",
    ),
    Check(
        name="values.frozen_list_immutable",
        run=adopting_known(frozen_list_immutable_law, lambda: FINDINGS),
        summary="no public path changes a FrozenList, nested values included",
    ),
]


# --- findings --------------------------------------------------------------------------------


def _frozen(sf: ModuleType) -> ModuleType:
    return importlib.import_module(f"{sf.__name__}.utils.frozen")


def _hash_splits(sf: ModuleType) -> bool:
    fd = _frozen(sf).FrozenDict
    a, b = fd({1: "a", "1": "b"}), fd({"1": "b", 1: "a"})
    return bool(a == b and hash(a) != hash(b))


def _list_is_shallow(sf: ModuleType) -> bool:
    fl = _frozen(sf).FrozenList([[1]])
    fl[0].append(2)
    return list(fl) == [[1, 2]]


def _list_identity_equality(sf: ModuleType) -> bool:
    fl = _frozen(sf).FrozenList
    return bool(fl([1]) != fl([1]))


FINDINGS: list[Finding] = [
    Finding(
        id="SF-VAL-02",
        title="Equal FrozenDicts can have different hashes (keys that print alike)",
        versions=releases(),
        check="values.frozen_dict_hash",
        promise=(
            "Python's data model (reasonably expected of any hashable type): objects that "
            "compare equal have the same hash."
        ),
        observed=(
            "FrozenDict.__hash__ sorts items by str(key), a stable sort, so keys 1 and '1' stay "
            "in insertion order: FrozenDict({1: 'a', '1': 'b'}) == FrozenDict({'1': 'b', 1: 'a'}) "
            "but their hashes differ, so sets and dict keys treat them as different."
        ),
        reproduce=_hash_splits,
        basis=expected(
            "FrozenDict is hashable and compares as a Mapping, so Python's rule for hashable "
            "objects applies: 'objects which compare equal have the same hash value' (the "
            "language reference, object.__hash__). Stageflow documents no exception.",
            ("Wraps a dictionary and prevents any mutation.", "stageflow/utils/frozen.py:20"),
        ),
        severity=Severity(
            "low", "needs keys of different types that print alike (1 and '1') in one dict"
        ),
        fix="FrozenDict.__hash__ (stageflow/utils/frozen.py:54): hash an order-free value, "
        "e.g. hash(frozenset(self._data.items())).",
    ),
    Finding(
        id="SF-VAL-03",
        title="FrozenList hands out nested values that can be mutated",
        versions=releases(),
        check="values.frozen_list_immutable",
        promise="FrozenList 'Wraps a list and prevents any mutation', with no shallow-freeze "
        "note (FrozenDict, beside it, has one).",
        observed="FrozenList([[1]])[0].append(2) changes the FrozenList to [[1, 2]].",
        reproduce=_list_is_shallow,
        basis=documented(
            ("Wraps a list and prevents any mutation.", "stageflow/utils/frozen.py:85"),
            argument="FrozenDict's docstring warns 'This is a shallow freeze'; FrozenList's "
            "does not, so a reader takes 'any mutation' at its word.",
        ),
        severity=Severity(
            "low", "Stageflow itself does not use FrozenList; a user must nest containers in one"
        ),
        fix="stageflow/utils/frozen.py:82: say 'shallow freeze' in FrozenList's docstring as "
        "FrozenDict does, or freeze nested lists and dicts on construction.",
    ),
    Finding(
        id="SF-VAL-04",
        title="FrozenList compares by identity: FrozenList([1]) != FrozenList([1])",
        versions=releases(),
        check="values.frozen_list_sequence_laws",
        promise=(
            "Reasonably expected of an immutable, hashable value type (tuple, frozenset, "
            "FrozenDict via Mapping.__eq__): equal contents compare equal; fl.copy() == fl."
        ),
        observed=(
            "Sequence defines no __eq__, so FrozenList falls back to identity: "
            "FrozenList([1]) != FrozenList([1]) and fl.copy() != fl, although both hash equal."
        ),
        reproduce=_list_identity_equality,
        basis=expected(
            "An immutable, hashable sequence (tuple, and FrozenDict through Mapping.__eq__) "
            "compares by contents; FrozenList hashes by contents but compares by identity, so "
            "fl.copy() != fl and a FrozenList never equals a rebuilt one.",
            ("Create a new FrozenList with the same data.", "stageflow/utils/frozen.py:123"),
        ),
        severity=Severity("low", "Stageflow itself never compares FrozenLists"),
        fix="FrozenList (stageflow/utils/frozen.py:82): define __eq__ comparing self._data with "
        "the other sequence's items, as Mapping does for FrozenDict.",
    ),
]

# Checked, not a bug: documented as intended.
WITHDRAWN: list[Withdrawn] = [
    Withdrawn(
        id="SF-VAL-01",
        title="FrozenDict hands out nested values that can be mutated",
        reason="FrozenDict documents a shallow freeze, and that is what it does. The promise "
        "this shallowness breaks is fork's 'read-only access to parent data', registered as "
        "SF-CTX-01; the values law now checks the documented shallow freeze.",
        basis=documented(
            (
                "This is a shallow freeze. Nested mutable objects can still be modified.",
                "stageflow/utils/frozen.py:30",
            ),
        ),
        see="SF-CTX-01",
    ),
]
