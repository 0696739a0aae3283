"""Real OutputBag and ContextBag, driven by model inputs and projected to model outcomes.

The only bag module that imports stageflow. :class:`OutputBagSut` and :class:`ContextBagSut`
each hold one real bag and a :class:`~core.check.history.HistoryRecorder`; ``perform(task, input)``
records the call, runs the real method, and records the return as the :data:`models.bags.Outcome`
the model would give: a projection (``OutputView``, ``EntryView``, tuples of items) or
``Raised(error, detail)``. Timestamps and durations are dropped.

Errors the bag documents become outcomes; any other exception does too (as ``Raised(<type>)``,
which no model produces, so the checker reports it). Cancellation is different: an operation
cancelled inside the bag may or may not have taken effect, so its return is never recorded
(pending) and the ``CancelledError`` propagates to the task.

The adapter owns the dicts it writes: ``Write.data_id`` names the caller's data dict, so that
``MutateWritten`` can mutate it after the write, as a user might.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Hashable
from typing import Any

from stageflow_verify.core.check.history import HistoryRecorder
from stageflow_verify.core.sut import HarnessError, stageflow_module
from stageflow_verify.models.bags import (
    BagInput,
    ContextInput,
    CRead,
    CView,
    CWrite,
    EntryView,
    Get,
    GetValue,
    Items,
    MutateCopy,
    MutateRead,
    MutateWritten,
    Outcome,
    OutputView,
    Raised,
    Returned,
    View,
    Write,
)


def plain(value: Any) -> Hashable:
    """A dict becomes a tuple of items (recursively); other values stay as they are."""
    if isinstance(value, dict):
        return tuple((k, plain(v)) for k, v in value.items())
    return value  # type: ignore[no-any-return]


def project_output(output: Any) -> OutputView:
    return OutputView(output.status.value, plain(output.data), output.error)  # type: ignore[arg-type]


def project_entry(entry: Any) -> EntryView:
    return EntryView(entry.stage_name, entry.attempt, project_output(entry.output))


def _project_dict(d: dict[str, Any]) -> Hashable:
    entries = tuple(
        EntryView(
            name,
            e["attempt"],
            OutputView(e["status"], plain(e["data"]), e["error"]),  # type: ignore[arg-type]
        )
        for name, e in d["entries"].items()
    )
    return (entries, d["stage_count"], d["total_attempts"])


def _overwrite_argument(w: Write) -> dict[str, bool]:
    # Defaults are part of the contract: write and write_sync document `allow_overwrite: bool =
    # False` (stageflow/context/output_bag.py:115 and :154), so every other plain write leaves
    # the keyword out and the default is exercised as well as the explicit False.
    if not w.overwrite and w.data_id % 2 == 0:
        return {}
    return {"allow_overwrite": w.overwrite}


class OutputBagSut:
    def __init__(self, recorder: HistoryRecorder[BagInput, Outcome]) -> None:
        self.sf = stageflow_module()
        self.bag = self.sf.context.OutputBag()
        self.recorder = recorder
        self.written: dict[int, dict[str, Any]] = {}

    async def perform(self, task: str, input: BagInput) -> Outcome:
        op = self.recorder.call(task, input)
        try:
            if isinstance(input, Write) and not input.sync:
                output = self._output(input)
                entry = await self.bag.write(input.stage, output, **_overwrite_argument(input))
                outcome: Outcome = Returned(project_entry(entry))
            else:
                outcome = self._sync(input)
        except self.sf.context.OutputConflictError as exc:
            outcome = Raised("OutputConflictError", exc.existing_attempt)
        except Exception as exc:  # an error the bag does not document: the checker reports it
            outcome = Raised(type(exc).__name__, str(exc))
        self.recorder.ret(op, outcome)
        return outcome

    def perform_sync(self, task: str, input: BagInput) -> Outcome:
        op = self.recorder.call(task, input)
        try:
            outcome = self._sync(input)
        except self.sf.context.OutputConflictError as exc:
            outcome = Raised("OutputConflictError", exc.existing_attempt)
        self.recorder.ret(op, outcome)
        return outcome

    def _output(self, w: Write) -> Any:
        data = dict(w.output.data)
        self.written[w.data_id] = data
        status = self.sf.StageStatus(w.output.status)
        return self.sf.StageOutput(status=status, data=data, error=w.output.error)

    def _sync(self, i: BagInput) -> Outcome:
        bag = self.bag
        if isinstance(i, Write):
            entry = bag.write_sync(i.stage, self._output(i), **_overwrite_argument(i))
            return Returned(project_entry(entry))
        if isinstance(i, Get):
            if i.what == "has":
                return Returned(bag.has(i.stage))
            if i.what == "in":
                return Returned(i.stage in bag)
            if i.what == "get_attempt_count":
                return Returned(bag.get_attempt_count(i.stage))
            found = bag.get(i.stage) if i.what == "get" else bag.get_output(i.stage)
            if found is None:
                return Returned(None)
            return Returned(project_entry(found) if i.what == "get" else project_output(found))
        if isinstance(i, GetValue):
            return Returned(plain(bag.get_value(i.stage, i.key, i.default)))
        if isinstance(i, View):
            return Returned(self._view(i.what))
        if isinstance(i, MutateWritten):
            if i.data_id in self.written:  # else that write never ran: nothing to mutate
                self.written[i.data_id][i.key] = i.value
            return Returned(None)
        return Returned(self._mutate_read(i))

    def _view(self, what: str) -> Hashable:
        bag = self.bag
        if what == "keys":
            return tuple(bag.keys())
        if what == "entries":
            return tuple(project_entry(e) for e in bag.entries())
        if what == "outputs":
            return tuple((k, project_output(o)) for k, o in bag.outputs().items())
        if what == "get_retry_stages":
            return tuple(bag.get_retry_stages())
        if what == "len":
            return len(bag)
        if what == "repr":
            return named_in(repr(bag), bag.keys())
        return _project_dict(bag.to_dict())

    def _mutate_read(self, i: MutateRead) -> bool:
        output = self.bag.get_output(i.stage)
        if output is None:
            return False
        output.data[i.key] = i.value
        return True


class ContextBagSut:
    def __init__(self, recorder: HistoryRecorder[ContextInput, Outcome]) -> None:
        self.sf = stageflow_module()
        # Deprecated, still shipped and still used. The warning is recorded, not shown: where it
        # points decides whether a user ever sees it (the bag machine checks that).
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            self.bag = self.sf.context.ContextBag()
        # The files the DeprecationWarnings were attributed to; this one, the caller's, is right.
        self.deprecations = [
            w.filename for w in caught if issubclass(w.category, DeprecationWarning)
        ]
        self.recorder = recorder

    async def perform(self, task: str, input: ContextInput) -> Outcome:
        op = self.recorder.call(task, input)
        try:
            if isinstance(input, CWrite):
                await self.bag.write(input.key, _real(input.value), input.stage)
                outcome: Outcome = Returned(None)
            else:
                outcome = self._sync(input)
        except self.sf.context.DataConflictError as exc:
            outcome = Raised("DataConflictError", (exc.key, exc.existing_writer, exc.new_writer))
        except Exception as exc:  # an error the bag does not document: the checker reports it
            outcome = Raised(type(exc).__name__, str(exc))
        self.recorder.ret(op, outcome)
        return outcome

    def perform_sync(self, task: str, input: ContextInput) -> Outcome:
        op = self.recorder.call(task, input)
        outcome = self._sync(input)
        self.recorder.ret(op, outcome)
        return outcome

    def _sync(self, i: ContextInput) -> Outcome:
        bag = self.bag
        if isinstance(i, CRead):
            if i.what == "has":
                return Returned(bag.has(i.key))
            if i.what == "get_writer":
                return Returned(bag.get_writer(i.key))
            return Returned(plain(bag.read(i.key)))
        if isinstance(i, CView):
            if i.what == "repr":
                return Returned(named_in(repr(bag), bag.keys()))
            return Returned(tuple(bag.keys()) if i.what == "keys" else plain(bag.to_dict()))
        if isinstance(i, MutateCopy):
            copy = bag.to_dict()
            value = copy.pop(i.key, None)  # the copy's own top level: must never reach the bag
            if not isinstance(value, dict):
                return Returned(value is not None)
            value[i.field] = i.value  # the bag's own value: a dict copy shares it (documented)
            return Returned(True)
        raise HarnessError(f"{i!r} is not a synchronous ContextBag operation")


def _real(value: Hashable) -> Any:
    # Items (a tuple of pairs) stand for a dict value: the kind a caller can mutate later.
    if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        items: Items = value
        return {k: v for k, v in items}
    return value


def named_in(text: str, keys: Any) -> Hashable:
    """The keys whose repr appears in ``text``, in order (what a debugging repr shows)."""
    return tuple(k for k in keys if repr(k) in text)


async def pause() -> None:
    """A suspension point between two operations of a task (where it may be cancelled)."""
    await asyncio.sleep(0)
