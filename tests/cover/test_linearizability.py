"""The checker: agrees with brute force, accepts what it must, and never passes on UNKNOWN."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stageflow_verify.core.check import _search
from stageflow_verify.core.check.history import HistoryRecorder, Operation, operations, sequential
from stageflow_verify.core.check.linearizability import (
    Verdict,
    check_history,
    check_history_timeout,
    check_history_verbose,
)
from stageflow_verify.models.bags import (
    BagInput,
    Get,
    Outcome,
    OutputBagModel,
    OutputView,
    Raised,
    Returned,
    View,
    Write,
)

MODEL = OutputBagModel()
STAGES = st.sampled_from(["a", "b"])
INPUTS: st.SearchStrategy[BagInput] = st.one_of(
    st.builds(
        Write,
        STAGES,
        st.integers(0, 2).map(lambda w: OutputView("ok", (("w", w),))),
        st.booleans(),
    ),
    st.builds(Get, STAGES, st.sampled_from(["get", "has", "get_attempt_count"])),
    st.builds(View, st.sampled_from(["keys", "get_retry_stages"])),
)


@st.composite
def legal_histories(draw: st.DrawFn, max_ops: int = 6) -> list[Operation[BagInput, Outcome]]:
    """Concurrent histories made legal by construction: each operation takes effect at a point
    inside its interval, in the order of those points."""
    inputs = draw(st.lists(INPUTS, min_size=1, max_size=max_ops))
    times = draw(st.permutations(range(3 * len(inputs))))
    spans = [sorted(times[3 * i : 3 * i + 3]) for i in range(len(inputs))]
    state = MODEL.init()
    outputs: dict[int, Outcome] = {}
    for i in sorted(range(len(inputs)), key=lambda i: spans[i][1]):
        state, outputs[i] = MODEL.step(state, inputs[i])
    pending = draw(st.sets(st.integers(0, len(inputs) - 1), max_size=1))
    return [
        Operation(
            i,
            f"T{i % 3}",
            inp,
            None if i in pending else outputs[i],
            spans[i][0],
            None if i in pending else spans[i][2],
            spans[i][0],
            spans[i][2],
        )
        for i, inp in enumerate(inputs)
    ]


def brute_force(ops: Sequence[Operation[BagInput, Outcome]]) -> bool:
    done = [o for o in ops if o.ret is not None]
    pend = [o for o in ops if o.ret is None]
    for k in range(len(pend) + 1):
        for extra in itertools.combinations(pend, k):
            for order in itertools.permutations([*done, *extra]):
                if any(b.precedes(a) for i, a in enumerate(order) for b in order[i + 1 :]):
                    continue
                state = MODEL.init()
                for op in order:
                    state, out = MODEL.step(state, op.input)
                    if op.ret is not None and out != op.output:
                        break
                else:
                    return True
    return False


@given(legal_histories())
def test_histories_legal_by_construction_are_ok(ops: list[Operation[BagInput, Outcome]]) -> None:
    assert check_history(MODEL, ops) is Verdict.OK


@settings(max_examples=200)
@given(legal_histories(max_ops=5), st.data())
def test_checker_agrees_with_brute_force_on_perturbed_histories(
    ops: list[Operation[BagInput, Outcome]], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(ops) - 1))
    wrongs: list[Outcome] = [Returned(None), Returned(True), Returned(1), Raised("X"), Returned(())]
    ops[i] = dataclasses.replace(ops[i], output=data.draw(st.sampled_from(wrongs)))
    verdict = check_history(MODEL, ops)
    assert verdict is (Verdict.OK if brute_force(ops) else Verdict.ILLEGAL)


@given(legal_histories())
def test_witness_replays_to_the_recorded_outputs(ops: list[Operation[BagInput, Outcome]]) -> None:
    result = check_history_verbose(MODEL, ops)
    by_id = {o.id: o for o in ops}
    state = MODEL.init()
    for op_id in result.witness:
        state, out = MODEL.step(state, by_id[op_id].input)
        assert by_id[op_id].ret is None or out == by_id[op_id].output


def test_sequential_history_witness_is_program_order() -> None:
    steps: list[tuple[BagInput, Outcome]] = []
    state = MODEL.init()
    inputs: list[BagInput] = [Write("a", OutputView("ok", ())), Get("a", "has"), View("keys")]
    for inp in inputs:
        state, out = MODEL.step(state, inp)
        steps.append((inp, out))
    ops = sequential("T0", steps)
    result = check_history_verbose(MODEL, ops)
    assert result.verdict is Verdict.OK
    assert result.witness == (0, 1, 2)
    assert result.final == state


def test_exhausted_budget_is_unknown_and_says_it_is_not_a_pass() -> None:
    writes = [Write("a", OutputView("ok", (("w", i),)), overwrite=True) for i in range(8)]
    ops: list[Operation[BagInput, Outcome]] = [
        Operation(i, f"T{i}", w, Returned(None), i, 100 + i) for i, w in enumerate(writes)
    ]
    result = check_history_verbose(MODEL, ops, max_iterations=5)
    assert result.verdict is Verdict.UNKNOWN
    assert "not a pass" in result.report


def test_timeout_is_unknown_when_the_clock_runs_out_first() -> None:
    steps: list[tuple[BagInput, Outcome]] = []
    state = MODEL.init()
    for i in range(3000):
        inp: BagInput = Get("a", "has") if i % 2 else View("keys")
        state, out = MODEL.step(state, inp)
        steps.append((inp, out))
    ops = sequential("T0", steps)
    assert check_history_timeout(MODEL, ops, timeout=0.0) is Verdict.UNKNOWN
    assert check_history_timeout(MODEL, ops, timeout=60.0) is Verdict.OK


def test_operations_on_different_stages_are_checked_apart() -> None:
    ops: list[Operation[BagInput, Outcome]] = [
        Operation(0, "T0", Write("a", OutputView("ok", ())), None, 0, None),
        Operation(1, "T1", Get("b"), Returned(None), 1, 2),
        Operation(2, "T1", Get("a", "has"), Returned(True), 3, 4),
    ]
    assert len(_search.partition(MODEL, ops)) == 2
    assert len(_search.partition(MODEL, [*ops, Operation(3, "T2", View("keys"), None, 5, 6)])) == 1


def test_recorder_pairs_calls_with_returns_and_keeps_unreturned_calls_pending() -> None:
    recorder: HistoryRecorder[BagInput, Outcome] = HistoryRecorder()
    a = recorder.call("T0", Get("a"))
    recorder.before_step(None)
    b = recorder.call("T1", Get("b"))
    recorder.ret(a, Returned(None))
    history = recorder.history()
    assert [(o.id, o.pending, o.call_step, o.ret_step) for o in history] == [
        (a, False, 0, 1),
        (b, True, 1, None),
    ]
    assert history == operations(recorder.events)
    with pytest.raises(ValueError, match="exactly once"):
        recorder.ret(a, Returned(None))
