"""What ``pipelines.builder`` asserts: a played :class:`~core.sut.pipeline_builder.BuilderProgram`
against :mod:`models.pipeline_builder`, read path by read path.

The model replays the program on :class:`~models.pipeline_builder.PipeView` values and each
assertion names what differed. A composed pipeline's name is compared only when both names
agree (nothing documents ``a+b``); :data:`ANY_NAME` stands for it until then.
"""

from __future__ import annotations

from typing import Any

from stageflow_verify.core.sut.pipeline_builder import BuilderFeatures, BuilderProgram, Played
from stageflow_verify.core.sut.pipeline_entries import REFUSED_ENTRIES, given_topology
from stageflow_verify.models import pipeline_builder as model
from stageflow_verify.models.pipeline_builder import PipeView

ANY_NAME = "<composed>"
NOT_STRUCTURED = "ValueError"  # what build() raises before PipelineValidationError exists


def replay(program: BuilderProgram, can: BuilderFeatures) -> tuple[list[str], list[PipeView]]:
    """The model's result of each op and the pipelines it makes (refused calls make none)."""
    made = [PipeView(program.name or "pipeline", ())]
    results: list[str] = []
    for op in program.ops:
        source = made[min(op[1], len(made) - 1)] if op[0] != "from_stages" else None
        outcome: PipeView | str
        if op[0] == "with_stage":
            assert source is not None
            outcome = model.with_stage(source, op[2])
        elif op[0] == "with_stages":
            assert source is not None
            outcome = model.with_stages(source, op[2])
        elif op[0] == "from_stages":
            outcome = model.with_stages(PipeView(op[1] or "pipeline", ()), op[2])
        else:
            assert source is not None
            right = made[min(op[2], len(made) - 1)]
            outcome = model.compose(source, right, can.strict_compose)
            if isinstance(outcome, PipeView) and source.name != right.name:
                outcome = PipeView(ANY_NAME, outcome.stages)
        results.append(outcome if isinstance(outcome, str) else "ok")
        if isinstance(outcome, PipeView):
            made.append(outcome)
    return results, made


def _same_view(mine: PipeView, theirs: PipeView) -> bool:
    names_agree = ANY_NAME in (mine.name,) or mine.name == theirs.name
    return names_agree and dict(mine.stages) == dict(theirs.stages)


def judge(
    program: BuilderProgram, played: Played, can: BuilderFeatures, active: frozenset[str]
) -> None:
    results, made = replay(program, can)
    where = f"\n  program: {program}\n  adopted: {sorted(active) or 'none'}"
    assert played.results == results, (
        f"builder calls: model {results}, stageflow {played.results}{where}"
    )
    assert len(played.views) == len(made), (
        f"pipelines made: {len(made)} vs {len(played.views)}{where}"
    )
    for i, (mine, theirs) in enumerate(zip(made, played.views, strict=True)):
        # Read after the whole program: a later call that changed this pipeline shows here.
        assert _same_view(mine, theirs), (
            f"pipeline {i}:\n  model:     {mine}\n  stageflow: {theirs}{where}"
        )
    target = made[-1]
    outcome = model.build_outcome(target)
    if can.introspection:
        _judge_lookups(target, played.lookups, outcome, where)
    built = _judge_build(target, played.build, outcome, can, active, where)
    name = played.views[-1].name if target.name == ANY_NAME else target.name
    for i, (entry, seen, wide) in enumerate(played.runs):
        expected, events = _predict_run(entry, target, name, f"run-{i}", built, program.wide)
        if expected == "deadlock":
            assert seen[:2] == ("raised", "RuntimeError") and "Deadlock" in str(seen[2]), (
                f"{entry}: a graph {model.UNBUILDABLE} builds should deadlock, got {seen}{where}"
            )
            continue
        if expected == "refused args":  # refused before anything is built
            assert seen[:2] == ("raised", "ValueError"), f"{entry}: {seen}, not ValueError{where}"
            continue
        if expected == "refused":  # the build's refusal, through the run that builds
            assert seen[:2] == ("raised", played.build[0]), (
                f"{entry}: {seen} vs {played.build}{where}"
            )
            continue
        assert seen == expected, f"{entry}:\n  model:     {expected}\n  stageflow: {seen}{where}"
        if can.wide:
            assert wide == events, f"{entry} wide events: model {events}, stageflow {wide}{where}"


def _judge_lookups(target: PipeView, seen: dict[str, Any], outcome: str, where: str) -> None:
    names = [n for n, _ in target.stages]
    assert seen["get"] == dict.fromkeys(names, True), f"get_stage: {seen['get']}{where}"
    assert seen["get_absent"] is None, f"get_stage('absent'): {seen['get_absent']}{where}"
    assert seen["has"] == {**dict.fromkeys(names, True), "absent": False}, f"has_stage{where}"
    order = seen["order"]
    if outcome == "ok":
        assert model.is_topological(target, order), f"stage_names() {order} for {target}{where}"
    else:  # no order of every stage exists: each name it lists is a stage, listed once
        assert len(set(order)) == len(order) and set(order) <= set(names), (
            f"stage_names() {order}{where}"
        )


def _judge_build(
    target: PipeView,
    seen: tuple[str, Any],
    outcome: str,
    can: BuilderFeatures,
    active: frozenset[str],
    where: str,
) -> str:
    """Asserts what build() did; returns ``ok``, ``refused`` or ``deadlock`` for the runs."""
    if outcome == "ok":
        assert seen[0] == "ok", f"build() of a valid pipeline raised {seen}{where}"
        return "ok"
    if outcome != "empty" and model.UNBUILDABLE in active:
        assert seen[0] == "ok", (
            f"build(): {seen} (adopted {model.UNBUILDABLE} says it builds){where}"
        )
        return "deadlock"
    if not can.structured:
        assert seen[0] == NOT_STRUCTURED, f"build() of a {outcome} pipeline: {seen}{where}"
        return "refused"
    assert model.refusal_allowed(target, seen[0]), f"build() of a {outcome} pipeline: {seen}{where}"
    if seen[0] == "missing":
        assert tuple(seen[1]) in model.missing_edges(target), f"missing dependency {seen[1]}{where}"
    if seen[0] == "cycle":
        assert model.is_cycle(target, tuple(seen[1])), f"cycle_path {seen[1]} for {target}{where}"
    return "refused"


def _predict_run(
    entry: str, target: PipeView, name: str, text: str, built: str, wide: tuple[bool, bool]
) -> tuple[Any, tuple[tuple[str, str], ...]]:
    if entry in REFUSED_ENTRIES:
        return "refused args", ()
    if entry == "run_stage":  # one stage, no dependencies: always buildable
        if not target.stages:
            return ("no stage",), ()
        stage, spec = target.stages[0]
        out = model.stage_output(stage, spec, text, f"{stage}_pipeline")
        return {stage: out}, _wide_events((stage,), wide)
    if built == "deadlock":
        return "deadlock", ()
    if built == "refused":
        return ("not built",) if entry == "build_run" else "refused", ()
    # A run on a context the harness made sees that context's topology (whatever it is).
    given = given_topology(text)
    topology = {
        "run_topology": "given",
        "build_run": given,
        "run_ctx": given,
        "invoke_ctx": given,
    }.get(entry, name)
    outputs = model.run_outputs(target, text, topology)
    return outputs, _wide_events(tuple(outputs), wide)


def _wide_events(stages: tuple[str, ...], wide: tuple[bool, bool]) -> tuple[tuple[str, str], ...]:
    events = [("stage", s) for s in stages if wide[0]] + ([("pipeline", "")] if wide[1] else [])
    return tuple(sorted(events))
