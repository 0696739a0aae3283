"""``lifecycle.run`` on the shape of a release before 1.0.0, faked on the installed Stageflow,
with a bug planted in each rule that shape adds to the lifecycle model.

Before 1.0.0 a built graph's ``run`` returns a plain dict of StageOutputs (no
``PipelineResults``), ``Pipeline`` has no ``run``/``invoke``, and before 0.9.5 the run's context
is a root ``StageContext``, whose ``event_sink`` defaults to None: a context naming no sink
sends its events nowhere (``models.run_lifecycle.predict``, ``global_sink_default``). The
harness then reads what the returned dict holds, name by name, and builds the root as the
release's own ``PipelineRunner`` does (``core.sut.lifecycle.run_context``).

1.2.0 still runs a graph on a root StageContext and its ``PipelineResults`` is a dict, so the
old shape can be driven here: pristine Stageflow passes; a root StageContext that falls back to
the global sink, and a returned dict that loses a SKIP output, are caught. (The releases
themselves were measured by ``make verify STAGEFLOW=X``: PASS on 0.5.0, 0.5.1, 0.8.0, 0.9.4,
0.9.6 and 1.0.0.)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import stageflow_verify.core.sut.lifecycle as sut_lifecycle
import stageflow_verify.stateful.lifecycle_machine as lifecycle_machine
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.lifecycle import LifeFeatures
from stageflow_verify.stateful.lifecycle_findings import applies
from stageflow_verify.stateful.lifecycle_machine import run_lifecycle_machine
from tests.quality.planting import expect_failure, expect_pass

sf = stageflow_module()
if applies(sf) is not None:
    pytest.skip(str(applies(sf)), allow_module_level=True)

dag = sf.pipeline.dag
ORIGINAL_STAGE_CONTEXT = dag.StageContext
ORIGINAL_RUN = dag.UnifiedStageGraph.run
BEFORE_0_9_5 = LifeFeatures(results_api=False, pipeline_entries=False, root="stage")
# 1.2.0 warns that a StageContext root is deprecated: it is the shape under test here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def release_before_0_9_5(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (sut_lifecycle, lifecycle_machine):
        monkeypatch.setattr(module, "life_features", lambda: BEFORE_0_9_5)


def test_the_old_shape_runs_on_a_root_stage_context_naming_no_sink() -> None:
    run_id, request_id = uuid.UUID(int=1), uuid.UUID(int=2)
    ctx = sut_lifecycle.run_context(run_id, request_id, None)
    assert type(ctx).__name__ == "StageContext"
    assert (ctx.pipeline_run_id, ctx.request_id, ctx.event_sink) == (run_id, request_id, None)


def test_pristine_stageflow_passes_in_the_old_shape() -> None:
    expect_pass(run_lifecycle_machine)


def test_root_stage_context_falling_back_to_the_global_sink_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stage_context(**fields: Any) -> Any:
        # The planted bug: a stage context whose run named no sink takes the global one.
        fields["event_sink"] = fields.get("event_sink") or sf.get_event_sink()
        return ORIGINAL_STAGE_CONTEXT(**fields)

    monkeypatch.setattr(dag, "StageContext", stage_context)
    caught = expect_failure(run_lifecycle_machine)
    assert "events:" in str(caught.error), caught.error
    assert "named_sink=False" in str(caught.error), caught.error


def test_returned_dict_losing_a_skipped_output_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    async def run(self: Any, ctx: Any) -> Any:
        results = await ORIGINAL_RUN(self, ctx)
        # The planted bug: the dict the run returns leaves out the stages that skipped.
        return {k: v for k, v in results.items() if v.status != sf.StageStatus.SKIP}

    monkeypatch.setattr(dag.UnifiedStageGraph, "run", run)
    caught = expect_failure(run_lifecycle_machine)
    assert "results:" in str(caught.error) and "'skip'" in str(caught.error), caught.error
