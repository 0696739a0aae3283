"""What the thread scheduler needs besides the baton: the focus filter and scheduler-aware locks.

*Focus* decides which frames have switch points: :func:`focus_on` takes directories and files
(the code under test and the test's own module) and matches a code object by its file name,
once per file. Everything outside runs atomically, which is an under-approximation the report
states: a race inside the standard library (say, between two bytecodes of ``asyncio.Lock``)
is not explored.

A :class:`ControlledLock` stands in for ``threading.Lock`` (or, ``reentrant=True``, ``RLock``)
in the object under test, e.g. ``obj._lock = ControlledLock()``. Acquiring is a switch point;
a lock held by another controlled thread makes the acquirer *not runnable* until the holder
releases it, so the coordinator never picks a thread that would block for real, and a cycle of
such waits is a :class:`~core.sched.loop_reports.DeadlockError` instead of a hang. A
non-reentrant lock acquired twice by one thread deadlocks too, as a real one would. Outside a
controlled thread (setup and checks, on the coordinator's thread) it is a plain lock that
refuses to wait: nobody could release it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import CodeType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stageflow_verify.core.sched.threads import ThreadScheduler

Focus = Callable[[CodeType], bool]
_current = threading.local()  # .worker: the Worker of this controlled thread, if it is one


def focus_on(*places: str) -> Focus:
    """Frames whose file lies under one of ``places`` (a directory or a ``.py`` file)."""
    prefixes = tuple(
        p if p.endswith(".py") else os.path.join(os.path.abspath(p), "")
        for p in (os.path.abspath(place) for place in places)
    )
    verdicts: dict[str, bool] = {}

    def focus(code: CodeType) -> bool:
        name = code.co_filename
        verdict = verdicts.get(name)
        if verdict is None:
            verdict = verdicts[name] = os.path.abspath(name).startswith(prefixes)
        return verdict

    return focus


class Worker:
    """A controlled thread's identity, as its locks see it."""

    def __init__(self, scheduler: ThreadScheduler, index: int) -> None:
        self.scheduler, self.index = scheduler, index

    def enter(self) -> None:
        _current.worker = self

    @staticmethod
    def current() -> Worker | None:
        worker: Worker | None = getattr(_current, "worker", None)
        return worker


class ControlledLock:
    """A ``threading.Lock`` (``RLock`` if ``reentrant``) whose waits the thread scheduler sees."""

    def __init__(self, *, reentrant: bool = False, name: str = "lock") -> None:
        self.reentrant, self.name = reentrant, name
        self._owner: Worker | None = None
        self._outside = False  # held by the coordinator's thread (setup code)
        self._depth = 0

    def free_for(self, worker: Worker) -> bool:
        if self._outside:
            return False
        return self._owner is None or (self.reentrant and self._owner is worker)

    def locked(self) -> bool:
        return self._owner is not None or self._outside

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        worker = Worker.current()
        if worker is None:
            return self._acquire_outside(blocking)
        where = f"acquire {self.name}"
        worker.scheduler.park(worker.index, where)  # acquiring is a switch point
        while not self.free_for(worker):
            if not blocking or timeout >= 0:
                # A timed wait is modelled as giving up at once: the holder may need longer.
                return False
            worker.scheduler.block_on(worker.index, self, f"waits for {self.name}")
        self._owner = worker
        self._depth += 1
        return True

    def release(self) -> None:
        worker = Worker.current()
        if worker is None and self._outside:
            self._outside = False
            return
        if self._owner is None or self._owner is not worker:
            raise RuntimeError(f"release of {self.name}, which this thread does not hold")
        self._depth -= 1
        if self._depth == 0:
            self._owner = None

    def _acquire_outside(self, blocking: bool) -> bool:
        if self.locked():
            if blocking:
                raise RuntimeError(
                    f"{self.name} is held and the caller is not a controlled thread: waiting "
                    "would hang, because no controlled thread runs until the caller returns"
                )
            return False
        self._outside = True
        return True

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
