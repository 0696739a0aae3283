"""How make nightly keeps to its time budget: ``NIGHTLY_MINUTES`` plus at most 10%.

A nightly ends within ``max(budget * 1.1, 1 minute)`` of make starting its recipe, shrinking,
stopping and reports included (a run under a minute gets one: pytest alone takes seconds to
start). Working back from that end (:func:`run_ends`): the driver keeps :data:`STOP_SECONDS`
for stopping pytest and writing the reports, which makes the *hard stop*; the shards stop
:data:`DRAIN_SECONDS` before it (or at the budget, if sooner), which is their *deadline*.

Between them, three things keep the shards inside: each Hypothesis run tries only the examples
that fit its slice at the speed measured so far (:func:`next_chunk`; a check's first run tries
:data:`FIRST_CHUNK`), a shard stops before a run it would overrun, and every shrink ends
:data:`SHRINK_MARGIN` seconds before the hard stop (:func:`bound_shrinking`). A shard still
running at the hard stop (a run far slower than those before it) is stopped with pytest; what
it recorded before stands, and a check none of whose shards finished a run is ERROR.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from hypothesis.internal.conjecture import engine
from hypothesis.internal.conjecture.engine import ConjectureRunner

ENV_HARD_STOP = "NIGHTLY_HARD_STOP"  # epoch seconds at which the driver stops pytest
STARTED_ENV = "NIGHTLY_STARTED"  # epoch seconds at which make started the recipe
FIRST_CHUNK = 5  # examples of a check's first run: it measures the check's speed
STOP_SECONDS = 20.0  # kept after the hard stop: stopping pytest, the findings page, the reports
DRAIN_SECONDS = 5.0  # between the shards' deadline and the hard stop, for runs to end by themselves
STOP_WAIT = 3.0  # seconds pytest gets to end its session after SIGINT, before SIGKILL
MIN_RUN_SECONDS = 60.0  # what a run of any budget may take: pytest alone takes seconds to start


def run_ends(started: float, budget: float) -> tuple[float, float]:
    """The shards' deadline and the hard stop (epoch seconds) of a run of ``budget`` seconds.

    The promise is that the whole run, shrinking and reports included, ends within the budget
    plus 10% (and, for budgets under a minute, within a minute: pytest alone takes seconds to
    start). Working back from that end: the reports get :data:`STOP_SECONDS` after the hard
    stop, where whatever still runs is stopped; the shards stop :data:`DRAIN_SECONDS` before it
    (or at the budget, if that is sooner), and shrinks end before it.

    For example::

        >>> run_ends(0.0, 120.0)
        (107.0, 112.0)
    """
    end = started + max(budget * 1.1, MIN_RUN_SECONDS)
    hard_stop = end - STOP_SECONDS
    return min(started + budget, hard_stop - DRAIN_SECONDS), hard_stop


def started_at(environ: Mapping[str, str], imported: float) -> float:
    """When the run began: make's recipe start if it says so (and it is recent), else import."""
    try:
        started = float(environ.get(STARTED_ENV, ""))
    except ValueError:
        return imported
    # A value left in a shell from an earlier run is not this run's start.
    return started if 0 <= imported - started < 60 else imported


def next_chunk(examples: int, seconds: float, seconds_left: float, chunk: int) -> int:
    """How many examples the next run of a check may try: what fits in ``seconds_left`` at the
    speed its shards have measured so far (``examples`` in ``seconds``), at most ``chunk``;
    :data:`FIRST_CHUNK` before anything is measured.

    A fixed chunk of a slow machine (seconds per example) overran the budget by minutes.

    For example::

        >>> next_chunk(10, 20.0, 30.0, 100)  # 2 s per example, 30 s left
        15
    """
    if not examples:
        return min(chunk, FIRST_CHUNK)
    return max(1, min(chunk, int(seconds_left / (seconds / examples))))


SHRINK_MARGIN = 5.0  # seconds left, after a shrink ends, to report it before the hard stop
_shrink_bounded = False


def bound_shrinking() -> None:
    """End every shrink :data:`SHRINK_MARGIN` seconds before the driver's hard stop (idempotent).

    Hypothesis bounds a shrink by its own clock, ``MAX_SHRINKING_SECONDS`` (five minutes) from
    the moment shrinking starts, and reports the best example found so far when it runs out. A
    nightly of a few minutes cannot wait five: the driver would stop pytest mid-shrink and the
    failure would be lost. So each shrink is given the time left until the hard stop, set
    just as it starts (the constant is read there). It is Hypothesis's internal constant, the
    only bound it offers; if a release renames it, this does nothing and the hard stop remains.
    """
    global _shrink_bounded
    hard_stop = os.environ.get(ENV_HARD_STOP)
    if _shrink_bounded or hard_stop is None:
        return
    original = ConjectureRunner.shrink_interesting_test_cases

    def shrink_until_the_hard_stop(runner: ConjectureRunner) -> None:
        left = float(hard_stop) - time.time() - SHRINK_MARGIN
        engine.MAX_SHRINKING_SECONDS = max(1, int(left))
        original(runner)

    ConjectureRunner.shrink_interesting_test_cases = shrink_until_the_hard_stop  # type: ignore[method-assign,assignment]
    _shrink_bounded = True
