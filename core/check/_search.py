"""The linearizability search: Wing & Gong's backtracking with Lowe's memoization.

Private: ``core.check.linearizability`` is the interface. The shape follows porcupine's
``checkSingle``: calls and returns sit in one doubly linked list in time order; the search walks
it, and at each call tries to linearize that operation next (the model must give the recorded
output). Linearizing "lifts" the call and its return out of the list and restarts from the head.
Reaching a return whose call is still in the list means every candidate before it failed, so the
search backtracks. Lowe's memo remembers (set of linearized operations, model state) pairs
already explored: reaching one again cannot succeed where it failed before.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic

from stageflow_verify.core.check.history import I, Model, O, Operation, S

# How many search iterations run between two looks at the clock.
_CLOCK_EVERY = 1024


@dataclass(frozen=True)
class SearchResult(Generic[S]):
    """``ok`` is True (linearizable), False (not), or None (budget exhausted before a decision).

    ``order`` is the witness (op ids in linearization order) when ok, else the longest partial
    linearization the search reached. ``final`` is the model state after the witness.
    """

    ok: bool | None
    order: tuple[int, ...]
    final: S | None
    iterations: int


class Budget:
    def __init__(self, deadline: float | None, max_iterations: int | None) -> None:
        self.deadline = deadline
        self.max_iterations = max_iterations
        self.iterations = 0

    def spend(self) -> bool:
        """Count one iteration; False once the budget is exhausted."""
        self.iterations += 1
        if self.max_iterations is not None and self.iterations > self.max_iterations:
            return False
        if self.deadline is not None and self.iterations % _CLOCK_EVERY == 0:
            return time.monotonic() < self.deadline
        return True


def search(
    model: Model[S, I, O], ops: Sequence[Operation[I, O]], initial: S, budget: Budget
) -> SearchResult[S]:
    # Entries in time order; kind 0 = call, 1 = return. Pending operations only have a call.
    raw = sorted(
        [(op.call, 0, i) for i, op in enumerate(ops)]
        + [(op.ret, 1, i) for i, op in enumerate(ops) if op.ret is not None]
    )
    n = len(raw)
    kind = [k for _, k, _ in raw]
    index = [i for _, _, i in raw]
    ret_entry: dict[int, int] = {index[e]: e for e in range(n) if kind[e] == 1}
    # Linked list over entries 0..n-1 with a sentinel head at n; -1 ends the list.
    head = n
    nxt = [*range(1, n), -1, 0 if n else -1]
    prv = [head, *range(0, n - 1), -1]

    def lift(e: int) -> None:
        for x in (e, ret_entry.get(index[e], -1)):
            if x >= 0:
                nxt[prv[x]] = nxt[x]
                if nxt[x] >= 0:
                    prv[nxt[x]] = prv[x]

    def unlift(e: int) -> None:
        for x in (ret_entry.get(index[e], -1), e):
            if x >= 0:
                nxt[prv[x]] = x
                if nxt[x] >= 0:
                    prv[nxt[x]] = x

    remaining = sum(1 for op in ops if op.ret is not None)
    linearized = 0
    state = initial
    memo: set[tuple[int, S]] = set()
    stack: list[tuple[int, S]] = []
    best: tuple[int, ...] = ()
    entry = nxt[head]
    while remaining > 0:
        if not budget.spend():
            return SearchResult(None, best, None, budget.iterations)
        if entry >= 0 and kind[entry] == 0:
            i = index[entry]
            new_state, output = model.step(state, ops[i].input)
            if ops[i].ret is None or output == ops[i].output:
                key = (linearized | (1 << i), new_state)
                if key not in memo:
                    memo.add(key)
                    stack.append((entry, state))
                    state = new_state
                    linearized |= 1 << i
                    remaining -= ops[i].ret is not None
                    lift(entry)
                    if len(stack) > len(best):
                        best = tuple(ops[index[e]].id for e, _ in stack)
                    entry = nxt[head]
                    continue
            entry = nxt[entry]
            continue
        # A return (or the end of the list) whose call could not be linearized before it.
        if not stack:
            return SearchResult(False, best, None, budget.iterations)
        entry, state = stack.pop()
        i = index[entry]
        linearized &= ~(1 << i)
        remaining += ops[i].ret is not None
        unlift(entry)
        entry = nxt[entry]
    order = tuple(ops[index[e]].id for e, _ in stack)
    return SearchResult(True, order, state, budget.iterations)


def partition(model: Model[S, I, O], ops: Sequence[Operation[I, O]]) -> list[list[Operation[I, O]]]:
    """Split by ``model.partition_key``; one part when any operation touches the whole state."""
    parts: dict[Hashable, list[Operation[I, O]]] = defaultdict(list)
    for op in ops:
        key = model.partition_key(op.input)
        if key is None:
            return [list(ops)] if ops else []
        parts[key].append(op)
    return list(parts.values())


def failing_orders(
    model: Model[S, I, O], ops: Sequence[Operation[I, O]], initial: S, cap: int
) -> tuple[list[tuple[tuple[int, ...], O]], bool]:
    """Every order real time allows, cut at its first operation whose recorded output differs
    from the model's: (op ids up to and including that operation, the model's output).

    Pending operations may also be left out. The flag is False when the walk stopped at ``cap``
    failing orders.
    """
    out: list[tuple[tuple[int, ...], O]] = []

    def walk(left: list[Operation[I, O]], state: S, prefix: tuple[int, ...]) -> bool:
        for op in left:
            if any(p.precedes(op) for p in left if p is not op):
                continue
            new_state, output = model.step(state, op.input)
            order = (*prefix, op.id)
            if op.ret is not None and output != op.output:
                if (order, output) not in out:
                    if len(out) == cap:
                        return False
                    out.append((order, output))
                continue
            if not walk([o for o in left if o is not op], new_state, order):
                return False
        return True

    complete = walk(sorted(ops, key=lambda o: o.call), initial, ())
    return out, complete


def minimize(
    model: Model[S, I, O], ops: Sequence[Operation[I, O]], initial: S, budget: Budget
) -> list[Operation[I, O]]:
    """A small illegal sub-history of the illegal ``ops`` that fails *the same way*.

    First the shortest illegal prefix (operations called up to some time) by bisection, then
    greedy: drop chunks of operations (latest calls first, chunks halving down to single
    operations) while the rest stays illegal. Once
    the history is small enough to enumerate its orders, a drop must also keep the set of
    (failing operation, expected output) pairs: otherwise dropping the write a later read
    depends on would "explain" the read by an empty bag, a smaller but useless sub-history.
    """
    kept = _illegal_prefix(model, ops, initial, budget)
    chunk = max(1, len(kept) // 2)
    while True:
        # Latest calls first, in chunks that halve down to single operations (after ddmin).
        end = len(kept)
        while end > 0:
            start = max(0, end - chunk)
            trial = kept[:start] + kept[end:]
            if trial and search(model, trial, initial, budget).ok is False:
                before = _signature(model, kept, initial)
                if before is None or before == _signature(model, trial, initial):
                    kept = trial
            end = start
        if chunk == 1:
            break
        chunk //= 2
    return kept


def _illegal_prefix(
    model: Model[S, I, O], ops: Sequence[Operation[I, O]], initial: S, budget: Budget
) -> list[Operation[I, O]]:
    # Bisection keeps prefix(hi) illegal. Illegality is not monotone in the prefix (a later
    # write can explain an earlier read), so this finds *an* illegal prefix whose next-shorter
    # neighbour is legal, which is all the greedy pass needs.
    ordered = sorted(ops, key=lambda o: o.call)
    lo, hi = 0, len(ordered)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if search(model, ordered[:mid], initial, budget).ok is False:
            hi = mid
        else:
            lo = mid
    return ordered[:hi]


def _signature(
    model: Model[S, I, O], ops: Sequence[Operation[I, O]], initial: S
) -> frozenset[tuple[int, O]] | None:
    if len(ops) > _ENUMERABLE:
        return None
    orders, complete = failing_orders(model, ops, initial, cap=64)
    return frozenset((order[-1], out) for order, out in orders) if complete else None


# Histories up to this size have their failing orders enumerated while minimizing.
_ENUMERABLE = 8
