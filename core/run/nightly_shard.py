"""The pytest items of ``make nightly``: every check, cut into shards that workers share.

One ``@given`` law or one machine is one Hypothesis run, and pytest-xdist can only hand whole
items to workers; a single item per check would pin each check to one core. So
:mod:`core.run.nightly` collects this module with every check parametrized into ``NIGHTLY_SHARDS``
items (shard-major, so that if time runs short every check has had its first shards), and each
item loops: run the check once under the nightly profile with a fresh random seed, record what it
did, and go again until its time slice ends. The slice is recomputed when an item starts, from
the time left and the items not yet finished (counted in the shared progress directory), so
items that end early (N/A, a fast failure) leave their time to the rest.

Each iteration is one Hypothesis run of at most ``NIGHTLY_CHUNK`` examples: @given laws take
their settings when they are decorated, so the chunk is set on the loaded profile before any
check module is imported, and a slice can overrun by at most one chunk. Every run replays the
example database first, so a failure saved by any earlier run (or by another shard, or another
machine through ``HYPOTHESIS_DB``) is the first thing it tries.

Progress: after every iteration a shard appends one JSON line (cumulative for that shard) to
``<reports>/nightly/progress/<check>#<shard>.jsonl``; the driver tails those files. Rule and
invariant counts, examples by outcome, seconds per phase and the database's use come from
:mod:`core.run.check_statistics`, as in verify.

Time: a check's first run tries a few examples and later runs what fits the item's slice at the
speed measured (:func:`next_chunk`); a run stops short of a slice it would overrun, and every
shrink ends before the driver's hard stop (:func:`bound_shrinking`), so the whole nightly ends
within its budget plus 10% (``core.run.nightly.run_ends``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run.check_statistics import collecting, merge_statistics
from stageflow_verify.core.run.failure_parts import (
    failure_timelines,
    hypothesis_program,
    show_one_schedule,
)
from stageflow_verify.core.run.law_asserts import rewrite_law_asserts
from stageflow_verify.core.run.nightly_budget import bound_shrinking, next_chunk
from stageflow_verify.core.run.profiles import load_selected_profile
from stageflow_verify.core.run.verdicts import classify
from stageflow_verify.core.run.verify import guarded, probe, run_captured
from stageflow_verify.core.sched import timeline
from stageflow_verify.core.sut import stageflow_module

ENV_DEADLINE = "NIGHTLY_DEADLINE"  # epoch seconds at which every shard stops
ENV_WORKERS = "NIGHTLY_WORKERS"
ENV_SHARDS = "NIGHTLY_SHARDS"
ENV_CHUNK = "NIGHTLY_CHUNK"
ENV_CHECKS = "NIGHTLY_CHECKS"  # comma-separated globs, as verify's --checks
ENV_DIR = "NIGHTLY_DIR"  # <reports>/nightly
FINISHED = ("done", "failed", "error", "n/a")  # error: the suite's fault (core.run.verdicts)


@dataclass
class ShardProgress:
    """One shard's cumulative record: the line it appends after every iteration."""

    check: str
    shard: int
    worker: str
    status: str = "running"  # running | done | failed | n/a
    iterations: int = 0
    examples: int = 0
    failures: int = 0
    seconds: float = 0.0
    rules: dict[str, int] = field(default_factory=dict)
    detail: str = ""
    program: str = ""  # a failed shard's shrunk example and schedule, as verify keeps them
    timelines: list[dict[str, Any]] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)  # core.run.check_statistics

    def append_to(self, directory: Path) -> None:
        path = directory / "progress" / f"{self.check}#{self.shard}.jsonl"
        with path.open("a") as f:
            f.write(json.dumps(asdict(self)) + "\n")


def read_progress(directory: Path) -> list[ShardProgress]:
    """The latest line of every shard's progress file (a partly written line is skipped)."""
    latest: list[ShardProgress] = []
    for path in sorted((directory / "progress").glob("*.jsonl")):
        for line in reversed(path.read_text().splitlines()):
            try:
                latest.append(ShardProgress(**json.loads(line)))
                break
            except (json.JSONDecodeError, TypeError):
                continue
    return latest


# --- the items -------------------------------------------------------------------------------


def _selected_checks() -> list[registry.Check]:
    patterns = [p.strip() for p in os.environ.get(ENV_CHECKS, "").split(",") if p.strip()]
    return [
        c
        for c in registry.discover_checks()
        if not patterns or any(fnmatch.fnmatchcase(c.name, p) for p in patterns)
    ]


_base: settings | None = None  # the selected profile, before any chunk is applied


def _load_chunked_profile() -> None:
    global _base
    load_selected_profile()
    _base = settings.default
    load_chunk(int(os.environ.get(ENV_CHUNK, "100")))


def load_chunk(examples: int) -> None:
    """Load the selected profile with ``max_examples=examples`` for the next Hypothesis run.

    Machines read the loaded profile when they run; a machine run without settings of its own
    takes ``TestCase.settings``, which Hypothesis builds from the loaded profile once per class
    and caches, so the cache is dropped to make it follow. (``@given`` laws keep the chunk they
    were decorated with: they are fast, and a chunk of them overruns by a second or so.)
    """
    settings.register_profile(
        "nightly-chunk", parent=_base or settings.default, max_examples=examples
    )
    settings.load_profile("nightly-chunk")
    RuleBasedStateMachine._to_test_case.cache_clear()


# Only when collected by core.run.nightly: importing this module elsewhere (a test of the shard
# loop) must not change the loaded profile. The chunk is set before discovery imports the checks.
CHECKS: list[registry.Check] = []
if ENV_DEADLINE in os.environ:
    rewrite_law_asserts()  # law failures name the clause that failed, as in verify
    _load_chunked_profile()
    CHECKS = _selected_checks()
SHARDS = int(os.environ.get(ENV_SHARDS, "1"))
ITEMS = [(check, shard) for shard in range(SHARDS) for check in CHECKS]


def time_slice(directory: Path, now: float) -> float:
    """Seconds this item may use: its share of the workers' remaining time."""
    deadline = float(os.environ[ENV_DEADLINE])
    workers = int(os.environ.get(ENV_WORKERS, "1"))
    finished = sum(p.status in FINISHED for p in read_progress(directory))
    remaining_items = max(1, len(ITEMS) - finished)
    return max(0.0, deadline - now) * min(workers, remaining_items) / remaining_items


@pytest.mark.parametrize(("check", "shard"), ITEMS, ids=[f"{c.name}#{s}" for c, s in ITEMS] or None)
def test_shard(check: registry.Check, shard: int) -> None:
    directory = Path(os.environ[ENV_DIR])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    progress = ShardProgress(check.name, shard, worker)
    # verify's probe: bounded by the watchdog, and a probe that raises (or hangs) is ERROR.
    not_run = probe(check.name, None, check.applies, stageflow_module())
    if not_run is not None and not_run.status == "ERROR":
        progress.status, progress.detail = "error", not_run.detail
        progress.append_to(directory)
        pytest.fail(not_run.detail, pytrace=False)
    if not_run is not None:
        progress.status, progress.detail = "n/a", not_run.detail
        progress.append_to(directory)
        pytest.skip(not_run.detail)
    start = time.time()
    if start >= float(os.environ[ENV_DEADLINE]) and any(
        p.check == check.name and p.iterations for p in read_progress(directory)
    ):
        # Past the budget, only a check no shard has run yet gets its one iteration.
        progress.status = "done"
        progress.append_to(directory)
        return
    end = start + time_slice(directory, start)
    chunk = int(os.environ.get(ENV_CHUNK, "100"))
    rules: Counter[str] = Counter()
    while True:  # at least one iteration: a shard that starts is worth one Hypothesis run
        bound_shrinking()
        measured = [p for p in read_progress(directory) if p.check == check.name]
        examples, seconds = sum(p.examples for p in measured), sum(p.seconds for p in measured)
        load_chunk(next_chunk(examples, seconds, end - time.time(), chunk))
        registry.reset_example_count()
        timeline.forget()
        began = time.perf_counter()
        with collecting() as collected:
            exc, output = run_captured(guarded(check))
        progress.seconds += time.perf_counter() - began
        progress.iterations += 1
        progress.examples += registry.example_count()
        rules.update(collected.rules)
        progress.rules = dict(rules)
        progress.statistics = merge_statistics([progress.statistics, collected.to_json()])
        if exc is not None:
            show_one_schedule(exc)
            failed = classify(exc).status == "NEW"
            progress.status = "failed" if failed else "error"
            progress.failures += 1
            progress.detail = failure_text(check.name, shard, exc, output)
            progress.program = hypothesis_program(exc, output)
            progress.timelines = list(failure_timelines(exc))
            progress.append_to(directory)
            pytest.fail(progress.detail, pytrace=False)
        # Another iteration like the last would end past the slice: stop now rather than
        # overrun it (a slice's end is a budget, not a starting line).
        if time.time() + progress.seconds / progress.iterations >= end:
            break
        progress.append_to(directory)
    progress.status = "done"
    progress.append_to(directory)


def failure_text(name: str, shard: int, exc: BaseException, hypothesis_output: str) -> str:
    formatted = "".join(traceback.format_exception(exc))
    notes = "\n".join(getattr(exc, "__notes__", []))
    verdict = classify(exc)
    at_fault = f"\nsuite code at fault: {verdict.fault}" if verdict.fault else ""
    parts = [
        f"check {name} failed in nightly shard {shard}: {verdict.status}, {verdict.reason}"
        + at_fault,
        hypothesis_output,
        formatted,
        notes if notes not in formatted else "",
        # The example database holds the failure now: any run that uses it replays it first.
        f"replay: HYPOTHESIS_PROFILE=dev make verify CHECKS='{name}'",
    ]
    return "\n".join(p for p in parts if p)
