"""Sequential specifications of Stageflow's OutputBag and ContextBag.

Both are pure: a state is a frozen dataclass of tuples, an operation is a frozen dataclass, and
``step(state, input)`` returns the next state with the :data:`Outcome` the real call must give
(a :class:`Returned` value, or a :class:`Raised` error). The stateful machines (sequential
comparison) and the linearizability checker (concurrent histories) use the same model objects.

Values are the adapter's plain projections (``core.sut.bags``): a stage output is an
:class:`OutputView` (status, data as a tuple of items, error), never a Stageflow object, and
timestamps are not modelled.

What the models promise, from Stageflow's docstrings and frozen dataclasses:

* OutputBag.write: a stage's first write gets attempt 1; a write to a stage that has output
  raises ``OutputConflictError(existing_attempt)`` unless ``allow_overwrite``, which replaces the
  output and increments the attempt. ``keys()`` keeps first-write order. ``write_sync`` is the
  same operation without the lock.
* ContextBag.write: a key is written once; a second write raises ``DataConflictError`` naming the
  first writer, whichever stage tries. The docs disagree with each other here: the summary says
  "rejecting duplicates" (any), while "Raises: ... If key was already written by another stage"
  and the class's "rejects duplicate key writes from different stages" leave a stage's rewrite
  of its own key unspecified. Stageflow rejects it ("already written by 'a', cannot write from
  'a'"), so a retried stage cannot write its key again. The model follows the summary line and
  Stageflow; this is not registered as a finding, since one of the two readings holds.
* Aliasing: what an OutputBag holds changes only through its own writes. Mutating the dict a
  caller wrote (``MutateWritten``) or the data a read returned (``MutateRead``) changes nothing.
  A model built with the matching ``aliases_*`` flag instead follows Stageflow's real behaviour
  (the mutation shows through), which is how a machine adopts a known finding (SF-VAL-08,
  SF-RUN-07) and keeps hunting past it.
* ContextBag.to_dict: "Returns: Copy of the internal data dictionary" (stageflow/context/bag.py:
  126), and read() returns "The stored value". A dict copy is a new dict holding the same
  values, so ``MutateCopy`` removes the key from the copy (which must never reach the bag) and
  changes a field of the dict value it holds (which is the bag's own value, so it shows). That
  is the documented behaviour, the model's rule; not a deviation.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace

Items = tuple[tuple[str, Hashable], ...]


@dataclass(frozen=True)
class Returned:
    value: Hashable = None


@dataclass(frozen=True)
class Raised:
    error: str
    detail: Hashable = None


Outcome = Returned | Raised


def _set(items: Items, key: str, value: Hashable) -> Items:
    # dict assignment: an existing key keeps its position, a new one goes last.
    if any(k == key for k, _ in items):
        return tuple((k, value if k == key else v) for k, v in items)
    return (*items, (key, value))


def _get(items: Items, key: str, default: Hashable = None) -> Hashable:
    return next((v for k, v in items if k == key), default)


# --- OutputBag ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputView:
    status: str
    data: Items
    error: str | None = None


@dataclass(frozen=True)
class EntryView:
    stage: str
    attempt: int
    output: OutputView


@dataclass(frozen=True)
class Stored:
    entry: EntryView
    data_id: int  # which caller-owned dict the entry's data came from (for aliasing)


@dataclass(frozen=True)
class OutputBagState:
    """Stored outputs in first-write order, at most one per stage.

    inv: len({s.entry.stage for s in self.stored}) == len(self.stored)
    """

    stored: tuple[Stored, ...] = ()

    def find(self, stage: str) -> Stored | None:
        return next((s for s in self.stored if s.entry.stage == stage), None)


@dataclass(frozen=True)
class Write:
    stage: str
    output: OutputView
    overwrite: bool = False
    sync: bool = False
    data_id: int = 0


@dataclass(frozen=True)
class Get:
    stage: str
    what: str = "get"  # get | get_output | has | in | get_attempt_count


@dataclass(frozen=True)
class GetValue:
    stage: str
    key: str
    default: Hashable = None


@dataclass(frozen=True)
class View:
    what: str  # keys | entries | outputs | to_dict | get_retry_stages | len | repr


@dataclass(frozen=True)
class MutateWritten:
    data_id: int
    key: str
    value: Hashable


@dataclass(frozen=True)
class MutateRead:
    stage: str
    key: str
    value: Hashable


BagInput = Write | Get | GetValue | View | MutateWritten | MutateRead


@dataclass(frozen=True)
class OutputBagModel:
    """The OutputBag spec; ``aliases_written`` / ``aliases_reads`` adopt the aliasing findings."""

    aliases_written: bool = False
    aliases_reads: bool = False

    def init(self) -> OutputBagState:
        """post: __return__.stored == ()"""
        return OutputBagState()

    def step(self, state: OutputBagState, input: BagInput) -> tuple[OutputBagState, Outcome]:
        """pre: not isinstance(input, Write) or input.stage != ""
        post: isinstance(input, (Write, MutateWritten, MutateRead)) or __return__[0] == state
        """
        if isinstance(input, Write):
            return self.write(state, input)
        if isinstance(input, Get):
            return state, Returned(_read(state, input))
        if isinstance(input, GetValue):
            found = state.find(input.stage)
            if found is None:
                return state, Returned(input.default)
            return state, Returned(_get(found.entry.output.data, input.key, input.default))
        if isinstance(input, View):
            return state, Returned(_view(state, input.what))
        if isinstance(input, MutateWritten):
            if not self.aliases_written:
                return state, Returned(None)
            return _mutate(state, input.data_id, input.key, input.value), Returned(None)
        found = state.find(input.stage)
        if found is None or not self.aliases_reads:
            return state, Returned(found is not None)
        return _mutate(state, found.data_id, input.key, input.value), Returned(True)

    def write(self, state: OutputBagState, w: Write) -> tuple[OutputBagState, Outcome]:
        """pre: w.stage != ""
        post: isinstance(__return__[1], Returned) or __return__[0] == state
        post: isinstance(__return__[1], Raised) or _counted_once(state, __return__[0], w.stage)
        """
        existing = state.find(w.stage)
        if existing is not None and not w.overwrite:
            return state, Raised("OutputConflictError", existing.entry.attempt)
        attempt = existing.entry.attempt + 1 if existing is not None else 1
        entry = EntryView(w.stage, attempt, w.output)
        stored = Stored(entry, w.data_id)
        if existing is None:
            return OutputBagState((*state.stored, stored)), Returned(entry)
        return (
            OutputBagState(tuple(stored if s is existing else s for s in state.stored)),
            Returned(entry),
        )

    def partition_key(self, input: BagInput) -> Hashable | None:
        if isinstance(input, Write | Get | GetValue | MutateRead):
            return input.stage
        return None

    def describe_op(self, input: BagInput, output: Outcome | None) -> str:
        text = _describe_input(input)
        return text if output is None else f"{text} -> {self.describe_output(output)}"

    def describe_output(self, output: Outcome | None) -> str:
        return _describe_outcome(output)

    def describe_state(self, state: OutputBagState) -> str:
        inner = ", ".join(
            f"{s.entry.stage!r}: attempt {s.entry.attempt} {_describe_view(s.entry.output)}"
            for s in state.stored
        )
        return "OutputBag {" + inner + "}"


# Contract helpers: PEP 316 conditions are one line each, so longer claims are named here.
def _counted_once(before: OutputBagState, after: OutputBagState, stage: str) -> bool:
    count = Get(stage, "get_attempt_count")
    return _read(after, count) == _read(before, count) + 1  # type: ignore[operator]


def _names_writer(after: ContextBagState, input: ContextInput) -> bool:
    return not isinstance(input, CWrite) or _get(after.writers, input.key) == input.stage


def _read(state: OutputBagState, g: Get) -> Hashable:
    found = state.find(g.stage)
    if g.what in ("has", "in"):  # `stage in bag` is has(): "Check if stage has output"
        return found is not None
    if g.what == "get_attempt_count":
        return 0 if found is None else found.entry.attempt
    if found is None:
        return None
    return found.entry if g.what == "get" else found.entry.output


def _view(state: OutputBagState, what: str) -> Hashable:
    entries = tuple(s.entry for s in state.stored)
    if what == "keys":
        return tuple(e.stage for e in entries)
    if what == "entries":
        return entries
    if what == "outputs":
        return tuple((e.stage, e.output) for e in entries)
    if what == "get_retry_stages":
        return tuple(e.stage for e in entries if e.attempt > 1)
    if what == "len":
        return len(entries)
    if what == "repr":  # "String representation for debugging": it names every stage held
        return tuple(e.stage for e in entries)
    return (entries, len(entries), sum(e.attempt for e in entries))  # to_dict


def _mutate(state: OutputBagState, data_id: int, key: str, value: Hashable) -> OutputBagState:
    def touched(s: Stored) -> Stored:
        if s.data_id != data_id:
            return s
        output = replace(s.entry.output, data=_set(s.entry.output.data, key, value))
        return replace(s, entry=replace(s.entry, output=output))

    return OutputBagState(tuple(touched(s) for s in state.stored))


# --- ContextBag --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextBagState:
    """Keys in first-write order, each with the stage that wrote it.

    inv: tuple(k for k, _ in self.data) == tuple(k for k, _ in self.writers)
    """

    data: Items = ()
    writers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CWrite:
    key: str
    value: Hashable
    stage: str


@dataclass(frozen=True)
class CRead:
    key: str
    what: str = "read"  # read | has | get_writer


@dataclass(frozen=True)
class CView:
    what: str  # keys | to_dict | repr


@dataclass(frozen=True)
class MutateCopy:
    """``bag.to_dict()[key][field] = value`` on a dict value (value projected as Items)."""

    key: str
    field: str
    value: Hashable


ContextInput = CWrite | CRead | CView | MutateCopy


@dataclass(frozen=True)
class ContextBagModel:
    """The ContextBag spec: to_dict() is a dict copy (documented), so its values are shared."""

    def init(self) -> ContextBagState:
        """post: __return__.data == () and __return__.writers == ()"""
        return ContextBagState()

    def step(self, state: ContextBagState, input: ContextInput) -> tuple[ContextBagState, Outcome]:
        """post: isinstance(input, (CWrite, MutateCopy)) or __return__[0] == state
        post: isinstance(__return__[1], Raised) or _names_writer(__return__[0], input)
        """
        if isinstance(input, CWrite):
            if any(k == input.key for k, _ in state.data):
                detail = (input.key, _get(state.writers, input.key), input.stage)
                return state, Raised("DataConflictError", detail)
            return (
                ContextBagState(
                    (*state.data, (input.key, input.value)),
                    (*state.writers, (input.key, input.stage)),
                ),
                Returned(None),
            )
        if isinstance(input, CRead):
            if input.what == "has":
                return state, Returned(any(k == input.key for k, _ in state.data))
            table = state.writers if input.what == "get_writer" else state.data
            return state, Returned(_get(table, input.key))
        if isinstance(input, CView):
            if input.what in ("keys", "repr"):  # repr names every key, in order
                return state, Returned(tuple(k for k, _ in state.data))
            return state, Returned(state.data)
        value = _get(state.data, input.key)
        if not isinstance(value, tuple):  # not a dict: nothing in the copy is the bag's own
            return state, Returned(value is not None)
        updated = _set(value, input.field, input.value)
        return replace(state, data=_set(state.data, input.key, updated)), Returned(True)

    def partition_key(self, input: ContextInput) -> Hashable | None:
        return None if isinstance(input, CView) else input.key

    def describe_op(self, input: ContextInput, output: Outcome | None) -> str:
        text = _describe_input(input)
        return text if output is None else f"{text} -> {self.describe_output(output)}"

    def describe_output(self, output: Outcome | None) -> str:
        return _describe_outcome(output)

    def describe_state(self, state: ContextBagState) -> str:
        inner = ", ".join(f"{k!r}: {v!r} by {_get(state.writers, k)!r}" for k, v in state.data)
        return "ContextBag {" + inner + "}"


# --- descriptions ------------------------------------------------------------------------------


def _describe_view(o: OutputView) -> str:
    data = "{" + ", ".join(f"{k}: {v!r}" for k, v in o.data) + "}"
    return f"{o.status}{data}" + (f" error={o.error!r}" if o.error else "")


def _describe_input(i: BagInput | ContextInput) -> str:
    if isinstance(i, Write):
        flags = "".join([", allow_overwrite" if i.overwrite else "", ", sync" if i.sync else ""])
        return f"write({i.stage!r}, {_describe_view(i.output)}{flags})"
    if isinstance(i, Get):
        return f"{i.what}({i.stage!r})"
    if isinstance(i, GetValue):
        return f"get_value({i.stage!r}, {i.key!r})"
    if isinstance(i, View | CView):
        return f"{i.what}()"
    if isinstance(i, MutateWritten):
        return f"mutate written dict #{i.data_id}[{i.key!r}] = {i.value!r}"
    if isinstance(i, MutateRead):
        return f"get_output({i.stage!r}).data[{i.key!r}] = {i.value!r}"
    if isinstance(i, CWrite):
        return f"write({i.key!r}, {i.value!r}, {i.stage!r})"
    if isinstance(i, CRead):
        return f"{i.what}({i.key!r})"
    return f"to_dict()[{i.key!r}][{i.field!r}] = {i.value!r}"


def _describe_outcome(o: Outcome | None) -> str:
    if o is None:
        return "?"
    if isinstance(o, Raised):
        return f"raises {o.error}({o.detail!r})"
    return _describe_value(o.value)


def _describe_value(v: Hashable) -> str:
    if isinstance(v, EntryView):
        return f"{v.stage!r}: attempt {v.attempt} {_describe_view(v.output)}"
    if isinstance(v, OutputView):
        return _describe_view(v)
    if isinstance(v, tuple) and v:
        inner = ", ".join(_describe_value(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return repr(v)
