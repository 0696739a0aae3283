"""What a controlled run did, step by step, and the swimlane picture of it.

:class:`~core.sched.scheduler.DeterministicLoop` appends one :class:`Step` per callback it runs: the
lane (the task that resumed, or the task that scheduled a plain callback), the virtual time, the
choice the chooser made when more than one lane could run, and, in a described run (``detail``),
where the task resumed from and where it suspended next; a terse run leaves those two empty.
Injected faults are steps too, so the picture shows them where they happened. A run keeps its
steps in a :class:`StepLog` (columns), which reads back as ``Step`` tuples.

Two runs under the same choices produce equal traces (``==`` compares every field); the
determinism tests rely on that, so nothing here may depend on ids, addresses or wall time.

:func:`render_swimlane` draws one column per lane and one row per step, in the spirit of
porcupine's visualisation but in plain text, so that it can ride along with an exception as a
note below Hypothesis's falsifying example.

For example::

    step  pick  time  T0 main                      T1 increment
    0     -     0     start -> main:12 await sleep
    1     1/2   0     main:12 -> main:14 await gather
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, overload


class Step(NamedTuple):
    """One callback run by the controlled loop, or one injected fault.

    ``choice`` is the index the chooser picked among ``options`` runnable lanes, or None when
    only one lane could run (no choice was made, none was recorded). ``kind`` is ``"task"`` for a
    task step, ``"callback"`` for a plain callback and ``"fault"`` for an injected fault.
    """

    number: int
    lane: int
    time: float
    choice: int | None
    options: int
    kind: str
    resumed: str
    outcome: str


KINDS = ("callback", "task", "fault")  # Step.kind, by the code StepLog stores
CALLBACK_STEP, TASK_STEP, FAULT_STEP = range(3)
NO_CHOICE = -1  # the choice code of a step where only one lane could run


class StepLog(Sequence[Step]):
    """The steps of one run, stored as columns: a list of :class:`Step` views on demand.

    A run records one step per callback, thousands per example; a tuple per step would keep
    thousands of live container objects, and every surviving container counts toward
    Python's next garbage collection (which then rescans the live tasks too). Lists of
    numbers add no such objects (numbers are not tracked), and the text of a step is kept
    only where there is some. (``array`` would be smaller, but converts every item through
    argument parsing: slower per step.) Indexing and iteration give ordinary ``Step``
    tuples, so readers never see this.
    """

    __slots__ = ("_codes", "_outcome", "_resumed", "_times")

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        # Four codes per step: lane, choice (-1 for none), options, kind (index in KINDS).
        self._codes: list[int] = []
        self._times: list[float] = []
        self._resumed: dict[int, str] = {}
        self._outcome: dict[int, str] = {}
        for step in steps:
            self.add(
                step.lane,
                step.time,
                step.choice,
                step.options,
                KINDS.index(step.kind),
                step.resumed,
                step.outcome,
            )

    def add(
        self,
        lane: int,
        time: float,
        choice: int | None,
        options: int,
        kind: int,
        resumed: str = "",
        outcome: str = "",
    ) -> None:
        """Append one step (the loop's hot path appends to the columns directly)."""
        number = len(self._times)
        self._codes.extend((lane, NO_CHOICE if choice is None else choice, options, kind))
        self._times.append(time)
        if resumed:
            self._resumed[number] = resumed
        if outcome:
            self._outcome[number] = outcome

    def columns(self) -> tuple[list[int], list[float]]:
        """The code and time columns, for the loop to append to without a call per step."""
        return self._codes, self._times

    def __len__(self) -> int:
        return len(self._times)

    @overload
    def __getitem__(self, index: int) -> Step: ...
    @overload
    def __getitem__(self, index: slice) -> list[Step]: ...
    def __getitem__(self, index: int | slice) -> Step | list[Step]:
        if isinstance(index, slice):
            return [self._step(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("step number out of range")
        return self._step(index)

    def _step(self, number: int) -> Step:
        lane, choice, options, kind = self._codes[4 * number : 4 * number + 4]
        return Step(
            number,
            lane,
            self._times[number],
            None if choice == NO_CHOICE else choice,
            options,
            KINDS[kind],
            self._resumed.get(number, ""),
            self._outcome.get(number, ""),
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StepLog):
            return (self._codes, self._times, self._resumed, self._outcome) == (
                other._codes,
                other._times,
                other._resumed,
                other._outcome,
            )
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StepLog({list(self)!r})"


@dataclass
class Trace:
    """Every step of one run, with the lane names (``T0 main``, ``T1 worker``, ...)."""

    lanes: dict[int, str] = field(default_factory=dict)
    steps: Sequence[Step] = field(default_factory=StepLog)

    def choices(self) -> list[int]:
        """The choices made, in order: the input of :class:`~core.sched.choosers.ReplayChooser`."""
        return [s.choice for s in self.steps if s.choice is not None]


CONTEXT_STEPS = 5  # steps shown either side of each step that matters


def steps_that_matter(steps: Sequence[Step], most: int) -> list[int]:
    """The indices of ``steps`` a failure report shows, in order, at most ``most`` of them.

    Hypothesis shrinks every choice toward 0, the lane stock asyncio would run next, so what is
    left of a shrunk counterexample is its other picks and its faults (a fault is a pick too,
    never 0): those steps, :data:`CONTEXT_STEPS` around each, and the last few, where the failure
    surfaced or the run ended before the check that failed. A run with no such pick failed in
    stock order itself and is shown whole (its last ``most``).

    For example, one pick of the second lane at step 40 of 100::

        >>> steps = [Step(n, 0, 0.0, 1 if n == 40 else None, 2, "task", "", "") for n in range(100)]
        >>> shown = steps_that_matter(steps, 120)
        >>> shown[:3], shown[10:13], shown[-1]
        ([35, 36, 37], [45, 94, 95], 99)
    """
    count = len(steps)
    picks = [n for n, step in enumerate(steps) if step.choice]  # neither None nor stock order's 0
    if not picks:
        return list(range(max(0, count - most), count))
    kept: set[int] = set()
    for n in (*picks, count - 1):
        kept.update(range(max(0, n - CONTEXT_STEPS), min(count, n + CONTEXT_STEPS + 1)))
    return sorted(kept)[-most:]


def render_swimlane(trace: Trace, *, last: int = 120, width: int = 40) -> str:
    """Draw the trace: one column per lane, one row per step, for at most ``last`` steps: those
    of :func:`steps_that_matter` (``last`` 0: every step), a line saying how many were left out
    at each gap.

    A ``pick`` of ``1/3`` means the chooser ran the second of three runnable lanes; ``-`` means
    only one lane could run. A cell wider than ``width`` wraps onto continuation lines in its own
    column (nothing is cut: the end of an operation is often the part that matters).

    For example::

        >>> t = Trace({0: "T0 main"}, [Step(0, 0, 0.0, None, 1, "task", "start", "returned 1")])
        >>> print(render_swimlane(t))
        step  pick  time  T0 main
        0     -     0     start -> returned 1
    """
    kept = steps_that_matter(trace.steps, last) if last > 0 else range(len(trace.steps))
    steps = [trace.steps[n] for n in kept]
    used = sorted({s.lane for s in steps}, key=lambda lane: (lane < 0, lane))
    cells = [(s, _cell(s)) for s in steps]
    widths = {
        lane: max(
            [len(_lane_name(trace, lane))]
            + [min(len(c), width) for s, c in cells if s.lane == lane]
        )
        for lane in used
    }
    head = ["step", "pick", "time"]
    rows = [[str(s.number), _pick(s), f"{s.time:g}"] for s, _ in cells]
    fixed = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    lines = []
    if kept and kept[0] > 0:
        lines.append(f"... {kept[0]} earlier steps not shown")
    header = [h.ljust(w) for h, w in zip(head, fixed, strict=True)]
    header += [_lane_name(trace, lane).ljust(widths[lane]) for lane in used]
    lines.append("  ".join(header).rstrip())
    for shown, ((step, cell), row) in enumerate(zip(cells, rows, strict=True)):
        skipped = kept[shown] - kept[shown - 1] - 1 if shown else 0
        if skipped:
            lines.append(f"... {skipped} steps not shown")
        pieces = textwrap.wrap(cell, width, break_on_hyphens=False) or [""]
        for n, piece in enumerate(pieces):
            fixed_cells = row if n == 0 else ["", "", ""]
            parts = [v.ljust(w) for v, w in zip(fixed_cells, fixed, strict=True)]
            for lane in used:
                parts.append((piece if lane == step.lane else "").ljust(widths[lane]))
            lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _lane_name(trace: Trace, lane: int) -> str:
    return trace.lanes.get(lane, "loop" if lane < 0 else f"T{lane}")


def _pick(step: Step) -> str:
    return "-" if step.choice is None else f"{step.choice}/{step.options}"


def _cell(step: Step) -> str:
    if step.kind == "fault":
        text = f"!! {step.outcome}"
    elif step.kind == "callback":
        text = f"cb {step.resumed}"
    elif step.resumed == "start":
        text = f"start -> {step.outcome}"
    else:
        # `resumed` repeats the lane's previous outcome, one row up; show what is new.
        text = step.outcome
    return text
