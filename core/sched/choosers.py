"""Choosers: who decides which runnable task goes next, and whether a fault fires.

Every decision of :class:`~core.sched.scheduler.DeterministicLoop` goes through one call,
``chooser.choose(n, kind=..., keys=...)``, which returns an index in ``range(n)``. Index 0 is
always the default: the lane stock asyncio would run next (the FIFO head), or "no fault". So a
schedule is a list of small integers, mostly zeros, and a shorter list with smaller numbers is a
schedule with fewer deviations from ordinary asyncio. Every chooser appends what it returned to
``choices``; that list, fed to :class:`ReplayChooser`, replays the run exactly.

- :class:`HypothesisChooser` draws each choice from the running test's data, so Hypothesis
  shrinks the schedule together with the rest of the example (toward 0: delay bounding).
- :class:`SeededChooser` is a seeded ``random.Random``; the seed is printed with every failure.
- :class:`PCTChooser` is probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): random
  task priorities plus ``depth - 1`` priority-change points; see core/sched/SCHEDULER.md for its
  bound.
- :class:`ReplayChooser` replays an explicit list (zeros after its end).
- The exhaustive explorer in :mod:`core.sched.exhaustive` brings its own chooser.

``keys`` names the options by lane (task number, stable across runs); only PCT needs it, since
its priorities belong to tasks rather than to positions in the ready queue.

For example::

    run(main, SeededChooser(seed=7))            # a random schedule, replayable from the seed
    run(main, ReplayChooser.parse("0,1,0,2"))   # the exact schedule printed with a failure
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from math import floor
from typing import Final, Protocol

from hypothesis.strategies import DataObject

SCHEDULE: Final = "schedule"
FAULT: Final = "fault"
DEFAULT_FAULT_RATE: Final = 0.05


class Chooser(Protocol):
    """Makes every scheduling and fault decision of a controlled run.

    ``choose`` returns an index in ``range(n)`` (``n >= 2``; the loop never asks when there is
    only one option) and appends it to ``choices``. ``kind`` is :data:`SCHEDULE` (pick a
    runnable lane) or :data:`FAULT` (0 = no fault, ``i > 0`` = the ``i``-th possible fault).
    ``replay_hint`` is the Python expression that rebuilds a chooser replaying this run.
    """

    choices: list[int]

    def choose(self, n: int, kind: str = SCHEDULE, keys: Sequence[int] = ()) -> int: ...

    def replay_hint(self) -> str: ...


class ReplayDivergedError(ValueError):
    """A replayed choice is out of range: the scenario is not the one that was recorded."""


def _replay_expression(choices: Sequence[int]) -> str:
    # Trailing zeros are the default after the list ends, so drop them: shorter to read and
    # paste, and equal as a schedule.
    end = len(choices)
    while end and choices[end - 1] == 0:
        end -= 1
    return f"ReplayChooser({list(choices[:end])!r})"


class ReplayChooser:
    """Replay an explicit list of choices; after the list runs out, choose 0 (stock order).

    ``ReplayChooser([])`` is therefore the stock asyncio order. A recorded choice that is out of
    range raises :class:`ReplayDivergedError`, because silently clamping it would replay a
    different schedule than the one printed.

    For example::

        run(main, ReplayChooser([1]))   # deviate once, at the first decision, then stock order
    """

    def __init__(self, choices: Sequence[int] = ()) -> None:
        self._script = list(choices)
        self.choices: list[int] = []

    @classmethod
    def parse(cls, text: str) -> ReplayChooser:
        """Build from ``"0,1,0,2"`` or ``"[0, 1, 0, 2]"``, as printed with failures."""
        body = text.strip().strip("[]")
        return cls([int(part) for part in body.split(",") if part.strip()])

    def choose(self, n: int, kind: str = SCHEDULE, keys: Sequence[int] = ()) -> int:
        position = len(self.choices)
        choice = self._script[position] if position < len(self._script) else 0
        if not 0 <= choice < n:
            raise ReplayDivergedError(
                f"replayed choice #{position} is {choice}, but only {n} {kind} options exist "
                "here; the scenario changed or is not deterministic (real time, threads, I/O, "
                "set iteration order). Re-record the schedule against the current code."
            )
        self.choices.append(choice)
        return choice

    def replay_hint(self) -> str:
        return _replay_expression(self.choices)


class SeededChooser:
    """Uniformly random schedules from a seed; faults fire with probability ``fault_rate``.

    Without a seed one is drawn (from the OS); either way it is in :meth:`replay_hint`.
    """

    def __init__(self, seed: int | None = None, *, fault_rate: float = DEFAULT_FAULT_RATE) -> None:
        self.seed = random.SystemRandom().randrange(2**32) if seed is None else seed
        self.fault_rate = fault_rate
        self._rng = random.Random(self.seed)
        self._random = self._rng.random  # bound once: called on every step
        self.choices: list[int] = []

    def choose(self, n: int, kind: str = SCHEDULE, keys: Sequence[int] = ()) -> int:
        if kind == FAULT:
            choice = self._rng.randrange(1, n) if self._random() < self.fault_rate else 0
        else:
            # floor(random() * n) rather than randrange(n): a fifth of the cost, on every step.
            choice = floor(self._random() * n)
        self.choices.append(choice)
        return choice

    def replay_hint(self) -> str:
        return f"SeededChooser(seed={self.seed}) or {_replay_expression(self.choices)}"


class PCTChooser:
    """Probabilistic concurrency testing: always run the highest-priority runnable task.

    Each task gets a random priority when first seen (a random permutation, extended as tasks
    are spawned). ``depth - 1`` change points are drawn uniformly from the first ``steps``
    decisions; at the ``i``-th one the task about to run drops to priority ``i``, below every
    initial priority, and the highest-priority task runs instead. A bug of depth ``d``
    (``d - 1`` ordering constraints) among ``n`` tasks is found in one run with probability at
    least ``1 / (n * steps ** (d - 1))`` when ``depth >= d`` and the run makes at most ``steps``
    decisions (points with two or more runnable lanes, not all steps). ``steps`` is the
    horizon the change points are drawn from, so set it near the run's decision count: a
    larger one wastes change points past the end of the run.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        depth: int = 3,
        steps: int = 200,
        fault_rate: float = DEFAULT_FAULT_RATE,
    ) -> None:
        if depth < 1 or steps < 1:
            raise ValueError(f"PCT needs depth >= 1 and steps >= 1, got {depth=} {steps=}")
        self.seed = random.SystemRandom().randrange(2**32) if seed is None else seed
        self.depth, self.steps, self.fault_rate = depth, steps, fault_rate
        self._rng = random.Random(self.seed)
        points = self._rng.sample(range(1, steps + 1), min(depth - 1, steps))
        self._change_at = {step: i + 1 for i, step in enumerate(sorted(points))}
        self._priority: dict[int, float] = {}
        self._decisions = 0
        self.choices: list[int] = []

    def choose(self, n: int, kind: str = SCHEDULE, keys: Sequence[int] = ()) -> int:
        if kind == FAULT:
            choice = self._rng.randrange(1, n) if self._rng.random() < self.fault_rate else 0
        else:
            choice = self._pick(list(keys) if len(keys) == n else list(range(n)))
        self.choices.append(choice)
        return choice

    def _pick(self, lanes: list[int]) -> int:
        for lane in lanes:
            if lane not in self._priority:
                # Initial priorities live above `depth`, so every lowered one sorts below them.
                self._priority[lane] = self.depth + self._rng.random()
        self._decisions += 1
        best = max(range(len(lanes)), key=lambda i: self._priority[lanes[i]])
        lowered = self._change_at.get(self._decisions)
        if lowered is not None:
            self._priority[lanes[best]] = lowered
            best = max(range(len(lanes)), key=lambda i: self._priority[lanes[i]])
        return best

    def replay_hint(self) -> str:
        return (
            f"PCTChooser(seed={self.seed}, depth={self.depth}, steps={self.steps}) "
            f"or {_replay_expression(self.choices)}"
        )


class HypothesisChooser:
    """Draw every choice from the running Hypothesis test, so schedules shrink with the example.

    ``data`` is the object ``st.data()`` gives (usable in a ``RuleBasedStateMachine`` rule).
    Choices are drawn from its underlying choice sequence rather than with ``data.draw`` so that
    the falsifying example does not list hundreds of ``Draw n: 0`` lines; the schedule is printed
    once, by the loop, as a swimlane and a ``ReplayChooser`` expression. A fault is a biased coin
    (probability ``fault_rate``, shrinking to "no fault") and then the index of the fault.

    For example::

        @rule(data=st.data())
        def increment_twice(self, data):
            run(self.two_increments, HypothesisChooser(data))
    """

    def __init__(self, data: DataObject, *, fault_rate: float = DEFAULT_FAULT_RATE) -> None:
        # `conjecture_data` is what `st.data()` wraps; Hypothesis calls DataObject semi-stable.
        self._data = data.conjecture_data
        self.fault_rate = fault_rate
        self.choices: list[int] = []

    def choose(self, n: int, kind: str = SCHEDULE, keys: Sequence[int] = ()) -> int:
        if kind == FAULT:
            fire = self._data.draw_boolean(self.fault_rate)
            choice = self._data.draw_integer(1, n - 1) if fire else 0
        else:
            choice = self._data.draw_integer(0, n - 1)
        self.choices.append(choice)
        return choice

    def replay_hint(self) -> str:
        return _replay_expression(self.choices)
