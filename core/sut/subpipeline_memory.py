"""How much a subpipeline spawner keeps once its runs have ended (CORE-003's hypothesis H7).

One *cycle* spawns a child from a root, the child spawns a grandchild, and both end; a
*cancelling* cycle also calls ``cancel_with_children`` on the root while the grandchild is live.
:func:`measure_retention` runs warm-up cycles, then ``cycles`` more under ``tracemalloc``, and
reports the bytes still allocated per cycle after a full collection, next to what the spawner
and tracker still hold (their private per-run maps, read, never changed).

The workload uses a no-op event sink and keeps no per-cycle bookkeeping of its own, so whatever
grows with the number of cycles is Stageflow's. The ids a leaking spawner keeps are uuid4 objects
in a set; :func:`bytes_per_retained_id` measures what one such entry costs, so a caller can tell
an explained leak from an unexplained one.

For example::

    small, large = measure_retention(100, cancel=False), measure_retention(400, cancel=False)
    assert large.retained["depths"] == 0 and bytes_per_cycle(small, large) < 32
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import uuid
from dataclasses import dataclass
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.subpipeline_roots import root_context

WARM_UP_CYCLES = 20


@dataclass(frozen=True)
class Retention:
    cycles: int
    cancel: bool
    bytes_retained: int  # still allocated after the measured cycles and a full collection
    retained: dict[str, int]  # entry counts in the spawner's and tracker's per-run maps


async def _cycles(sf: Any, spawner: Any, root: Any, count: int, cancel: bool) -> None:
    async def grandchild(ctx: Any) -> None:
        if cancel:
            await spawner.cancel_with_children(root.pipeline_run_id)
        await asyncio.sleep(0)

    async def child(ctx: Any) -> None:
        await spawner.spawn("grandchild", ctx, uuid.uuid4(), "stage", grandchild)

    for _ in range(count):
        await spawner.spawn("child", root, uuid.uuid4(), "stage", child)


def measure_retention(cycles: int, *, cancel: bool) -> Retention:
    """Run ``cycles`` spawn cycles on a fresh spawner and tracker; see the module docstring."""
    sf = stageflow_module()
    sub = sf.pipeline.subpipeline
    tracker = sub.ChildRunTracker()
    spawner = sub.SubpipelineSpawner(child_tracker=tracker)
    sink = sf.NoOpEventSink()
    root = root_context(uuid.uuid4(), sink, {})

    async def main() -> int:
        sf.set_event_sink(sink)  # asyncio.run's own context: the caller's sink is untouched
        await _cycles(sf, spawner, root, WARM_UP_CYCLES, cancel)
        gc.collect()
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await _cycles(sf, spawner, root, cycles, cancel)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            if started:
                tracemalloc.stop()
        return after - before

    grown = asyncio.run(main())
    retained = {
        "tracker_parents": len(tracker._parents),
        "tracker_children": len(tracker._children),
        "depths": len(spawner._run_depths),
        "canceled_ids": len(spawner._canceled_runs),
    }
    return Retention(cycles, cancel, grown, retained)


def bytes_per_cycle(small: Retention, large: Retention) -> float:
    """The growth per cycle between two runs: what is left once the constant overhead of one
    measurement (the loop, tracemalloc's own tables, dicts that resized once) cancels out."""
    return (large.bytes_retained - small.bytes_retained) / (large.cycles - small.cycles)


def bytes_per_retained_id(count: int = 2_000) -> float:
    """What one more uuid4 in a set costs, measured the way :func:`measure_retention` measures."""
    keep: set[uuid.UUID] = set()
    gc.collect()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            keep.add(uuid.uuid4())
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        if started:
            tracemalloc.stop()
    return (after - before) / len(keep)
