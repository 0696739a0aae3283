"""``pipelines.builder``: the ``Pipeline`` builder's whole public surface against
:mod:`models.pipeline_builder`, and SF-PIPE-01.

A program draws the first pipeline's name (or leaves it out), then 0 to 5 builder calls on
earlier pipelines (``with_stage`` with every argument given or left out, ``with_stages`` and
``from_stages`` with ``stage(...)`` specs, ``compose``), and 1 to 3 runs of the last pipeline
(``build().run``, ``run`` with a context or with keywords, ``invoke`` three ways,
``run_stage``, and the three calls that must be refused). Stages are drawn from four names,
so duplicates, missing dependencies and cycles come up often. Everything is read back
(:mod:`core.sut.pipeline_builder`) and must equal the model's prediction.

For example::

    run_builder_law()  # raises with the shrunk program and what differed
"""

from __future__ import annotations

import functools
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
from stageflow_verify.core.sut.pipeline_builder import (
    BuilderFeatures,
    BuilderProgram,
    builder_features,
    play,
)
from stageflow_verify.models import pipeline_builder as model
from stageflow_verify.models.pipeline_builder import Decl
from stageflow_verify.properties.pipeline_builder_judge import judge
from stageflow_verify.stateful.builder_findings import BUILDER_FINDINGS

CHECK = "pipelines.builder"
NAMES = ("sa", "sb", "sc", "sd")  # two letters: a string taken for a sequence shows
ENTRIES = (
    "build_run",
    "run_ctx",
    "run_kwargs",
    "run_topology",
    "invoke_text",
    "invoke_ctx",
    "invoke_kwargs",
    "run_stage",
    "run_both",
    "invoke_ctx_text",
    "invoke_twice",
)


@st.composite
def decls(draw: st.DrawFn, can: BuilderFeatures) -> Decl:
    form = draw(st.sampled_from(model.FORMS))
    kinds = [*model.KINDS, model.BOGUS_KIND] if can.kind_optional else list(model.KINDS)
    kind = draw(st.sampled_from([None, *kinds]) if can.kind_optional else st.sampled_from(kinds))
    own = draw(st.sampled_from([None, "work", model.BOGUS_KIND])) if can.kind_optional else None
    deps = tuple(draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True)))
    dep_forms = ["omitted", "dependencies", "after", "both"] if can.after else ["dependencies"]
    dep_form = draw(st.sampled_from(dep_forms))
    if dep_form == "omitted" or (dep_form == "after" and not deps):
        deps = ()
        dep_form = "omitted" if dep_form == "after" else dep_form
    config = draw(st.sampled_from([None, None, 3])) if can.config else None
    return Decl(
        name=draw(st.sampled_from(NAMES)),
        form=form,
        kind=kind,
        kind_as_text=can.kind_optional and draw(st.booleans()),
        runner_kind=own,
        deps=deps,
        dep_form=dep_form,
        deps_as_list=can.deps_list and draw(st.booleans()),
        conditional=draw(st.booleans()),
        config=config,
    )


@st.composite
def programs(draw: st.DrawFn) -> BuilderProgram:
    can = builder_features()
    ops: list[tuple[Any, ...]] = []
    made = 1
    for _ in range(draw(st.integers(0, 5))):
        kinds = ["with_stage", "with_stage", "compose"]
        kinds += ["with_stages", "from_stages"] if can.after else []
        kind = draw(st.sampled_from(kinds))
        source = draw(st.integers(0, made - 1))
        if kind == "with_stage":
            ops.append((kind, source, draw(decls(can))))
        elif kind == "compose":
            ops.append((kind, source, draw(st.integers(0, made - 1))))
        else:
            specs = tuple(draw(st.lists(decls(can), min_size=1, max_size=3)))
            name = draw(st.sampled_from([None, "q"]))
            ops.append((kind, source, specs) if kind == "with_stages" else (kind, name, specs))
        made += 1  # an upper bound: a refused call makes none, and the index is clamped
    entries = ENTRIES if can.entries else ("build_run",)
    return BuilderProgram(
        name=draw(st.sampled_from([None, "p", "q"])) if can.named else None,
        ops=tuple(ops),
        entries=tuple(draw(st.lists(st.sampled_from(entries), min_size=1, max_size=3))),
        wide=(draw(st.booleans()), draw(st.booleans())) if can.wide else (False, False),
    )


@given(program=programs(), data=st.data())
def builder_law(program: BuilderProgram, data: st.DataObject, active: frozenset[str]) -> None:
    count_example()
    with quiet():
        played = run(lambda: play(program), HypothesisChooser(data)).value
    judge(program, played, builder_features(), active)


def canonical_programs(can: BuilderFeatures) -> list[BuilderProgram]:
    """Programs ci's draws can miss, played after the search whatever it drew: a base reused
    by two branches composed back (identical specs kept; the same name with another runner
    refused), an ``after`` chain, a dependency on a missing stage and a cycle, each run by
    every entry point this release has."""

    def decl(name: str, deps: tuple[str, ...] = (), form: str = "class") -> Decl:
        dep_form = "after" if deps and can.after else "dependencies" if deps else "omitted"
        return Decl(name, form, "work", False, None, deps, dep_form, False, False, None)

    entries = ENTRIES if can.entries else ("build_run",)
    base: list[tuple[Any, ...]] = [("with_stage", 0, decl("sa"))]
    shapes: list[list[tuple[Any, ...]]] = [
        [
            *base,
            ("with_stage", 1, decl("sb", ("sa",))),
            ("with_stage", 1, decl("sc", ("sa",))),
            ("compose", 2, 3),
        ],
        [
            *base,
            ("with_stage", 1, decl("sb", form="callable")),
            ("with_stage", 1, decl("sb")),
            ("compose", 2, 3),
        ],
        [*base, ("with_stage", 1, decl("sb", ("sd",)))],
        [*base, ("with_stage", 1, decl("sb", ("sa",))), ("with_stage", 2, decl("sa", ("sb",)))],
    ]
    wide = (True, True) if can.wide else (False, False)
    name = "p" if can.named else None
    return [BuilderProgram(name, tuple(ops), entries, wide) for ops in shapes]


def builder_check(active: frozenset[str]) -> None:
    builder_law(active=active)
    for program in canonical_programs(builder_features()):
        with quiet():
            played = run(functools.partial(play, program), ReplayChooser()).value
        judge(program, played, builder_features(), active)


run_builder_law = adopting_known(builder_check, lambda: BUILDER_FINDINGS)

CHECKS = [
    Check(
        name=CHECK,
        run=run_builder_law,
        summary="Pipeline builder: with_stage/stage/compose/build, introspection, run entries",
    ),
]
