"""Laws of StageOutput: what every stage returns, and what the executor copies and stores.

Three laws. The *factory* law calls ``ok``/``skip``/``cancel``/``fail``/``retry`` with generated
arguments and compares every field of the result with what the call asked for: the status, the
version, and each data key the caller passed (a factory that silently drops an argument is the
bug this law exists for). The *copy* law checks that ``with_duration`` and ``with_version``
change exactly one field and keep the rest. The *frozen* law checks that a StageOutput, a
``frozen=True`` dataclass, cannot be changed after it is made: not by attribute assignment, not
through the containers it hands out, not through the dict its caller passed in, not through a
copy made by ``with_*``; and that it is hashable like a tuple (equal outputs hash equal, or
``hash`` raises TypeError because a field holds a dict).

Where Stageflow's behaviour departs from the law for a registered reason (SF-VAL-05..08), the
law skips only that sub-case while the finding reproduces.

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks 'values.stage_output_*'
"""

from __future__ import annotations

import copy
import dataclasses
from types import ModuleType
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import (
    Check,
    Finding,
    Severity,
    adopting_known,
    count_example,
    documented,
    expected,
    releases,
)
from stageflow_verify.core.sut.values import (
    artifact,
    event,
    output_cancel,
    output_fail,
    output_field_names,
    output_fields,
    output_has_version,
    output_ok,
    output_retry,
    output_skip,
    output_with_duration,
    output_with_version,
    stage_output,
    status_values,
)
from stageflow_verify.properties.strategies import (
    datetimes,
    is_hashable,
    optional_text,
    scalars,
    text_keys,
    values,
)

# Keys a factory itself writes, so that clashes with the caller's data are generated often.
_data_keys = text_keys | st.sampled_from(["reason", "cancel_reason", "error", "data"])
_data = st.dictionaries(_data_keys, values, max_size=4)
_reasons = st.text(max_size=6)
_REASON_KEY = {"skip": "reason", "cancel": "cancel_reason"}
# A version without StageOutput.version (0.5.1) is asked for none: there is nothing to keep.
_versions = optional_text if output_has_version() else st.none()
_MISSING = object()


@st.composite
def _factory_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(["ok", "skip", "cancel", "fail", "retry"]))
    args: dict[str, Any] = {"version": draw(_versions)}
    if name == "ok":
        args["data"] = draw(st.none() | _data)
        taken = set(args["data"] or ()) | {"data", "version"}
        args["kwargs"] = draw(st.dictionaries(text_keys.filter(lambda k: k not in taken), values))
    elif name in ("skip", "cancel"):
        args["reason"], args["data"] = draw(_reasons), draw(st.none() | _data)
        if args["data"] is not None and draw(st.booleans()):
            args["data"][_REASON_KEY[name]] = draw(values)  # a clash with the factory's own key
    elif name == "fail":
        # None and "" are the two ways of "not giving" a message: both drawn often.
        messages = st.sampled_from([None, ""]) | optional_text
        args["error"], args["response"] = draw(messages), draw(messages)
        args["data"] = draw(st.none() | _data)
    else:
        args["error"], args["data"] = draw(_reasons), draw(st.none() | _data)
    return name, args


def _call(name: str, args: dict[str, Any]) -> Any:
    a = copy.deepcopy(args)  # the law's own copy stays pristine for the expectation
    version, data = a.pop("version"), a.get("data")
    if name == "ok":
        return output_ok(data, version=version, **a["kwargs"])
    if name == "skip":
        return output_skip(a["reason"], data, version=version)
    if name == "cancel":
        return output_cancel(a["reason"], data, version=version)
    if name == "fail":
        return output_fail(a["error"], data, response=a["response"], version=version)
    return output_retry(a["error"], data, version=version)


@given(call=_factory_calls())
# The empty message is the boundary where "not giving" one and giving "" part: always tried.
@example(call=("fail", {"version": None, "error": "", "response": None, "data": None}))
def stage_output_factory_law(call: tuple[str, dict[str, Any]], active: frozenset[str]) -> None:
    count_example()
    name, args = call
    out = output_fields(_call(name, args))
    given_data = args.get("data") or {}
    assert out["status"] == name, f"StageOutput.{name} made status {out['status']!r}"
    assert out["version"] == args["version"], f"StageOutput.{name} dropped version"
    assert out["duration_ms"] is None and out["artifacts"] == [] and out["events"] == []
    for key, value in given_data.items():
        if name in ("skip", "cancel") and key == _REASON_KEY[name]:
            continue  # the reason key is the factory's own; checked below
        assert out["data"].get(key, _MISSING) == value, f"StageOutput.{name} dropped data {key!r}"
    if name == "ok":
        if not ("SF-VAL-05" in active and given_data and args["kwargs"]):  # SF-VAL-05
            assert out["data"] == {**given_data, **args["kwargs"]}, "ok() dropped keyword data"
        assert out["error"] is None
    elif name in ("skip", "cancel"):
        key = _REASON_KEY[name]
        if not ("SF-VAL-06" in active and key in given_data):  # SF-VAL-06: data wins
            assert out["data"] == {**given_data, key: args["reason"]}, f"{name}() lost reason"
        assert out["error"] is None
    else:
        expected = args["error"]
        if name == "fail":
            chosen = args["error"] if args["error"] is not None else args["response"]
            expected = "Unknown error" if chosen is None else chosen
            if "SF-VAL-07" in active and chosen == "":
                return  # SF-VAL-07: fail() replaces an empty message with "Unknown error"
        assert out["error"] == expected, f"{name}() kept error {out['error']!r}, not {expected!r}"
        assert out["data"] == given_data


# Artifacts and events are only carried, never inspected: small flat payloads keep it fast.
_payloads = st.lists(
    st.tuples(_reasons, st.dictionaries(text_keys, scalars, max_size=2)), max_size=2
)


@st.composite
def _outputs(draw: st.DrawFn) -> dict[str, Any]:
    """The fields of a StageOutput, as plain data (build with ``stage_output(**fields)``)."""
    ts = draw(datetimes)
    return {
        "status": draw(st.sampled_from(status_values())),
        "data": draw(_data),
        "artifacts": [artifact(t, p, ts) for t, p in draw(_payloads)],
        "events": [event(t, d, ts) for t, d in draw(_payloads)],
        "error": draw(optional_text),
        "duration_ms": draw(st.none() | st.integers(0, 10**6)),
        "version": draw(_versions),
    }


@given(fields=_outputs(), duration=st.integers(0, 10**6), version=st.text(max_size=6))
def stage_output_copy_law(fields: dict[str, Any], duration: int, version: str) -> None:
    count_example()
    original = stage_output(**copy.deepcopy(fields))
    before = copy.deepcopy(output_fields(original))
    timed = output_fields(output_with_duration(original, duration))
    assert timed == {**before, "duration_ms": duration}, "with_duration changed another field"
    if output_has_version():  # 0.5.1 has no with_version; with_duration is checked on every version
        tagged = output_fields(output_with_version(original, version))
        assert tagged == {**before, "version": version}, "with_version changed another field"
    assert output_fields(original) == before, "a with_* copy changed the original"


@given(fields=_outputs(), value=values)
def stage_output_frozen_law(fields: dict[str, Any], value: Any, active: frozenset[str]) -> None:
    count_example()
    passed_in = copy.deepcopy(fields)
    out = stage_output(**passed_in)
    before = copy.deepcopy(output_fields(out))
    for name in output_field_names():  # 0.5.1 has no version field to assign
        try:
            setattr(out, name, value)
        except dataclasses.FrozenInstanceError:
            continue
        raise AssertionError(f"StageOutput allowed out.{name} = ...")
    twin = stage_output(**copy.deepcopy(fields))
    assert out == twin
    if is_hashable(out):
        assert hash(out) == hash(twin), "equal StageOutputs hash apart"
    if "SF-VAL-08" in active:
        return  # SF-VAL-08: data/artifacts/events are the caller's containers, shared by copies
    passed_in["data"]["<mutated>"] = value
    passed_in["artifacts"].append(value)
    assert output_fields(out) == before, "the caller's dict/list showed through a StageOutput"
    copied = output_with_duration(out, 1)
    copied.data["<mutated>"] = value
    copied.events.append(value)
    assert output_fields(out) == before, "changing a with_duration copy changed the original"


CHECKS = [
    Check(
        name="values.stage_output_factories",
        run=adopting_known(stage_output_factory_law, lambda: FINDINGS),
        summary="ok/skip/cancel/fail/retry keep every argument they are given",
    ),
    Check(
        name="values.stage_output_copies",
        run=stage_output_copy_law,
        summary="with_duration/with_version change one field and keep the rest",
    ),
    Check(
        name="values.stage_output_frozen",
        run=adopting_known(stage_output_frozen_law, lambda: FINDINGS),
        summary="a StageOutput cannot change after creation; equal outputs hash equal",
    ),
]


# --- findings --------------------------------------------------------------------------------


def _ok_drops_keywords(sf: ModuleType) -> bool:
    return bool(sf.StageOutput.ok({"text": "hi"}, tokens=3).data == {"text": "hi"})


def _reason_overwritten(sf: ModuleType) -> bool:
    skipped = sf.StageOutput.skip("cached", {"reason": "stale"})
    canceled = sf.StageOutput.cancel("user quit", {"cancel_reason": "timeout"})
    return bool(skipped.data["reason"] == "stale" or canceled.data["cancel_reason"] == "timeout")


def _empty_error_replaced(sf: ModuleType) -> bool:
    return bool(sf.StageOutput.fail(error="").error == "Unknown error")


def _caller_dict_shows_through(sf: ModuleType) -> bool:
    payload = {"answer": 42}
    out = sf.StageOutput.ok(payload)
    payload["answer"] = 0  # the stage reuses its dict after returning it
    return bool(out.data["answer"] == 0)


def _copy_shares_data(sf: ModuleType) -> bool:
    out = sf.StageOutput.ok({"answer": 42})
    timed = out.with_duration(5)  # what the executor stores for every stage
    timed.data["answer"] = 0
    return bool(out.data["answer"] == 0)


def _written_dict_shows_through_the_bag(sf: ModuleType) -> bool:
    # (was SF-BAG-01) An OutputBag stores the StageOutput it is given, so the same dict.
    bag = sf.context.OutputBag()
    data = {"transcript": "hello"}
    bag.write_sync("stt", sf.StageOutput.ok(data))
    data["transcript"] = "tampered"
    return bool(bag.get_value("stt", "transcript") == "tampered")


def _data_shared(sf: ModuleType) -> bool:
    symptoms = [_caller_dict_shows_through, _copy_shares_data, _written_dict_shows_through_the_bag]
    return any([symptom(sf) for symptom in symptoms])  # each one runs, whatever the first says


FINDINGS: list[Finding] = [
    Finding(
        id="SF-VAL-05",
        title="StageOutput.ok drops keyword data when a data dict is also given",
        versions=releases(),
        check="values.stage_output_factories",
        promise=(
            "ok(data=None, *, version=None, **kwargs) 'Create a successful output': reasonably "
            "expected to keep every key the caller passes, as the signature accepts both."
        ),
        observed="ok({'text': 'hi'}, tokens=3).data == {'text': 'hi'}: 'tokens' is silently lost.",
        reproduce=_ok_drops_keywords,
        basis=expected(
            "ok() takes a data dict and keyword data in one call; the guides use both forms "
            "(ok(message=..., llm=...)), and nothing says they exclude each other, yet "
            "`payload = data or kwargs` keeps only the dict and drops the keywords without a word.",
            (
                "return StageOutput.ok(message=llm.content, llm=llm.to_dict())",
                "docs/guides/context.md:329",
            ),
        ),
        severity=Severity("low", "silent data loss, but only when a caller mixes both forms"),
        fix="StageOutput.ok (stageflow/core/stage_output.py:64): merge, {**(data or {}), "
        "**kwargs}, or raise TypeError when both are given.",
    ),
    Finding(
        id="SF-VAL-06",
        title="StageOutput.skip/cancel let a data key overwrite the reason argument",
        versions=releases(),
        check="values.stage_output_factories",
        promise=(
            "skip(reason, data) / cancel(reason, data): reasonably expected to record the "
            "reason argument (under 'reason' / 'cancel_reason') as well as the data."
        ),
        observed=(
            "payload = {'reason': reason, **data}: skip('cached', {'reason': 'stale'}) records "
            "'stale'; the reason argument is silently dropped (likewise cancel)."
        ),
        reproduce=_reason_overwritten,
        basis=expected(
            "reason is the factory's first, named argument, and the graph logs and raises "
            "UnifiedPipelineCancelled with data['cancel_reason']: a caller who passes it "
            "expects it recorded, not replaced by a same-named key of an unrelated data dict.",
            (
                "Create a cancelled output to stop pipeline without error.",
                "stageflow/core/stage_output.py:87",
            ),
        ),
        severity=Severity(
            "low",
            "needs a data dict that happens to hold 'reason' or "
            "'cancel_reason'; only the reported reason is wrong",
        ),
        fix="StageOutput.skip/cancel (stageflow/core/stage_output.py:76 and :88): put the "
        "reason after the data, {**(data or {}), 'reason': reason}, or reject the clash.",
    ),
    Finding(
        id="SF-VAL-07",
        title="StageOutput.fail replaces an empty error message with 'Unknown error'",
        versions=releases(),
        check="values.stage_output_factories",
        promise=(
            "fail docstring: 'Either error or response must be provided. If both are provided, "
            "error takes precedence.' An empty string is provided; retry('') keeps it."
        ),
        observed=(
            "fail(error='').error == 'Unknown error' and fail(error='', response='x').error == "
            "'x': 'error or response' tests truthiness, not presence."
        ),
        reproduce=_empty_error_replaced,
        basis=documented(
            (
                "Either `error` or `response` must be provided. If both are",
                "stageflow/core/stage_output.py:108",
            ),
            ("provided, `error` takes precedence.", "stageflow/core/stage_output.py:109"),
        ),
        severity=Severity(
            "low",
            "only an empty message is affected, and it becomes a "
            "placeholder; the status is still FAIL",
        ),
        fix="StageOutput.fail (stageflow/core/stage_output.py:111): test `is not None`, not "
        "truthiness: error if error is not None else response if response is not None else ...",
    ),
    Finding(
        id="SF-VAL-08",
        title="A StageOutput keeps the caller's data dict: changing it later changes the stored "
        "output (in copies, and in an OutputBag)",
        versions=releases(),
        check="values.stage_output_frozen",
        promise=(
            "StageOutput is @dataclass(frozen=True) and with_duration says 'Since StageOutput "
            "is frozen, this method creates a new instance'; OutputBag is 'append-only with "
            "explicit overwrite for retries': a written output changes only by writing again "
            "with allow_overwrite=True, which counts an attempt."
        ),
        observed=(
            "ok(payload) stores the caller's dict itself (no copy): payload['answer'] = 0 after "
            "the return changes out.data; with_duration/with_version copies share data, "
            "artifacts and events with the original; and OutputBag.write stores the output as "
            "given, so the writer's later change shows in bag.get_value with no new attempt."
        ),
        reproduce=_data_shared,
        basis=documented(
            (
                "Since StageOutput is frozen, this method creates a new instance",
                "stageflow/core/stage_output.py:128",
            ),
            (
                "Thread-safe, append-only collection of stage outputs with attempt tracking.",
                "stageflow/context/output_bag.py:81",
            ),
            (
                "`OutputBag` is append-only with explicit overwrite for retries.",
                "docs/api/context-submodules.md:68",
            ),
        ),
        severity=Severity(
            "medium",
            "silent: a stage that reuses or keeps filling its dict after returning it rewrites "
            "its stored output, with no attempt counted",
        ),
        symptoms=(
            "StageOutput.ok(payload): a later payload['k'] = v changes out.data",
            "out.with_duration(n) (what the executor stores) shares data, artifacts and events "
            "with out: a change to either shows in both",
            "OutputBag.write(stage, StageOutput.ok(data)): a later data['k'] = v changes "
            "bag.get_value(stage, 'k') without a new attempt (was SF-BAG-01)",
        ),
        merged=("SF-BAG-01",),
        fix="StageOutput (stageflow/core/stage_output.py:35): copy data, artifacts and events "
        "when an output is made (a __post_init__ with object.__setattr__, as the class is "
        "frozen and slotted) and in with_duration/with_version; OutputBag then stores a value "
        "its writer no longer holds.",
    ),
]
