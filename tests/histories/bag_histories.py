"""Hand-made histories of OutputBag and ContextBag, each with the verdict it must get.

Times are logical: ``op(task, input, output, call, ret)`` occupies ``[call, ret]`` and shows in
the swimlane at steps ``call`` and ``ret``; ``ret=None`` is an operation that never returned.
Two operations overlap unless one's ``ret`` is below the other's ``call``.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from stageflow_verify.core.check.history import Operation
from stageflow_verify.core.check.linearizability import Verdict
from stageflow_verify.models.bags import (
    ContextBagModel,
    CRead,
    CView,
    CWrite,
    EntryView,
    Get,
    GetValue,
    MutateWritten,
    Outcome,
    OutputBagModel,
    OutputView,
    Raised,
    Returned,
    View,
    Write,
)

OpTuple = tuple[str, Any, Outcome | None, int, int | None]


@dataclass(frozen=True)
class Case:
    name: str
    model: Any
    ops: tuple[Operation[Any, Outcome], ...]
    verdict: Verdict


def ops(*rows: OpTuple) -> tuple[Operation[Any, Outcome], ...]:
    return tuple(
        Operation(i, task, inp, out, call, ret, call, ret)
        for i, (task, inp, out, call, ret) in enumerate(rows)
    )


def out(w: int) -> OutputView:
    return OutputView("ok", (("w", w),))


def entry(stage: str, attempt: int, w: int) -> Returned:
    return Returned(EntryView(stage, attempt, out(w)))


def ok(value: Hashable = None) -> Returned:
    return Returned(value)


OB = OutputBagModel()
CB = ContextBagModel()
BAG: tuple[Case, ...] = (
    Case(
        "sequential write then get",
        OB,
        ops(
            ("w0", Write("s", out(1)), entry("s", 1, 1), 1, 2),
            ("r0", Get("s"), ok(EntryView("s", 1, out(1))), 3, 4),
        ),
        Verdict.OK,
    ),
    Case(
        "lost update: overlapping overwrites both get attempt 1",
        OB,
        ops(
            ("w0", Write("s", out(1), overwrite=True), entry("s", 1, 1), 1, 3),
            ("w1", Write("s", out(2), overwrite=True), entry("s", 1, 2), 2, 4),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "overlapping overwrites get attempts 1 and 2",
        OB,
        ops(
            ("w0", Write("s", out(1), overwrite=True), entry("s", 2, 1), 1, 3),
            ("w1", Write("s", out(2), overwrite=True), entry("s", 1, 2), 2, 4),
        ),
        Verdict.OK,
    ),
    Case(
        "overlapping first writes: one wins, one conflicts",
        OB,
        ops(
            ("w0", Write("s", out(1)), Raised("OutputConflictError", 1), 1, 3),
            ("w1", Write("s", out(2)), entry("s", 1, 2), 2, 4),
        ),
        Verdict.OK,
    ),
    Case(
        "overlapping first writes both succeed",
        OB,
        ops(
            ("w0", Write("s", out(1)), entry("s", 1, 1), 1, 3),
            ("w1", Write("s", out(2)), entry("s", 1, 2), 2, 4),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "read after an acknowledged write misses it",
        OB,
        ops(
            ("w0", Write("s", out(1)), entry("s", 1, 1), 1, 2),
            ("r0", Get("s", "has"), ok(False), 3, 4),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "read overlapping a write may miss it",
        OB,
        ops(
            ("w0", Write("s", out(1)), entry("s", 1, 1), 1, 4),
            ("r0", Get("s", "has"), ok(False), 2, 3),
            ("r1", Get("s", "get_output"), ok(out(1)), 5, 6),
        ),
        Verdict.OK,
    ),
    Case(
        "cancelled write may have taken effect",
        OB,
        ops(
            ("w0", Write("s", out(1)), None, 1, None),
            ("r0", Get("s", "get_attempt_count"), ok(1), 3, 4),
        ),
        Verdict.OK,
    ),
    Case(
        "cancelled write may have not taken effect",
        OB,
        ops(
            ("w0", Write("s", out(1)), None, 1, None),
            ("r0", Get("s", "get_attempt_count"), ok(0), 3, 4),
        ),
        Verdict.OK,
    ),
    Case(
        "a cancelled write that showed cannot vanish",
        OB,
        ops(
            ("w0", Write("s", out(1)), None, 1, None),
            ("r0", Get("s", "has"), ok(True), 3, 4),
            ("r1", Get("s", "has"), ok(False), 5, 6),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "retry without attempt increment",
        OB,
        ops(
            ("w0", Write("s", out(1)), entry("s", 1, 1), 1, 2),
            ("w0", Write("s", out(2), overwrite=True), entry("s", 1, 2), 3, 4),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "second write without overwrite succeeds",
        OB,
        ops(
            ("w0", Write("s", out(1)), entry("s", 1, 1), 1, 2),
            ("w1", Write("s", out(2)), entry("s", 2, 2), 3, 4),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "keys keep first-write order across a retry",
        OB,
        ops(
            ("w0", Write("a", out(1)), entry("a", 1, 1), 1, 2),
            ("w0", Write("b", out(2)), entry("b", 1, 2), 3, 4),
            ("w1", Write("a", out(3), overwrite=True), entry("a", 2, 3), 5, 6),
            ("r0", View("keys"), ok(("a", "b")), 7, 8),
            ("r0", View("get_retry_stages"), ok(("a",)), 9, 10),
        ),
        Verdict.OK,
    ),
    Case(
        "keys reordered by a retry",
        OB,
        ops(
            ("w0", Write("a", out(1)), entry("a", 1, 1), 1, 2),
            ("w0", Write("b", out(2)), entry("b", 1, 2), 3, 4),
            ("w1", Write("a", out(3), overwrite=True), entry("a", 2, 3), 5, 6),
            ("r0", View("keys"), ok(("b", "a")), 7, 8),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "two stages interleaved (checked per key)",
        OB,
        ops(
            ("w0", Write("a", out(1)), entry("a", 1, 1), 1, 5),
            ("w1", Write("b", out(2)), entry("b", 1, 2), 2, 3),
            ("r0", GetValue("b", "w"), ok(2), 4, 6),
            ("r1", GetValue("a", "w", -1), ok(-1), 2, 7),
        ),
        Verdict.OK,
    ),
    Case(
        "mutating the written dict does not show (the promise)",
        OB,
        ops(
            ("w0", Write("s", out(1), data_id=1), entry("s", 1, 1), 1, 2),
            ("w0", MutateWritten(1, "w", 9), ok(None), 3, 4),
            ("r0", GetValue("s", "w"), ok(9), 5, 6),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "mutating the written dict shows (adopted SF-VAL-08, was SF-BAG-01)",
        OutputBagModel(aliases_written=True),
        ops(
            ("w0", Write("s", out(1), data_id=1), entry("s", 1, 1), 1, 2),
            ("w0", MutateWritten(1, "w", 9), ok(None), 3, 4),
            ("r0", GetValue("s", "w"), ok(9), 5, 6),
        ),
        Verdict.OK,
    ),
)

CONTEXT: tuple[Case, ...] = (
    Case(
        "overlapping writers: one wins, the other is told who",
        CB,
        ops(
            ("a", CWrite("k", 1, "a"), ok(None), 1, 3),
            ("b", CWrite("k", 2, "b"), Raised("DataConflictError", ("k", "a", "b")), 2, 4),
            ("r", CRead("k"), ok(1), 5, 6),
            ("r", CRead("k", "get_writer"), ok("a"), 7, 8),
        ),
        Verdict.OK,
    ),
    Case(
        "conflict names a writer whose value is not there",
        CB,
        ops(
            ("a", CWrite("k", 1, "a"), ok(None), 1, 3),
            ("b", CWrite("k", 2, "b"), Raised("DataConflictError", ("k", "a", "b")), 2, 4),
            ("r", CRead("k"), ok(2), 5, 6),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "writer not recorded",
        CB,
        ops(
            ("a", CWrite("k", 1, "a"), ok(None), 1, 2),
            ("r", CRead("k", "get_writer"), ok(None), 3, 4),
        ),
        Verdict.ILLEGAL,
    ),
    Case(
        "same stage writing twice conflicts too",
        CB,
        ops(
            ("a", CWrite("k", 1, "a"), ok(None), 1, 2),
            ("a", CWrite("k", 2, "a"), Raised("DataConflictError", ("k", "a", "a")), 3, 4),
            ("r", CView("to_dict"), ok((("k", 1),)), 5, 6),
        ),
        Verdict.OK,
    ),
    Case(
        "both overlapping writers acknowledged",
        CB,
        ops(
            ("a", CWrite("k", 1, "a"), ok(None), 1, 3),
            ("b", CWrite("k", 2, "b"), ok(None), 2, 4),
        ),
        Verdict.ILLEGAL,
    ),
)

ALL: tuple[Case, ...] = BAG + CONTEXT
