"""subpipelines.no_retention: a spawner keeps no per-run state once its runs have ended.

The machine in :mod:`stateful.subpipeline_machine` checks the spawner's and tracker's maps after
every step; this check adds the measurement the machine cannot make: bytes. It runs spawn
cycles (child plus grandchild, with and without ``cancel_with_children``) at two lengths on fresh
spawners, takes the growth per cycle between them, and subtracts what a reproducing SF-SUB-01
explains (the cancelled ids the spawner keeps, at the measured cost of one id). Whatever is
left must stay under :data:`UNEXPLAINED_LIMIT` bytes per cycle: one more uuid kept per cycle
costs about 165.

For example::

    report = retention_report()
    assert report["plain"]["bytes_per_cycle"] < UNEXPLAINED_LIMIT
"""

from __future__ import annotations

from stageflow_verify.core.run.checks import Check, count_example, reproducing_ids
from stageflow_verify.core.sut.subpipeline_memory import (
    bytes_per_cycle,
    bytes_per_retained_id,
    measure_retention,
)
from stageflow_verify.models.subpipelines import RETAINS_CANCELED_IDS
from stageflow_verify.stateful.subpipeline_findings import FINDINGS_BY_ID

SMALL, LARGE = 100, 400  # cycles: enough for the constant overhead to cancel out, under 3 s
UNEXPLAINED_LIMIT = 64.0  # bytes per cycle; a leaked id or dict entry costs over 100


def retention_report() -> dict[str, dict[str, float]]:
    """Bytes per cycle and per-run entries left, for plain and for cancelling cycles."""
    per_id = bytes_per_retained_id()
    report: dict[str, dict[str, float]] = {}
    for name, cancel in (("plain", False), ("cancelling", True)):
        small = measure_retention(SMALL, cancel=cancel)
        large = measure_retention(LARGE, cancel=cancel)
        span = LARGE - SMALL
        ids = (large.retained["canceled_ids"] - small.retained["canceled_ids"]) / span
        report[name] = {
            "bytes_per_cycle": bytes_per_cycle(small, large),
            "ids_kept_per_cycle": ids,
            "bytes_explained_by_kept_ids": ids * per_id,
            **{f"left_{k}": float(v) for k, v in large.retained.items()},
        }
    return report


def run_no_retention() -> None:
    count_example()
    adopted = reproducing_ids([FINDINGS_BY_ID[RETAINS_CANCELED_IDS]])
    for name, row in retention_report().items():
        left = {k: v for k, v in row.items() if k.startswith("left_") and k != "left_canceled_ids"}
        assert not any(left.values()), (
            f"{name} cycles ended with per-run entries still held: {left}; the spawner or "
            "tracker missed a cleanup path"
        )
        kept = row["ids_kept_per_cycle"]
        if RETAINS_CANCELED_IDS not in adopted:
            assert kept == 0, f"{name} cycles keep {kept} cancelled ids per cycle"
        unexplained = row["bytes_per_cycle"] - row["bytes_explained_by_kept_ids"]
        assert unexplained < UNEXPLAINED_LIMIT, (
            f"{name} cycles retain {row['bytes_per_cycle']:.0f} bytes per cycle, "
            f"{unexplained:.0f} of them not explained by the {kept} cancelled ids kept per cycle "
            f"(limit {UNEXPLAINED_LIMIT:.0f}); compare tracemalloc snapshots around "
            "core.sut.subpipeline_memory.measure_retention to see what grows"
        )


CHECKS = [
    Check(
        name="subpipelines.no_retention",
        run=run_no_retention,
        summary="no per-run state or memory kept after runs end (tracemalloc, H7)",
    ),
]
