"""Bags shared by controlled OS threads: where threads may switch, and what a known bug excuses.

The thread machines (``stateful/thread_bag_machine.py``) drive the same adapters as the asyncio
bag machines (:class:`~core.sut.bags.OutputBagSut`, :class:`~core.sut.bags.ContextBagSut`) from
several threads. Two things differ:

- **Switch points** are the lines of Stageflow's own frames (:func:`stageflow_focus`): the
  adapter, the recorder and the standard library (``asyncio.Lock`` included) run atomically.
- **Known deviations.** A finding that still reproduces makes some operations unjudgeable:
  a read that iterates the bag while another thread writes may raise or return a mix
  (SF-THR-01), a write on a lock bound to another thread's loop raises (SF-THR-02/03), and
  ContextBag's ``get_writer`` may say None for a key mid-write (SF-THR-04).
  :class:`TolerantRecorder` leaves such an operation *pending* (called, never returned), which
  the linearizability checker reads as "took effect at some point, or never, with an unknown
  result": sound for a read, which has no effect, and for a write that raised before touching
  the bag. It counts what it excused, so a run can say how much went unchecked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

from stageflow_verify.core.check.history import HistoryRecorder
from stageflow_verify.core.sched.loop_reports import DeadlockError
from stageflow_verify.core.sched.thread_locks import Focus, focus_on
from stageflow_verify.core.sut import stageflow_module, stageflow_path
from stageflow_verify.models.bags import CRead, Outcome, Raised, Returned, View

I = TypeVar("I")  # noqa: E741 - the recorder's input type, as in core.check.history

ITERATING_VIEWS = frozenset({"outputs", "to_dict", "get_retry_stages"})
BOUND_ELSEWHERE = "is bound to a different event loop"
Excuse = Callable[[object, Outcome], bool]


def waits_for_a_lock_forever(error: BaseException | None) -> bool:
    """A thread's loop stopped with every task blocked and one waiting to acquire a lock: the
    lost wakeup of SF-THR-02/03/06 (any other deadlock is not excused)."""
    return isinstance(error, DeadlockError) and "await acquire" in str(error)


def stageflow_focus() -> Focus:
    """Switch points in Stageflow's frames: its package directory, plus the file of every
    method the bags carry now, so that a method patched in from elsewhere (a planted bug) is
    traced where it lives."""
    sf = stageflow_module()
    classes = (sf.context.OutputBag, sf.context.OutputEntry, sf.context.ContextBag)
    methods = (vars(cls).values() for cls in classes)
    files = {m.__code__.co_filename for ms in methods for m in ms if hasattr(m, "__code__")}
    return focus_on(stageflow_path(sf), *sorted(files))


def iterating_read(input: object, outcome: Outcome) -> bool:
    """SF-THR-01: OutputBag reads that iterate its entries are not atomic across threads."""
    return isinstance(input, View) and input.what in ITERATING_VIEWS


def writer_not_yet_recorded(input: object, outcome: Outcome) -> bool:
    """SF-THR-04: ContextBag.get_writer may say None while another thread is mid-write."""
    return isinstance(input, CRead) and input.what == "get_writer" and outcome == Returned(None)


def lock_of_another_loop(input: object, outcome: Outcome) -> bool:
    """SF-THR-02/03: the write raised inside ``asyncio.Lock.acquire``, before touching the bag."""
    return isinstance(outcome, Raised) and BOUND_ELSEWHERE in str(outcome.detail)


@dataclass
class TolerantRecorder(HistoryRecorder[I, Outcome]):
    """A :class:`HistoryRecorder` that leaves the operations an excuse names pending."""

    excuses: dict[str, Excuse] = field(default_factory=dict)
    excused: Counter[str] = field(default_factory=Counter)
    # Off outside the threads' run: the read pinning the state after a batch runs alone.
    excusing: bool = False
    _inputs: dict[int, I] = field(default_factory=dict)

    def call(self, task: str, input: I) -> int:
        op_id = super().call(task, input)
        self._inputs[op_id] = input
        return op_id

    def ret(self, op_id: int, output: Outcome) -> None:
        input = self._inputs.pop(op_id)
        for finding, excuse in self.excuses.items():
            if self.excusing and excuse(input, output):
                self.excused[finding] += 1
                self._open.pop(op_id)  # no Return: the checker treats it as pending
                return
        super().ret(op_id, output)

    def clear(self) -> None:
        super().clear()
        self._inputs.clear()


def excuses_for(adopted: frozenset[str], table: dict[str, Excuse]) -> dict[str, Excuse]:
    """The excuses of ``table`` whose finding still reproduces."""
    return {finding: excuse for finding, excuse in table.items() if finding in adopted}


def describe_excused(excused: Counter[str]) -> Hashable:
    return tuple(sorted(excused.items()))
