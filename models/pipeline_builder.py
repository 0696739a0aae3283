"""The ``Pipeline`` builder (pipeline/pipeline.py) as a pure model: what each builder call
returns, what ``build`` refuses, and what a run of the result hands each stage.

A pipeline is a name and a mapping of stage name to spec (``Pipeline`` docstring, pipeline.py:
136 "stages: Mapping of stage name -> UnifiedStageSpec"). Every rule below quotes its basis:

- ``with_stage`` never changes the pipeline it is called on ("Create new Pipeline instance to
  maintain immutability", pipeline.py:186) and keeps its name; a name already there is
  replaced (the mapping's own semantics: nothing documents a refusal).
- ``kind``: "If omitted, inferred from runner.kind" (pipeline.py:168; docs/api/pipeline.md:36);
  a kind that is neither a ``StageKind`` nor one's value is refused with ValueError, and so is
  an omitted kind on a runner without a valid ``.kind``.
- ``after``: "Readable alias for dependencies" (pipeline.py:170): a string is one edge, a
  sequence several; giving both ``after`` and ``dependencies`` is refused (ValueError).
- ``config``: "Optional kwargs passed to the stage constructor (class runners only)"
  (pipeline.py:172): refused with ValueError on any other runner, passed to the class else.
- ``compose``: "If stage names conflict, the definitions must be compatible" (pipeline.py:
  211): identical specs are kept, a conflict raises PipelineValidationError
  (docs/api/pipeline.md:187-188). Releases whose docstring says "the other pipeline's stage
  wins" are held to that instead (``strict=False``).
- ``build``: "validates empty pipelines, missing dependencies, and cycles before execution"
  (docs/api/pipeline.md:82; pipeline.py:255-256 "Validates that at least one stage exists and
  dependencies are resolvable"): :func:`build_outcome`.
- ``stage_names``: "Return stage names in topological order" (pipeline.py:240).
- ``run(ctx=None, **context_kwargs)``: the kwargs are "forwarded to PipelineContext.create(...)
  when ctx is omitted" (pipeline.py:343-344), with the pipeline's name as the topology unless
  one is given (pipeline.py:355-356); ``invoke(text)`` is "a small alias for run(...) with
  optional positional input text" (pipeline.py:380); ``run_stage`` executes "a single stage
  through the unified pipeline runtime" (pipeline.py:432) named ``{name}_pipeline`` (433).
- Wide events: "Pipeline.run() and Pipeline.build() both support wide-event emission directly"
  (docs/api/wide-events.md:108): one stage event per stage run, one pipeline event per run.
- SF-PIPE-01 (adopted while it reproduces, before 1.0.0): ``build`` accepts a missing
  dependency or a cycle, and every run of the graph deadlocks (RuntimeError "Deadlocked").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

KINDS = ("transform", "enrich", "route", "guard", "work", "agent")
FORMS = ("callable", "instance", "class")
BOGUS_KIND = "bogus"
UNBUILDABLE = "SF-PIPE-01"  # build() accepts a missing dependency or a cycle (older releases)


@dataclass(frozen=True)
class Decl:
    """One ``with_stage`` (or ``stage``) call, as drawn."""

    name: str
    form: str  # FORMS: how the runner is given
    kind: str | None  # the kind argument's value; None leaves it out
    kind_as_text: bool  # given as the plain string rather than the StageKind member
    runner_kind: str | None  # the runner's own ``.kind`` (None: it has none)
    deps: tuple[str, ...]
    dep_form: str  # "omitted" | "dependencies" | "after" | "both"
    deps_as_list: bool
    conditional: bool
    config: int | None  # the value of a ``config={"level": ...}``; None: no config


@dataclass(frozen=True)
class SpecView:
    """A stored spec as the public fields read (``runner`` as the harness's identity key)."""

    kind: str
    deps: tuple[str, ...]
    conditional: bool
    config: tuple[tuple[str, int], ...]
    runner: tuple[str, str, str | None]


@dataclass(frozen=True)
class PipeView:
    name: str
    stages: tuple[tuple[str, SpecView], ...]  # in the order first added

    def spec(self, name: str) -> SpecView | None:
        return dict(self.stages).get(name)


REFUSED = "ValueError"
CONFLICT = "PipelineValidationError"


def runner_key(decl: Decl) -> tuple[str, str, str | None]:
    return (decl.name, decl.form, decl.runner_kind)


def declare(decl: Decl) -> SpecView | str:
    """The spec ``stage(...)`` makes of ``decl``, or REFUSED."""
    if decl.config is not None and decl.form != "class":
        return REFUSED
    kind = decl.kind if decl.kind is not None else decl.runner_kind
    if kind not in KINDS:
        return REFUSED
    if decl.dep_form == "both":
        return REFUSED
    config = (("level", decl.config),) if decl.config is not None else ()
    return SpecView(kind, decl.deps, decl.conditional, config, runner_key(decl))


def with_stage(pipe: PipeView, decl: Decl) -> PipeView | str:
    spec = declare(decl)
    if isinstance(spec, str):
        return spec
    stages = dict(pipe.stages)
    stages[decl.name] = spec  # a dict keeps a replaced key where it was first added
    return PipeView(pipe.name, tuple(stages.items()))


def with_stages(pipe: PipeView, decls: tuple[Decl, ...]) -> PipeView | str:
    # stage(...) makes every spec before with_stages adds any: one refusal refuses them all.
    if any(isinstance(declare(d), str) for d in decls):
        return REFUSED
    for decl in decls:
        added = with_stage(pipe, decl)
        assert isinstance(added, PipeView)
        pipe = added
    return pipe


def compose(left: PipeView, right: PipeView, strict: bool) -> PipeView | str:
    merged = dict(left.stages)
    for name, spec in right.stages:
        if strict and name in merged and merged[name] != spec:
            return CONFLICT
        if not strict or name not in merged:
            merged[name] = spec
    return PipeView(left.name, tuple(merged.items()))


def missing_edges(pipe: PipeView) -> frozenset[tuple[str, str]]:
    names = {name for name, _ in pipe.stages}
    return frozenset((n, d) for n, s in pipe.stages for d in s.deps if d not in names)


def has_cycle(pipe: PipeView) -> bool:
    deps = {n: [d for d in s.deps if d != n] for n, s in pipe.stages}
    if any(n in s.deps for n, s in pipe.stages):
        return True
    done: set[str] = set()
    while True:
        ready = [
            n for n in deps if n not in done and all(d in done or d not in deps for d in deps[n])
        ]
        if not ready:
            return len(done) < len(deps)
        done.update(ready)


def build_outcome(pipe: PipeView) -> str:
    """``ok``, ``empty``, ``missing`` or ``cycle`` (a pipeline with both a missing
    dependency and a cycle may be refused for either: :func:`refusal_allowed`)."""
    if not pipe.stages:
        return "empty"
    if missing_edges(pipe):
        return "missing"
    return "cycle" if has_cycle(pipe) else "ok"


def refusal_allowed(pipe: PipeView, refusal: str) -> bool:
    outcome = build_outcome(pipe)
    return refusal == outcome or (refusal == "cycle" and outcome == "missing" and has_cycle(pipe))


def is_cycle(pipe: PipeView, path: tuple[str, ...]) -> bool:
    """``path`` (CycleDetectedError.cycle_path, e.g. ``a -> b -> a``) follows dependency edges
    of ``pipe`` and ends where it began."""
    specs = dict(pipe.stages)
    if len(path) < 2 or path[0] != path[-1]:
        return False
    return all(a in specs and b in specs[a].deps for a, b in itertools.pairwise(path))


def is_topological(pipe: PipeView, names: tuple[str, ...]) -> bool:
    """``names`` lists every stage once, each after all of its dependencies."""
    if sorted(names) != sorted(n for n, _ in pipe.stages):
        return False
    place = {n: i for i, n in enumerate(names)}
    return all(place[d] < place[n] for n, s in pipe.stages for d in s.deps)


def stage_output(name: str, spec: SpecView, input_text: str, topology: str) -> dict[str, object]:
    """What the harness's stage returns: its own name, how it was given, its constructor's
    config and what its context reads (input text, topology)."""
    level = dict(spec.config).get("level")
    return {
        "stage": name,
        "form": spec.runner[1],
        "level": level,
        "input": input_text,
        "topology": topology,
    }


def run_outputs(pipe: PipeView, input_text: str, topology: str) -> dict[str, dict[str, object]]:
    return {n: stage_output(n, s, input_text, topology) for n, s in pipe.stages}
