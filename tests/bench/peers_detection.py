"""The PyPI peers on the detection scenarios; run by bench_detection in ``.venv-bench``.

``python -m tests.bench.peers_detection SEEDS BUDGET`` prints one JSON line:
``{scenario: {technique: [[runs_or_null, seconds], ...one per seed]}}``. ``runs`` counts the
schedules the tool executed up to and including the first failing one (null: none failed within
``BUDGET``). Shrinking, replay databases and reproduction re-runs are turned off, so every tool
stops at its first detection, as ours do in bench_detection.

Only the standard library, stageflow and the peers are imported here: this runs in the bench
venv, which does not have Hypothesis or this suite's dependencies.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.bench.scenarios import SCENARIOS, Scenario, as_main

Measure = tuple[int | None, float]


def detangle_auto(scenario: Scenario, seed: int, budget: int) -> Measure:
    detangle: Any = importlib.import_module("detangle")  # only in .venv-bench: untyped here

    start = time.perf_counter()
    try:
        detangle.explore(as_main(scenario), runs=budget, seed=seed, shrink=False, database=False)
    except detangle.BugFound as found:
        return found.report.runs, time.perf_counter() - start
    return None, time.perf_counter() - start


def _frontrun(scenario: Scenario, **options: Any) -> Measure:
    frontrun: Any = importlib.import_module("frontrun")

    async def explore() -> Any:
        return await frontrun.explore(
            setup=scenario.setup,
            workers=list(scenario.workers),
            invariant=scenario.invariant,
            **options,
        )

    start = time.perf_counter()
    result = asyncio.run(explore())
    seconds = time.perf_counter() - start
    return (None if result.property_holds else result.num_explored), seconds


def frontrun_random(scenario: Scenario, seed: int, budget: int) -> Measure:
    return _frontrun(scenario, strategy="random", seed=seed, max_attempts=budget)


def frontrun_dpor(scenario: Scenario, seed: int, budget: int) -> Measure:
    # Systematic: the seed changes nothing. No reproduction re-runs after the first failure.
    return _frontrun(scenario, strategy="dpor", reproduce_on_failure=0, max_executions=budget)


TECHNIQUES: dict[str, Callable[[Scenario, int, int], Measure]] = {
    "detangle (auto)": detangle_auto,
    "frontrun (random)": frontrun_random,
    "frontrun (dpor)": frontrun_dpor,
}


def main(argv: list[str]) -> int:
    seeds, budget = int(argv[0]), int(argv[1])
    logging.disable(logging.CRITICAL)
    results: dict[str, dict[str, list[Measure]]] = {}
    for scenario in SCENARIOS:
        per: dict[str, list[Measure]] = {}
        for name, technique in TECHNIQUES.items():
            try:
                per[name] = [technique(scenario, seed, budget) for seed in range(seeds)]
            except Exception as exc:  # a peer that cannot drive the scenario says so
                print(f"{name} on {scenario.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                per[name] = []
        results[scenario.name] = per
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
