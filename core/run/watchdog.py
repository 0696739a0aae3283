"""A wall-clock watchdog for Stageflow code that must run on a stock event loop.

The machines run Stageflow on the deterministic loop, whose step budget turns a spin into a
LivelockError. Finding reproducers are plain Stageflow programs a maintainer can paste, so they
call a stock ``asyncio.run``: a Stageflow that spins (``while True: await asyncio.sleep(0)``, or
``while True: pass``) would hang ``make verify`` there with no message. :func:`watchdog` bounds
such a call by wall time and ends it with :class:`StageflowStuckError`, naming what was running
and the line it was stuck on, so verify reports a row instead of hanging.

How: ``SIGALRM`` runs its handler in the main thread between two bytecodes, wherever Python is,
so even a loop with no await is interrupted. The handler raises :class:`_Expired`, a
``BaseException``: Stageflow turns a stage's ``Exception`` into a failed output, and the spin
would go on after it. The alarm repeats every second until the ``with`` block is left, in case
something swallows even that. Outside the block the expiry becomes an ordinary
:class:`StageflowStuckError`, which verify reports like any other failure.

Off the main thread signals cannot be used; there the block runs unguarded (verify and its
xdist workers run checks on their main thread).

For example::

    with watchdog(30, "reproducer of SF-RUN-04"):
        finding.reproduce(sf)
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Wall-clock seconds a finding's reproducer may take: they finish in milliseconds, so this only
# ever fires on a hang, and is generous for a loaded 2-core machine.
REPRODUCER_SECONDS = 30.0
_REPEAT_SECONDS = 1.0


class StageflowStuckError(Exception):
    """Stageflow code ran past its wall-clock budget (a spin or a hang on a stock loop)."""


class _Expired(BaseException):
    pass


@contextmanager
def watchdog(seconds: float, what: str) -> Iterator[None]:
    """Run the block for at most ``seconds`` of wall time, else raise StageflowStuckError."""
    active = signal.getitimer(signal.ITIMER_REAL)[0] > 0
    if threading.current_thread() is not threading.main_thread() or active:
        yield  # no signals off the main thread; an enclosing watchdog already bounds the block
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else "an unknown line"
        raise _Expired(f"{what} ran past {seconds:g} s of wall time; it was at {where}")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT_SECONDS)
    try:
        yield
    except _Expired as exc:
        raise StageflowStuckError(str(exc)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
