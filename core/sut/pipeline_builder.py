"""The ``Pipeline`` builder driven with a :class:`BuilderProgram` and read back through every
public read path, as :mod:`models.pipeline_builder` predicts.

A program starts from one pipeline and applies builder calls, each to an earlier pipeline (so
one object is reused by several calls, as an application reuses a base pipeline); then it
builds the last pipeline and runs it through the entry points drawn. Every pipeline made is
read again at the end (its ``name`` and each spec's ``kind``, ``dependencies``,
``conditional``, ``config`` and ``runner``), so a call that changed an earlier pipeline shows.

Runners are made once per (name, form, own kind) and reused, so two declarations of one stage
hand Stageflow the same runner object and ``compose`` can tell identical specs from conflicting
ones. Each runner returns what :func:`models.pipeline_builder.stage_output` predicts from what
it was given and what its context reads.

Releases differ, and :func:`builder_features` probes what each offers (never its version).

For example::

    played = run(lambda: play(program), chooser).value
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
from dataclasses import dataclass, field
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.pipeline_entries import raised_in_stageflow, run_entries
from stageflow_verify.models.pipeline_builder import Decl, PipeView, SpecView

sf = stageflow_module()


@dataclass(frozen=True)
class BuilderFeatures:
    named: bool  # Pipeline(name=...)
    config: bool  # with_stage(config=...)
    after: bool  # with_stage(after=...), stage(), with_stages, from_stages
    kind_optional: bool  # kind may be left out (inferred) or given as its value
    deps_list: bool  # dependencies may be a list
    strict_compose: bool  # compose's docstring: same-named specs "must be compatible"
    introspection: bool  # get_stage, has_stage, stage_names
    entries: bool  # Pipeline.run, Pipeline.invoke, run_stage
    structured: bool  # build refuses with PipelineValidationError (error_info codes)
    wide: bool  # build(emit_stage_wide_events=..., wide_event_emitter=...)


def builder_features() -> BuilderFeatures:
    return _features(sf.Pipeline)


@functools.lru_cache(maxsize=8)
def _features(pipeline: Any) -> BuilderFeatures:
    params = inspect.signature(pipeline.with_stage).parameters
    return BuilderFeatures(
        named="name" in inspect.signature(pipeline).parameters,
        config="config" in params,
        after="after" in params,
        kind_optional=params["kind"].default is None,
        deps_list="list" in str(params["dependencies"].annotation),
        strict_compose="must be compatible" in (pipeline.compose.__doc__ or ""),
        introspection=hasattr(pipeline, "stage_names"),
        entries=hasattr(pipeline, "invoke"),
        structured=importlib.util.find_spec("stageflow.pipeline.validation") is not None,
        wide="wide_event_emitter" in inspect.signature(pipeline.build).parameters,
    )


@dataclass(frozen=True)
class BuilderProgram:
    """``ops``: ``("with_stage", source, decl)``, ``("with_stages", source, decls)``,
    ``("from_stages", name, decls)`` or ``("compose", left, right)``, sources being indexes of
    the pipelines made so far (the first is ``Pipeline(name=name)``, or ``Pipeline()``)."""

    name: str | None
    ops: tuple[tuple[Any, ...], ...]
    entries: tuple[str, ...]
    wide: tuple[bool, bool]  # emit_stage_wide_events, emit_pipeline_wide_event


@dataclass
class Played:
    results: list[str] = field(default_factory=list)  # per op: "ok", or the refusal's class
    views: list[PipeView] = field(default_factory=list)  # every pipeline made, read at the end
    lookups: dict[str, Any] = field(default_factory=dict)  # get_stage/has_stage/stage_names
    build: tuple[str, Any] = ("ok", None)
    runs: list[tuple[str, Any, Any]] = field(default_factory=list)  # (entry, outcome, wide)


class Runners:
    """One runner object per (name, form, own kind), and the way back from object to key."""

    def __init__(self) -> None:
        self.made: dict[tuple[str, str, str | None], Any] = {}

    def runner(self, decl: Decl) -> Any:
        key = (decl.name, decl.form, decl.runner_kind)
        if key not in self.made:
            self.made[key] = _make_runner(*key)
        return self.made[key]

    def key_of(self, runner: Any) -> tuple[str, str, str | None]:
        for key, made in self.made.items():
            if made is runner:
                return key
        return ("not a runner the harness gave", repr(runner), None)


def _reply(name: str, form: str, level: int | None, ctx: Any) -> Any:
    snapshot = ctx.snapshot
    data = {
        "stage": name,
        "form": form,
        "level": level,
        "input": snapshot.input_text,
        "topology": snapshot.topology,
    }
    return sf.StageOutput.ok(data=data)


def _make_runner(name: str, form: str, own_kind: str | None) -> Any:
    async def call(ctx: Any) -> Any:
        return _reply(name, "callable", None, ctx)

    class Made(sf.Stage):  # type: ignore[misc,name-defined]
        def __init__(self, level: int | None = None) -> None:
            self.level = level

        async def execute(self, ctx: Any) -> Any:
            return _reply(name, form, self.level, ctx)

    runner: Any = call if form == "callable" else Made() if form == "instance" else Made
    if own_kind is not None:
        runner.kind = own_kind
    return runner


def _call_with_stage(pipe: Any, decl: Decl, runners: Runners) -> Any:
    kinds = {k.value: k for k in sf.StageKind}
    args: dict[str, Any] = {}
    if decl.kind is not None:
        args["kind"] = (
            decl.kind if decl.kind_as_text or decl.kind not in kinds else kinds[decl.kind]
        )
    deps: Any = list(decl.deps) if decl.deps_as_list else decl.deps
    if decl.dep_form in ("dependencies", "both"):
        args["dependencies"] = deps
    if decl.dep_form in ("after", "both"):
        args["after"] = decl.deps[0] if len(decl.deps) == 1 else deps
    if decl.conditional:
        args["conditional"] = True
    if decl.config is not None:
        args["config"] = {"level": decl.config}
    if pipe is None:  # the stage(...) helper
        return sf.pipeline.pipeline.stage(decl.name, runners.runner(decl), **args)
    return pipe.with_stage(decl.name, runners.runner(decl), **args)


def pick(made: list[Any], index: int) -> Any:
    """The pipeline an op names: indexes are drawn before it is known which calls are refused
    (a refused call makes no pipeline), so one past the end means the last."""
    return made[min(index, len(made) - 1)]


def _apply(op: tuple[Any, ...], made: list[Any], runners: Runners) -> Any:
    kind = op[0]
    if kind == "with_stage":
        return _call_with_stage(pick(made, op[1]), op[2], runners)
    if kind == "compose":
        return pick(made, op[1]).compose(pick(made, op[2]))
    specs = [_call_with_stage(None, d, runners) for d in op[2]]
    if kind == "with_stages":
        return pick(made, op[1]).with_stages(*specs)
    return sf.Pipeline.from_stages(*specs, **({"name": op[1]} if op[1] else {}))


def read_view(pipe: Any, runners: Runners) -> PipeView:
    stages = []
    for name, spec in pipe.stages.items():
        kind = getattr(spec.kind, "value", spec.kind)
        view = SpecView(
            str(kind),
            tuple(spec.dependencies),
            bool(spec.conditional),
            tuple(sorted(getattr(spec, "config", {}).items())),
            runners.key_of(spec.runner),
        )
        stages.append((name, view))
    return PipeView(str(getattr(pipe, "name", "pipeline")), tuple(stages))


async def play(program: BuilderProgram) -> Played:
    """Applies ``program`` to real Stageflow and reads back everything it made."""
    features = builder_features()
    runners = Runners()
    made: list[Any] = [sf.Pipeline(name=program.name) if program.name else sf.Pipeline()]
    played = Played()
    for op in program.ops:
        try:
            made.append(_apply(op, made, runners))
            played.results.append("ok")
        except Exception as exc:  # compared by class: ValueError, PipelineValidationError
            if not raised_in_stageflow(exc):
                raise
            played.results.append(type(exc).__name__)
    target = made[-1]
    if features.introspection:
        names = [name for name, _ in target.stages.items()]
        played.lookups = {
            "get": {n: target.get_stage(n) is target.stages[n] for n in names},
            "get_absent": target.get_stage("absent"),
            "has": {n: target.has_stage(n) for n in [*names, "absent"]},
            "order": tuple(target.stage_names()),
        }
    await run_entries(program, target, played, features.wide)
    played.views = [read_view(p, runners) for p in made]
    return played
