"""Bugs planted in the ``Pipeline`` builder (pipeline/pipeline.py), each caught by
``pipelines.builder`` with a shrunk program; pristine Stageflow passes.

One bug per rule of :mod:`models.pipeline_builder`: a builder call that changes the pipeline
it is called on, ``after="sa"`` read as the sequence ``("s", "a")``, a kind on the runner given
as text refused, ``compose`` keeping a conflicting spec, ``build`` skipping the dependency
check (SF-PIPE-01's own shape, so judged with nothing adopted) or the cycle check,
``stage_names`` out of order, ``run`` without its default topology, ``invoke`` taking
the input text twice, ``config`` dropped, and ``build`` ignoring ``emit_stage_wide_events``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pytest

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.properties.pipeline_builder import builder_check, run_builder_law
from stageflow_verify.stateful.builder_findings import builds_what_it_cannot_run
from tests.quality.planting import expect_failure, expect_pass

sf = stageflow_module()
builder = sf.pipeline.pipeline
Pipeline = sf.Pipeline


def test_pristine_stageflow_passes() -> None:
    expect_pass(run_builder_law)


def test_with_stage_changing_its_own_pipeline_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Pipeline.with_stage

    @functools.wraps(real)
    def with_stage(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        made = real(self, name, *args, **kwargs)
        self.stages[name] = made.stages[name]  # the planted bug: the source changes too
        return made

    monkeypatch.setattr(Pipeline, "with_stage", with_stage)
    caught = expect_failure(run_builder_law)
    assert "pipeline 0" in str(caught.error), caught.error


def test_after_string_read_as_a_sequence_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def normalize(dependencies: Any = None, *, after: str | Sequence[str] | None = None) -> Any:
        if dependencies is not None and after is not None:
            raise ValueError("both")
        return tuple(after) if after is not None else tuple(dependencies or ())

    monkeypatch.setattr(builder, "_normalize_dependencies", normalize)
    caught = expect_failure(run_builder_law)
    assert "after" in str(caught.error), caught.error


def test_runner_kind_given_as_text_refused_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def infer(runner: Any) -> Any:
        candidate = getattr(runner, "kind", None)
        if isinstance(candidate, sf.StageKind):
            return candidate
        raise ValueError("kind is required")  # the planted bug: a valid "work" refused

    monkeypatch.setattr(builder, "_infer_stage_kind", infer)
    caught = expect_failure(run_builder_law)
    assert "builder calls" in str(caught.error), caught.error


def test_compose_keeping_a_conflicting_spec_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "ensure_compatible_stage_specs", lambda **kwargs: None)
    caught = expect_failure(run_builder_law)
    assert "builder calls" in str(caught.error) and "compose" in str(caught.error), caught.error


def test_build_without_the_cycle_check_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sf.pipeline.validation, "_detect_cycles", lambda stages: None)
    caught = expect_failure(run_builder_law)
    assert "build()" in str(caught.error) and "cycle" in str(caught.error), caught.error


def test_build_without_the_dependency_check_is_caught_unless_adopted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This is SF-PIPE-01 itself: verify adopts it (the model then predicts the deadlock), so
    # the law is run here with nothing adopted, and the finding's reproducer must see it.
    monkeypatch.setattr(builder, "validate_stage_dependencies", lambda stages: None)
    caught = expect_failure(lambda: builder_check(frozenset()))
    assert "build()" in str(caught.error), caught.error
    assert builds_what_it_cannot_run(sf)


def test_stage_names_out_of_order_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builder.topologically_sorted_stage_names
    monkeypatch.setattr(builder, "topologically_sorted_stage_names", lambda s: real(s)[::-1])
    caught = expect_failure(run_builder_law)
    assert "stage_names()" in str(caught.error), caught.error


def test_run_without_its_default_topology_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Pipeline.run

    @functools.wraps(real)
    async def run(self: Any, ctx: Any = None, /, **kwargs: Any) -> Any:
        if ctx is None:
            kwargs.setdefault("topology", "pipeline")  # the planted bug: not the name
        return await real(self, ctx, **kwargs)

    monkeypatch.setattr(Pipeline, "run", run)
    caught = expect_failure(run_builder_law)
    assert "topology" in str(caught.error), caught.error


def test_invoke_taking_the_input_text_twice_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Pipeline.invoke

    @functools.wraps(real)
    async def invoke(self: Any, text: Any = None, /, **kwargs: Any) -> Any:
        if isinstance(text, str):
            kwargs.pop("input_text", None)  # the planted bug: the second one is dropped
        return await real(self, text, **kwargs)

    monkeypatch.setattr(Pipeline, "invoke", invoke)
    caught = expect_failure(run_builder_law)
    assert "invoke_twice" in str(caught.error), caught.error


def test_config_dropped_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builder.stage

    @functools.wraps(real)
    def stage(*args: Any, config: Any = None, **kwargs: Any) -> Any:
        return real(*args, **kwargs)  # the planted bug: the constructor kwargs are lost

    monkeypatch.setattr(builder, "stage", stage)
    caught = expect_failure(run_builder_law)
    assert "config=3" in str(caught.error), caught.error


def test_build_ignoring_stage_wide_events_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Pipeline.build

    @functools.wraps(real)
    def build(self: Any, **kwargs: Any) -> Any:
        kwargs["emit_stage_wide_events"] = False  # the planted bug
        return real(self, **kwargs)

    monkeypatch.setattr(Pipeline, "build", build)
    caught = expect_failure(run_builder_law)
    assert "wide events" in str(caught.error), caught.error
