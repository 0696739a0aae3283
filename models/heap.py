"""A pure heap of nested containers, so the context model can say who shares what.

Context isolation is a question about aliasing: a child overwrites its parent exactly when both
reach the same dict. Plain values cannot express that, so the model keeps every dict and list
as a *box* with an identity, and values refer to boxes with :class:`Ref`. Copy semantics are then
explicit choices: a deep copy allocates new boxes all the way down, a shallow copy allocates one
new box whose entries still refer to the old ones, and a live share hands out the same box.

Everything here is immutable: operations take a :class:`Heap` and return a new one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

Scalar: TypeAlias = bool | int | str | None
Plain: TypeAlias = Scalar | dict[str, "Plain"] | list["Plain"]
PathStep: TypeAlias = str | int
Path: TypeAlias = tuple[PathStep, ...]


@dataclass(frozen=True)
class Ref:
    box: int


Value: TypeAlias = Scalar | Ref


@dataclass(frozen=True)
class MapBox:
    items: tuple[tuple[str, Value], ...]

    def get(self, key: str) -> Value | None:
        for k, v in self.items:
            if k == key:
                return v
        return None

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.items)


@dataclass(frozen=True)
class ListBox:
    items: tuple[Value, ...]


Box: TypeAlias = MapBox | ListBox


class Copy(Enum):
    """How a field travels from parent to child at fork time."""

    DEEP = "deep"  # new boxes all the way down: the child owns everything it reaches
    SHALLOW = "shallow"  # a new top box whose values still refer to the parent's boxes
    LIVE = "live"  # the very same box


@dataclass(frozen=True)
class Heap:
    """Boxes by id. Closed: every reference leads to a box, and ``next_id`` is a fresh id.

    inv: all(0 <= ref < self.next_id for ref in self.boxes)
    inv: all(r.box in self.boxes for b in self.boxes.values() for r in _refs(b))
    """

    boxes: Mapping[int, Box]
    next_id: int = 0
    # Said outright: a dict of boxes cannot be hashed, so neither can a heap.
    __hash__ = None  # type: ignore[assignment]

    def box(self, ref: int) -> Box:
        """pre: ref in self.boxes"""
        return self.boxes[ref]

    def put(self, ref: int, box: Box) -> Heap:
        """Replace the box ``ref`` (every alias of it sees the new contents).

        pre: ref in self.boxes and all(r.box in self.boxes for r in _refs(box))
        post: __return__.boxes[ref] == box and __return__.next_id == self.next_id
        """
        return Heap({**self.boxes, ref: box}, self.next_id)

    def allocate(self, box: Box) -> tuple[Heap, int]:
        """Add ``box`` under a fresh id.

        pre: all(r.box in self.boxes for r in _refs(box))
        post: __return__[1] not in self.boxes
        post: __return__[0].next_id == __return__[1] + 1
        """
        ref = self.next_id
        return Heap({**self.boxes, ref: box}, ref + 1), ref


def _refs(box: Box) -> list[Ref]:
    values = [v for _, v in box.items] if isinstance(box, MapBox) else list(box.items)
    return [v for v in values if isinstance(v, Ref)]


EMPTY_HEAP = Heap({})


def store(heap: Heap, value: Plain) -> tuple[Heap, Value]:
    """Allocate fresh boxes for a plain value (nothing shared with anything already stored).

    post: __return__[0].next_id >= heap.next_id
    post: not isinstance(__return__[1], Ref) or __return__[1].box >= heap.next_id
    """
    # CrossHair 0.0.113 cannot make symbolic values of the recursive Plain alias.
    # crosshair: off
    if isinstance(value, dict):
        items: list[tuple[str, Value]] = []
        for k, v in value.items():
            heap, stored = store(heap, v)
            items.append((k, stored))
        heap, ref = heap.allocate(MapBox(tuple(items)))
        return heap, Ref(ref)
    if isinstance(value, list):
        elements: list[Value] = []
        for v in value:
            heap, stored = store(heap, v)
            elements.append(stored)
        heap, ref = heap.allocate(ListBox(tuple(elements)))
        return heap, Ref(ref)
    return heap, value


def load(heap: Heap, value: Value) -> Plain:
    """The plain value a reader sees, following every reference."""
    if not isinstance(value, Ref):
        return value
    box = heap.box(value.box)
    if isinstance(box, MapBox):
        return {k: load(heap, v) for k, v in box.items}
    return [load(heap, v) for v in box.items]


def copy_box(heap: Heap, ref: int, mode: Copy) -> tuple[Heap, int]:
    """Copy the box ``ref`` with the given semantics and return the copy's id.

    pre: ref in heap.boxes
    post: (__return__[1] == ref) == (mode is Copy.LIVE)
    post: __return__[1] in __return__[0].boxes
    """
    if mode is Copy.LIVE:
        return heap, ref
    if mode is Copy.SHALLOW:
        return heap.allocate(heap.box(ref))
    heap, value = store(heap, load(heap, Ref(ref)))
    assert isinstance(value, Ref)
    return heap, value.box


def copy_value(heap: Heap, value: Value, mode: Copy) -> tuple[Heap, Value]:
    """Copy one entry: a deep copy owns new boxes, the other modes keep the reference.

    pre: not isinstance(value, Ref) or value.box in heap.boxes
    post: mode is Copy.DEEP or __return__ == (heap, value)
    """
    if isinstance(value, Ref) and mode is Copy.DEEP:
        return store(heap, load(heap, value))
    return heap, value


def resolve(heap: Heap, ref: int, path: Path) -> int | None:
    """The box reached from ``ref`` by ``path``, or None if the path leads to no container.

    pre: ref in heap.boxes
    post: __return__ is None or __return__ in heap.boxes or __return__ == ref
    post: path or __return__ == ref
    """
    for step in path:
        box = heap.box(ref)
        if isinstance(box, MapBox) and isinstance(step, str):
            value = box.get(step)
        elif isinstance(box, ListBox) and isinstance(step, int) and 0 <= step < len(box.items):
            value = box.items[step]
        else:
            return None
        if not isinstance(value, Ref):
            return None
        ref = value.box
    return ref


def container_paths(heap: Heap, ref: int) -> list[Path]:
    """Every path from ``ref`` to a container, the empty path first, in a stable order.

    pre: ref in heap.boxes
    post: __return__[0] == ()
    """
    paths: list[Path] = [()]
    box = heap.box(ref)
    entries: list[tuple[PathStep, Value]] = (
        list(box.items) if isinstance(box, MapBox) else list(enumerate(box.items))
    )
    for step, value in entries:
        if isinstance(value, Ref):
            paths.extend((step, *rest) for rest in container_paths(heap, value.box))
    return paths


@dataclass(frozen=True)
class SetKey:
    key: str
    value: Plain


@dataclass(frozen=True)
class DeleteKey:
    key: str


@dataclass(frozen=True)
class Append:
    value: Plain


@dataclass(frozen=True)
class SetIndex:
    index: int
    value: Plain


@dataclass(frozen=True)
class PopLast:
    pass


Edit: TypeAlias = SetKey | DeleteKey | Append | SetIndex | PopLast


def edit_box(heap: Heap, ref: int, edit: Edit) -> Heap:
    """Apply ``edit`` to box ``ref`` in place (every alias of the box sees it).

    A new value is stored fresh, and a deletion of a missing key or index is a no-op, as the
    machine only generates edits that fit the box.

    pre: ref in heap.boxes
    post: __return__.next_id >= heap.next_id
    post: set(heap.boxes) <= set(__return__.boxes)
    """
    # CrossHair 0.0.113 cannot make symbolic values of the recursive Plain alias.
    # crosshair: off
    box = heap.box(ref)
    if isinstance(box, MapBox) and isinstance(edit, SetKey):
        heap, value = store(heap, edit.value)
        kept = tuple((k, v) for k, v in box.items if k != edit.key)
        if edit.key in set(box.keys()):  # dict assignment keeps the key's position
            kept = tuple((k, value if k == edit.key else v) for k, v in box.items)
            return heap.put(ref, MapBox(kept))
        return heap.put(ref, MapBox((*kept, (edit.key, value))))
    if isinstance(box, MapBox) and isinstance(edit, DeleteKey):
        return heap.put(ref, MapBox(tuple((k, v) for k, v in box.items if k != edit.key)))
    if isinstance(box, ListBox) and isinstance(edit, Append):
        heap, value = store(heap, edit.value)
        return heap.put(ref, ListBox((*box.items, value)))
    if isinstance(box, ListBox) and isinstance(edit, SetIndex) and edit.index < len(box.items):
        heap, value = store(heap, edit.value)
        items = list(box.items)
        items[edit.index] = value
        return heap.put(ref, ListBox(tuple(items)))
    if isinstance(box, ListBox) and isinstance(edit, PopLast) and box.items:
        return heap.put(ref, ListBox(box.items[:-1]))
    return heap


def edit_plain(target: object, edit: Edit) -> None:
    """Apply ``edit`` to a real Python container, the way a user's code would."""
    # A fresh copy of the value, so the real container never shares it with the caller.
    if isinstance(edit, SetKey):
        target[edit.key] = copy.deepcopy(edit.value)  # type: ignore[index]
    elif isinstance(edit, DeleteKey):
        del target[edit.key]  # type: ignore[attr-defined]
    elif isinstance(edit, Append):
        target.append(copy.deepcopy(edit.value))  # type: ignore[attr-defined]
    elif isinstance(edit, SetIndex):
        target[edit.index] = copy.deepcopy(edit.value)  # type: ignore[index]
    else:
        target.pop()  # type: ignore[attr-defined]
