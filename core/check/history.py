"""Histories: what concurrent tasks asked of an object and what it answered, on one time axis.

A history is a sequence of :class:`Call` and :class:`Return` events. Each event carries a
``time`` (a position on a strictly increasing logical axis, unique per event) and the scheduler
``step`` in which it happened (what the swimlane shows). Pairing a call with its return gives an
:class:`Operation`, the unit the linearizability checker orders.

Two decisions at the edges:

* An operation occupies the closed interval ``[call, ret]``. Operation A precedes B in real time
  only when ``A.ret < B.call``; any overlap means either order is allowed. Times are unique, so
  "returned in the same step as the other began" is still decided by the order of the events.
* An operation that never returned (its task was cancelled inside it, or crashed with an error
  the recorder was told not to treat as the operation's result) is *pending*: ``ret is None``.
  It may have taken effect at any point after its call, or never; its output is unknown.

:class:`HistoryRecorder` builds histories while tasks run. It implements the scheduler's
``Instrument`` hooks (``task_spawned``, ``before_step``, ``after_step``, ``task_exited``) only to
learn the current step; it never patches the object under test. The adapter calls
:meth:`HistoryRecorder.call` before an operation and :meth:`HistoryRecorder.ret` after it.

:class:`Model` is the sequential specification the checker runs the history against, after
porcupine's ``model.go``: it must be a pure function of its arguments, and its states must be
hashable (the search memoizes on them).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

S = TypeVar("S", bound=Hashable)
I = TypeVar("I")  # noqa: E741 - porcupine's name for an operation's input
O = TypeVar("O")  # noqa: E741 - and for its output
I_contra = TypeVar("I_contra", contravariant=True)


class Model(Protocol[S, I_contra, O]):
    """A deterministic sequential specification: ``step`` says what ``input`` returns in
    ``state`` and which state follows.

    Both models of the suite are deterministic, so the checker asks the model for the output and
    compares it with the recorded one (porcupine's ``step(state, input, output) -> bool`` is the
    special case of a model with one acceptable output). ``partition_key`` names the part of the
    state an input touches: operations with different keys commute, so the checker may check each
    key's sub-history on its own. ``None`` means "the whole state" and disables partitioning for
    any history that contains such an operation.
    """

    def init(self) -> S: ...

    def step(self, state: S, input: I_contra) -> tuple[S, O]: ...

    def partition_key(self, input: I_contra) -> Hashable | None: ...

    def describe_op(self, input: I_contra, output: O | None) -> str: ...

    def describe_output(self, output: O | None) -> str: ...

    def describe_state(self, state: S) -> str: ...


@dataclass(frozen=True)
class Call(Generic[I]):
    op_id: int
    task: str
    input: I
    time: int
    step: int


@dataclass(frozen=True)
class Return(Generic[O]):
    op_id: int
    output: O
    time: int
    step: int


@dataclass(frozen=True)
class Operation(Generic[I, O]):
    """One call paired with its return; ``ret is None`` marks a pending operation (see module
    docstring), whose ``output`` is meaningless.

    inv: self.ret is None or self.ret > self.call
    """

    id: int
    task: str
    input: I
    output: O | None
    call: int
    ret: int | None
    call_step: int = 0
    ret_step: int | None = None

    @property
    def pending(self) -> bool:
        return self.ret is None

    def precedes(self, other: Operation[I, O]) -> bool:
        """True when this operation returned before ``other`` was called.

        post: not (__return__ and other.precedes(self))
        """
        return self.ret is not None and self.ret < other.call


def operations(events: Iterable[Call[I] | Return[O]]) -> tuple[Operation[I, O], ...]:
    """Pair calls with returns; a call without a return becomes a pending operation."""
    calls: dict[int, Call[I]] = {}
    returns: dict[int, Return[O]] = {}
    for event in events:
        if isinstance(event, Call):
            calls[event.op_id] = event
        else:
            returns[event.op_id] = event
    result = []
    for op_id, c in sorted(calls.items()):
        r = returns.get(op_id)
        result.append(
            Operation(
                id=op_id,
                task=c.task,
                input=c.input,
                output=None if r is None else r.output,
                call=c.time,
                ret=None if r is None else r.time,
                call_step=c.step,
                ret_step=None if r is None else r.step,
            )
        )
    return tuple(result)


def sequential(task: str, steps: Sequence[tuple[I, O]], start: int = 0) -> list[Operation[I, O]]:
    """Operations of one task that run back to back, one step each (for hand-made histories).

    For example::

        sequential("T0", [(Write("a"), Ok(1)), (Get("a"), Ok(1))])
    """
    return [
        Operation(
            i + start, task, inp, out, 2 * (i + start), 2 * (i + start) + 1, i + start, i + start
        )
        for i, (inp, out) in enumerate(steps)
    ]


@dataclass
class HistoryRecorder(Generic[I, O]):
    """Records calls and returns while tasks run; ``step`` follows the scheduler's instrument hooks.

    For example::

        recorder = HistoryRecorder[BagInput, Outcome]()
        op = recorder.call("T0", Has("s"))
        recorder.ret(op, Returned(bag.has("s")))
        recorder.history()  # (Operation(id=0, task='T0', ...),)
    """

    events: list[Call[I] | Return[O]] = field(default_factory=list)
    step: int = 0
    # Where the current step comes from when no instrument hooks drive ``step``: e.g.
    # ``lambda: len(loop.trace.steps)`` for the deterministic loop.
    clock: Callable[[], int] | None = None
    _time: int = 0
    _next_id: int = 0
    _open: dict[int, Call[I]] = field(default_factory=dict)

    # Instrument hooks: the recorder only needs to know which step is running.
    def task_spawned(self, task: object) -> None:
        pass

    def before_step(self, task: object) -> None:
        self.step += 1

    def after_step(self, task: object) -> None:
        pass

    def task_exited(self, task: object) -> None:
        pass

    def call(self, task: str, input: I) -> int:
        op_id = self._next_id
        self._next_id += 1
        event = Call(op_id, task, input, self._tick(), self._step())
        self.events.append(event)
        self._open[op_id] = event
        return op_id

    def ret(self, op_id: int, output: O) -> None:
        if op_id not in self._open:
            raise ValueError(
                f"operation {op_id} has no open call (already returned, or never called); "
                "call HistoryRecorder.ret exactly once per HistoryRecorder.call"
            )
        del self._open[op_id]
        self.events.append(Return(op_id, output, self._tick(), self._step()))

    def history(self) -> tuple[Operation[I, O], ...]:
        return operations(self.events)

    def clear(self) -> None:
        self.events.clear()
        self._open.clear()

    def _step(self) -> int:
        return self.step if self.clock is None else self.clock()

    def _tick(self) -> int:
        self._time += 1
        return self._time
