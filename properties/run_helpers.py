"""``helpers.run_utils``: PipelineRunner, run_simple_pipeline, RunResult, ObservableEventSink,
setup_logging, JsonLogFormatter and create_snapshot against :mod:`models.run_helpers`, with
SF-HELP-01..05 (``stateful/helper_findings.py``, ``stateful/helper_hardening_findings.py``)
adopted while they reproduce.

Two laws, run one after the other: ``runs_law`` draws one helper run per example (a chain of 1
to 3 stages, each returning data, raising or cancelling; the runner's options; how the
pipeline and the context are given); ``tools_law`` draws one event sink session (events of
every kind the sink colours, with and without data, emitted by ``emit`` and ``try_emit``), one
``setup_logging`` call with a record logged through it and one ``create_snapshot`` call.
Canonical runs and a sink session follow, which ci's draws can miss; then the runs of one kept
graph (:mod:`properties.reused_graph`).

For example::

    run_helpers_law()  # raises with the shrunk example and the claim it broke
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import (
    Check,
    adopting_known,
    count_example,
)
from stageflow_verify.core.sched.choosers import HypothesisChooser, ReplayChooser
from stageflow_verify.core.sched.scheduler import run
from stageflow_verify.core.sut.graphs import quiet
from stageflow_verify.core.sut.run_helpers import (
    helper_features,
    play_helper_run,
    play_logging,
    play_sink,
    read_snapshots,
)
from stageflow_verify.models import run_helpers as model
from stageflow_verify.models.run_helpers import HelperRun
from stageflow_verify.properties.reused_graph import reuse_check
from stageflow_verify.stateful.helper_findings import HELPER_FINDINGS, has_helpers
from stageflow_verify.stateful.helper_hardening_findings import HARDENING_FINDINGS

CHECK = "helpers.run_utils"
EVENT_TYPES = (
    "stage.a.started",
    "stage.a.completed",
    "stage.b.failed",
    "tool.call",
    "stage.a.skipped",
    "pipeline.error",
    "custom.note",
)


@st.composite
def helper_runs(draw: st.DrawFn) -> HelperRun:
    can = helper_features()
    simple = draw(st.booleans())
    contexts = ["kwargs", "metadata"]
    if not simple:
        contexts += ["ids", "snapshot"] + (["pipeline_ctx", "both"] if can.takes_context else [])
    instruments = ["none", "started", "idle"] if can.instruments and not simple else ["none"]
    return HelperRun(
        stages=tuple(draw(st.lists(st.sampled_from(model.BEHAVIOURS), min_size=1, max_size=3))),
        verbose=draw(st.booleans()),
        colorize=draw(st.booleans()),
        capture=simple or draw(st.booleans()),
        pipeline_as=draw(st.sampled_from(["pipeline", "graph", "specs"])),
        context_as=draw(st.sampled_from(contexts)),
        simple=simple,
        long_text=draw(st.booleans()),
        instruments=draw(st.sampled_from(instruments)),
    )


events = st.lists(
    st.tuples(
        st.sampled_from(EVENT_TYPES),
        st.sampled_from(
            [None, {}, {"stage": "a", "error": "e" * 90}, {"stage": "b", "reason": "r"}]
        ),
    ),
    max_size=4,
)
records = st.sampled_from([{}, {"event": "e1"}, {"stage": "a", "duration_ms": 5}])


IDS = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id", "interaction_id")
snapshot_args = st.dictionaries(
    st.sampled_from([*IDS, "channel", "topology", "execution_mode"]), st.just("given"), max_size=4
)


@given(plan=helper_runs(), data=st.data())
def runs_law(plan: HelperRun, data: st.DataObject, active: frozenset[str]) -> None:
    count_example()
    with quiet():
        seen = run(lambda: play_helper_run(plan), HypothesisChooser(data)).value
        judge_run(plan, seen, active)


# The sink, logging and snapshot claims need no run: a law of their own, so that shrinking a
# failure of one of them replays only these cheap calls.
@given(
    sink=st.tuples(st.booleans(), st.booleans(), st.booleans(), events),
    logs=st.tuples(st.booleans(), st.booleans(), st.booleans(), records, st.booleans()),
    snapshot=snapshot_args,
)
def tools_law(sink: Any, logs: Any, snapshot: dict[str, Any], active: frozenset[str]) -> None:
    count_example()
    judge_sink(sink, asyncio.run(play_sink(*sink)), active)
    judge_logging(logs, play_logging(*logs))
    judge_snapshots(snapshot, read_snapshots(snapshot))


def judge_snapshots(drawn: dict[str, Any], pair: tuple[Any, Any]) -> None:
    """create_snapshot: a given field is kept; each id "(default: new UUID)", org_id has none;
    "channel: Channel identifier" lands in the metadata (run_utils.py:417-433)."""
    given = {k: uuid.UUID(int=len(k)) if k in IDS else v for k, v in drawn.items()}
    first, second = pair
    where = f"\n  create_snapshot({given})"
    for name in IDS:
        mine, other = getattr(first, name), getattr(second, name)
        if name in given:
            assert mine == given[name], f"{name} given {given[name]}, snapshot has {mine}{where}"
        elif name == "org_id":
            assert mine is None, f"org_id not given, snapshot has {mine}{where}"
        else:
            assert isinstance(mine, uuid.UUID) and mine != other, f"{name}: {mine}, {other}{where}"
    assert first.metadata.get("channel") == given.get("channel", "cli"), f"{first.metadata}{where}"
    assert first.topology == given.get("topology", "pipeline"), f"topology {first.topology}{where}"
    assert first.execution_mode == given.get("execution_mode", "practice"), where


def judge_run(plan: HelperRun, seen: dict[str, Any], active: frozenset[str]) -> None:
    expected = model.predict(plan, active)
    where = f"\n  plan: {plan}\n  adopted: {sorted(active) or 'none'}"
    assert seen["raised"] == expected.raised, (
        f"raised {seen['raised']}, model {expected.raised}{where}"
    )
    if expected.raised:
        return
    result = seen["result"]
    stages = tuple((n, tuple(sorted(d.items()))) for n, d in result.stages.items())
    got = model.HelperResult(
        None,
        result.success,
        stages,
        result.error_type,
        result.cancelled,
        result.cancel_reason,
        tuple(seen["to_dict"]),
    )
    assert got == expected, f"RunResult\n  model:     {expected}\n  stageflow: {got}{where}"
    if plan.context_as in ("ids", "snapshot", "pipeline_ctx"):
        assert result.pipeline_run_id == seen["run_id"], (
            f"pipeline_run_id {result.pipeline_run_id}{where}"
        )
        assert seen["to_dict"]["pipeline_run_id"] == str(seen["run_id"]), f"to_dict run id{where}"
    if not plan.capture:
        assert result.events == [], f"capture_events=False, yet events {result.events}{where}"
    assert seen["data"] == {n: dict(d).get("index", "none") for n, d in expected.stages}, where
    assert seen["data_absent"] == "none", f"get_stage_data default{where}"
    types = tuple(e["type"] for e in result.events)
    wrong = model.printed_claims(plan, seen["during"], types)
    assert not wrong, f"{wrong}{where}"
    printed = seen["printed"]  # print_result: says what failed, or lists the stages
    if not result.success:
        assert str(result.error) in printed, f"print_result never shows the error{where}"
    assert all(n in printed for n in result.stages), f"print_result leaves out a stage{where}"
    if not plan.colorize:
        assert "\033[" not in printed, f"print_result printed ANSI with colorize=False{where}"


def judge_sink(drawn: Any, seen: dict[str, Any], active: frozenset[str]) -> None:
    verbose, colorize, capture, sent = drawn
    where = f"\n  sink: {drawn}"
    kept = [(t, d or {}) for t, d in sent] if capture else []
    assert seen["events"] == kept, f"events {seen['events']}, model {kept}{where}"
    for pattern, types in seen["by_type"].items():
        assert types == [t for t, _ in kept if pattern in t], (
            f"get_events_by_type({pattern}){where}"
        )
    stage_a = model.stage_events(kept, "a", active)
    assert seen["stage_a"] == stage_a, f"get_stage_events('a') {seen['stage_a']}{where}"
    printed = seen["printed"]
    assert bool(printed) == (verbose and bool(sent)), (
        f"verbose={verbose}, printed {printed!r}{where}"
    )
    assert all(t in printed for t, _ in sent) if verbose else True, f"an event not printed{where}"
    assert colorize or "\033[" not in printed, f"colorize=False, yet ANSI printed{where}"
    # print_summary ("Print summary of captured events"): their count, or that there are none.
    count = str(len(kept)) if kept else "No events"
    assert count in seen["summary"], f"summary {seen['summary']!r} for {len(kept)}{where}"
    assert seen["cleared"] == [], f"clear() left {seen['cleared']}{where}"


def judge_logging(drawn: Any, seen: dict[str, Any]) -> None:
    verbose, json_format, to_file, record, with_error = drawn
    where = f"\n  setup_logging: {drawn}"
    import logging

    assert seen["level"] == (logging.DEBUG if verbose else logging.INFO), f"level{where}"
    handlers = sorted(["StreamHandler"] + (["FileHandler"] if to_file else []))
    assert seen["handlers"] == handlers, f"handlers {seen['handlers']}{where}"
    assert any("hello world" in line for line in seen["lines"]), f"nothing logged{where}"
    if to_file:
        assert "hello world" in seen["file"], f"log_file holds {seen['file']!r}{where}"
    if json_format:
        entry = seen["json"][0]
        assert entry["message"] == "hello world" and entry["level"] == "WARNING", where
        assert {k: entry.get(k) for k in record} == record, f"extra fields {entry}{where}"
        assert ("exception" in entry) == with_error, f"exception field {entry}{where}"


def canonical_plans() -> list[HelperRun]:
    """Runs ci's draws can miss, played after the search: a cancelled, a failed and a
    successful run, verbose, with every instrument this release has."""
    can = helper_features()
    instruments = "started" if can.instruments else "none"
    plan = HelperRun(
        ("ok", "cancel"), True, True, True, "graph", "kwargs", False, True, instruments
    )
    given = "pipeline_ctx" if can.takes_context else "snapshot"
    return [
        plan,
        HelperRun(**{**plan.__dict__, "stages": ("ok", "raise"), "colorize": False}),
        HelperRun(**{**plan.__dict__, "stages": ("ok", "ok"), "context_as": given}),
    ]


CANONICAL_EVENTS: list[tuple[str, dict[str, Any] | None]] = [
    (t, {"stage": "a", "error": "e" * 90}) for t in EVENT_TYPES
]


def helpers_check(active: frozenset[str]) -> None:
    runs_law(active=active)
    tools_law(active=active)
    with quiet():
        for plan in canonical_plans():
            seen = run(functools.partial(play_helper_run, plan), ReplayChooser()).value
            judge_run(plan, seen, active)
        sink = (True, True, True, CANONICAL_EVENTS)
        judge_sink(sink, asyncio.run(play_sink(*sink)), active)
    reuse_check(active)


run_helpers_law = adopting_known(helpers_check, lambda: HELPER_FINDINGS + HARDENING_FINDINGS)

CHECKS = [
    Check(
        name=CHECK,
        run=run_helpers_law,
        applies=has_helpers,
        summary="run_utils: PipelineRunner, run_simple_pipeline, RunResult, sink, logging",
    )
]
