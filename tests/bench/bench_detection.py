"""Detection power: schedules and seconds until each technique first sees each race.

For every scenario of :mod:`tests.bench.scenarios` and every technique, ``SEEDS`` independent
searches run until the first failing schedule (or ``BUDGET`` schedules); the table shows the
median over seeds of the schedules run and of the seconds spent, how many seeds detected, and
the median seconds as a ratio to our Hypothesis chooser. Undetected seeds count as the whole
budget, so a median marked ``>`` is a lower bound.

Techniques:

- ours: :class:`~core.sched.choosers.HypothesisChooser` inside ``@given`` (generate phase only, no
  shrinking), :class:`~core.sched.choosers.PCTChooser` (depth 2, 16 decisions: one change point, and
  about as many decisions as the scenarios make), :class:`~core.sched.choosers.SeededChooser`, and
  :func:`~core.sched.exhaustive.explore` with iterative preemption bounding (bound 0, 1, 2, ... as
  CHESS does; systematic, so every seed gives the same count).
- stock asyncio with repetition, the CORE-003 report's approach: ``asyncio.gather`` on a fresh
  stock loop, ``BUDGET`` times.
- peers from PyPI, run from ``.venv-bench`` (``make bench`` creates it): detangle's default
  portfolio, frontrun's random strategy and frontrun's DPOR. Without that venv the table says so
  in one line instead of inventing numbers.

All techniques run in one ``make bench`` run on the same machine; nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from stageflow_verify.core.sched.choosers import (
    Chooser,
    HypothesisChooser,
    PCTChooser,
    SeededChooser,
)
from stageflow_verify.core.sched.exhaustive import explore
from stageflow_verify.core.sched.scheduler import run
from tests.bench.scenarios import SCENARIOS, Scenario, as_main

SEEDS, BUDGET = 10, 1_000
PEER_PYTHON = Path(".venv-bench/bin/python")
Measure = tuple[int | None, float]  # schedules up to the first failure (None: none), seconds


def _first_failure(attempt: Callable[[int], None]) -> Measure:
    start = time.perf_counter()
    for i in range(BUDGET):
        try:
            attempt(i)
        except AssertionError:
            return i + 1, time.perf_counter() - start
    return None, time.perf_counter() - start


def stock_repetition(scenario: Scenario, seed: int) -> Measure:
    main = as_main(scenario)

    def attempt(_: int) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    return _first_failure(attempt)


def _chooser_search(make: Callable[[int], Chooser]) -> Callable[[Scenario, int], Measure]:
    def search(scenario: Scenario, seed: int) -> Measure:
        main = as_main(scenario)
        return _first_failure(lambda i: run(main, make(seed * 100_003 + i)).value)

    return search


def hypothesis_chooser(scenario: Scenario, seed: int) -> Measure:
    main = as_main(scenario)
    runs, found = 0, None
    start = time.perf_counter()
    elapsed = 0.0

    @settings(
        max_examples=BUDGET,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # stop at the first failure: no shrinking, no explain
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis_seed(seed)
    @given(st.data())
    def search(data: st.DataObject) -> None:
        nonlocal runs, found, elapsed
        runs += 1
        try:
            run(main, HypothesisChooser(data, fault_rate=0.0))
        except AssertionError:
            if found is None:
                found, elapsed = runs, time.perf_counter() - start
            raise

    with contextlib.suppress(AssertionError):
        search()
    return found, (elapsed if found else time.perf_counter() - start)


def exhaustive_bounded(scenario: Scenario, seed: int) -> Measure:
    main = as_main(scenario)
    start, explored = time.perf_counter(), 0
    for bound in range(0, 6):
        report = explore(
            main, preemption_bound=bound, max_schedules=BUDGET - explored, stop_on_violation=True
        )
        explored += report.schedules_explored
        if report.violations:
            return explored, time.perf_counter() - start
        if explored >= BUDGET:
            break
    return None, time.perf_counter() - start


OURS: dict[str, Callable[[Scenario, int], Measure]] = {
    "ours: Hypothesis chooser": hypothesis_chooser,
    "ours: PCT (d=2, k=16)": _chooser_search(lambda s: PCTChooser(s, depth=2, steps=16)),
    "ours: seeded random": _chooser_search(lambda s: SeededChooser(s, fault_rate=0.0)),
    "ours: exhaustive (PB 0,1,2..)": exhaustive_bounded,
    "stock asyncio x repetition": stock_repetition,
}


def _peers() -> tuple[dict[str, dict[str, list[Measure]]], str]:
    if not PEER_PYTHON.exists():
        return {}, "peers: .venv-bench missing (run `make bench`): frontrun, detangle not measured"
    argv = [str(PEER_PYTHON), "-m", "tests.bench.peers_detection", str(SEEDS), str(BUDGET)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3_000)
    if done.returncode != 0 or not done.stdout.strip():
        return {}, f"peers: failed to run ({done.stderr.strip()[-300:]}); not measured"
    note = "; ".join(line for line in done.stderr.splitlines() if " on " in line)
    measured: dict[str, dict[str, list[Measure]]] = json.loads(done.stdout.splitlines()[-1])
    return measured, (f"peers that could not drive a scenario: {note}" if note else "")


def _median(measures: list[Measure]) -> tuple[str, float, str, bool]:
    """Median schedules (text), median seconds, found/seeds, and whether the median is a lower
    bound (at least half the seeds ran out of budget; their whole budget is counted)."""
    runs = [r if r is not None else BUDGET for r, _ in measures]
    found = sum(r is not None for r, _ in measures)
    censored = found <= len(measures) // 2
    text = f"{'>' if censored else ''}{statistics.median(runs):g}"
    return text, statistics.median(s for _, s in measures), f"{found}/{len(measures)}", censored


def main() -> None:
    logging.disable(logging.CRITICAL)
    peers, note = _peers()
    print(f"detection: median of {SEEDS} seeds, budget {BUDGET} schedules per seed and technique")
    header = f"  {'scenario':<18} {'technique':<30} {'found':>5} {'schedules':>9} {'seconds':>8}"
    print(header + f" {'x Hypothesis':>12}")
    for scenario in SCENARIOS:
        rows: list[tuple[str, tuple[str, float, str, bool]]] = []
        for name, technique in OURS.items():
            rows.append((name, _median([technique(scenario, s) for s in range(SEEDS)])))
        for name, measures in peers.get(scenario.name, {}).items():
            if measures:
                rows.append((f"peer: {name}", _median([(r, s) for r, s in measures])))
        reference = rows[0][1][1] or 1e-9
        for name, (text, seconds, found, censored) in rows:
            ratio = f"{'>' if censored else ''}{seconds / reference:.2g}x"
            line = f"  {scenario.name:<18} {name:<30} {found:>5} {text:>9} {seconds:>8.3f}"
            print(f"{line} {ratio:>12}")
    if note:
        print(note)
    print("  (found = seeds that detected; '>' = median seed did not detect within the budget)")
