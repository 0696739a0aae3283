"""Checker time on generated OutputBag histories of 10, 50 and 200 operations.

Histories come from a seeded simulation of four clients: each call takes effect at a random
point between its call and its return, so the history is linearizable by construction; the
"illegal" variant changes one output in the middle. "per-stage" histories use only per-stage
operations (the checker splits them by stage); "whole-bag" ones mix in ``keys()``, which forces
one search over everything. Printed, never asserted.
"""

from __future__ import annotations

import dataclasses
import random
import time

from stageflow_verify.core.check.history import Operation
from stageflow_verify.core.check.linearizability import Verdict, check_history_verbose
from stageflow_verify.models.bags import (
    BagInput,
    Get,
    Outcome,
    OutputBagModel,
    OutputView,
    Returned,
    View,
    Write,
)

MODEL = OutputBagModel()
CLIENTS = 4
REPEATS = 5


def generate(n: int, seed: int, whole_bag: bool) -> list[Operation[BagInput, Outcome]]:
    rng = random.Random(seed)
    state = MODEL.init()
    ops: list[Operation[BagInput, Outcome]] = []
    open_: dict[int, tuple[int, BagInput, int, Outcome | None]] = {}  # client -> op in flight
    t = 0
    while len(ops) < n or open_:
        t += 1
        client = rng.randrange(CLIENTS)
        if client not in open_:
            if len(ops) + len(open_) >= n:
                continue
            stage = rng.choice("abcdef")
            roll = rng.random()
            inp: BagInput
            if whole_bag and roll < 0.15:
                inp = View("keys")
            elif roll < 0.55:
                inp = Write(stage, OutputView("ok", (("w", t),)), overwrite=rng.random() < 0.7)
            else:
                inp = Get(stage, rng.choice(["get", "has", "get_attempt_count"]))
            open_[client] = (len(ops) + len(open_), inp, t, None)
        elif open_[client][3] is None:
            op_id, inp, call, _ = open_[client]
            state, out = MODEL.step(state, inp)
            open_[client] = (op_id, inp, call, out)
        else:
            op_id, inp, call, result = open_.pop(client)
            ops.append(Operation(op_id, f"c{client}", inp, result, call, t, call, t))
    return sorted(ops, key=lambda o: o.call)


def corrupt(ops: list[Operation[BagInput, Outcome]]) -> list[Operation[BagInput, Outcome]]:
    broken = list(ops)
    middle = len(ops) // 2
    broken[middle] = dataclasses.replace(broken[middle], output=Returned("corrupted"))
    return broken


def timed(ops: list[Operation[BagInput, Outcome]]) -> tuple[Verdict, float]:
    best = float("inf")
    verdict = Verdict.UNKNOWN
    for _ in range(REPEATS):
        start = time.perf_counter()
        verdict = check_history_verbose(MODEL, ops, timeout=30.0).verdict
        best = min(best, time.perf_counter() - start)
    return verdict, best


def main() -> None:
    print(f"{'ops':>5}  {'history':<10} {'legal':>18} {'one output changed':>22}")
    for n in (10, 50, 200):
        for whole_bag in (False, True):
            ops = generate(n, seed=n, whole_bag=whole_bag)
            ok, t_ok = timed(ops)
            bad, t_bad = timed(corrupt(ops))
            kind = "whole-bag" if whole_bag else "per-stage"
            print(
                f"{n:>5}  {kind:<10} {ok.value:>8} {t_ok * 1e3:7.2f} ms"
                f" {bad.value:>10} {t_bad * 1e3:8.2f} ms"
            )
    print(f"(best of {REPEATS}; 'illegal' time includes minimising and explaining)")


if __name__ == "__main__":
    main()
