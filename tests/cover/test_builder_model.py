"""The builder and run-helper models on small hand-made cases, and the feature probes on the
installed release (1.2.0 offers every feature the two checks draw)."""

from __future__ import annotations

from stageflow_verify.core.sut.pipeline_builder import builder_features
from stageflow_verify.core.sut.run_helpers import helper_features
from stageflow_verify.models import pipeline_builder as model
from stageflow_verify.models import run_helpers
from stageflow_verify.models.pipeline_builder import Decl, PipeView


def decl(name: str, deps: tuple[str, ...] = (), **fields: object) -> Decl:
    base = dict(
        form="class",
        kind="work",
        kind_as_text=False,
        runner_kind=None,
        dep_form="dependencies" if deps else "omitted",
        deps_as_list=False,
        conditional=False,
        config=None,
    )
    return Decl(name=name, deps=deps, **{**base, **fields})  # type: ignore[arg-type]


def pipe(*decls: Decl) -> PipeView:
    made = model.with_stages(PipeView("p", ()), decls)
    assert isinstance(made, PipeView)
    return made


def test_installed_release_offers_every_builder_and_helper_feature() -> None:
    assert all(vars(builder_features()).values()), builder_features()
    assert all(vars(helper_features()).values()), helper_features()


def test_declarations_the_docs_refuse_are_refused() -> None:
    assert model.declare(decl("a", config=3, form="callable")) == model.REFUSED
    assert model.declare(decl("a", kind=None)) == model.REFUSED  # no runner.kind
    assert model.declare(decl("a", kind=model.BOGUS_KIND)) == model.REFUSED
    assert model.declare(decl("a", ("b",), dep_form="both")) == model.REFUSED
    inferred = model.declare(decl("a", kind=None, runner_kind="work"))
    assert not isinstance(inferred, str) and inferred.kind == "work"


def test_build_outcomes_and_cycle_paths() -> None:
    assert model.build_outcome(PipeView("p", ())) == "empty"
    assert model.build_outcome(pipe(decl("a", ("ghost",)))) == "missing"
    loop = pipe(decl("a", ("b",)), decl("b", ("a",)))
    assert model.build_outcome(loop) == "cycle"
    assert model.is_cycle(loop, ("a", "b", "a")) and not model.is_cycle(loop, ("a", "b"))
    both = pipe(decl("a", ("b",)), decl("b", ("a", "ghost")))
    assert model.refusal_allowed(both, "missing") and model.refusal_allowed(both, "cycle")
    assert not model.refusal_allowed(pipe(decl("a", ("ghost",))), "cycle")


def test_topological_order_is_judged_by_edges_not_by_one_order() -> None:
    chain = pipe(decl("a"), decl("b", ("a",)), decl("c", ("a",)))
    assert model.is_topological(chain, ("a", "c", "b"))
    assert not model.is_topological(chain, ("b", "a", "c"))
    assert not model.is_topological(chain, ("a", "b"))


def test_compose_keeps_identical_specs_and_refuses_conflicts_when_strict() -> None:
    left, right = pipe(decl("a")), pipe(decl("a"), decl("b", ("a",)))
    merged = model.compose(left, right, strict=True)
    assert isinstance(merged, PipeView) and [n for n, _ in merged.stages] == ["a", "b"]
    other = pipe(decl("a", form="instance"))
    assert model.compose(left, other, strict=True) == model.CONFLICT
    wins = model.compose(left, other, strict=False)
    assert isinstance(wins, PipeView) and wins.spec("a") == other.spec("a")


def test_runner_result_prediction_for_a_cancelled_and_a_failed_chain() -> None:
    plan = run_helpers.HelperRun(
        ("ok", "cancel", "ok"), False, False, True, "graph", "kwargs", False, False, "none"
    )
    cancelled = run_helpers.predict(plan, frozenset())
    assert cancelled.success and cancelled.cancelled and len(cancelled.stages) == 2
    failed = run_helpers.predict(
        run_helpers.HelperRun(**{**plan.__dict__, "stages": ("ok", "raise")}), frozenset()
    )
    assert not failed.success and failed.stages == () and "error_type" in failed.to_dict_keys
