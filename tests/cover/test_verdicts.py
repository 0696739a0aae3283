"""NEW is Stageflow's, ERROR is the suite's: fake checks that fail in each way, and exit codes.

Each fake check fails the way a real one can: an adapter refusing what this Stageflow cannot
build, the suite's own code raising, an invariant comparison failing, Stageflow raising where
nothing should, Hypothesis unable to run the search. Only the first two kinds and Hypothesis's
own errors may read as ERROR; the others are NEW.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run import checks as registry
from stageflow_verify.core.run import nightly_shard, verify
from stageflow_verify.core.run.nightly_report import check_rows as nightly_check_rows
from stageflow_verify.core.run.report import Row
from stageflow_verify.core.run.verdicts import _suite_reason, classify
from stageflow_verify.core.sched.choosers import PCTChooser
from stageflow_verify.core.sut import UnsupportedFeature, forget_harness_errors, stageflow_module
from stageflow_verify.core.sut.graphs import GraphHarness
from stageflow_verify.core.sut.values import pipeline_context
from stageflow_verify.models.graph_run import Config, Graph, StageDesc


def _adapter_refuses() -> None:
    registry.count_example()
    # No Stageflow builds an interceptor configuration called 'sideways': the adapter refuses.
    GraphHarness(Graph((StageDesc("a", (), "ok", 1.0),), None, Config("sideways", 2, 250, None)))


def _suite_code_raises() -> None:
    registry.count_example()
    PCTChooser(seed=1, depth=0)  # the scheduler's own argument check: a ValueError of ours


def _invariant_fails() -> None:
    registry.count_example()
    assert stageflow_module().StageOutput.ok(data={"k": 1}).data == {"k": 2}, "model: k is 2"


def _stageflow_raises() -> None:
    registry.count_example()
    sf = stageflow_module()
    # build() validates dependencies inside Stageflow; a model that expected a build would
    # be told by this raise, from Stageflow's own frame.
    sf.Pipeline().with_stage("a", lambda ctx: None, sf.StageKind.TRANSFORM, ("gone",)).build()


def _hypothesis_cannot_search() -> None:
    registry.count_example()

    @given(st.integers(min_value=5, max_value=1))
    def law(n: int) -> None:
        pass

    law()


def _row(run: Callable[[], None]) -> Row:
    check = registry.Check("t.fake", run, "s")
    return verify.run_check(check, stageflow_module())


def test_an_adapter_refusing_a_graph_is_error_and_names_its_line() -> None:
    row = _row(_adapter_refuses)
    assert row.status == "ERROR"
    assert row.fault.startswith("core/sut/graphs.py:") and row.fault.endswith(" in _build")
    assert "UnsupportedFeature" in row.detail and "cannot build 'sideways'" in row.detail


def test_the_suites_own_exception_is_error_naming_the_suite_frame() -> None:
    row = _row(_suite_code_raises)
    assert row.status == "ERROR"
    assert row.fault.startswith("core/sched/choosers.py:") and row.fault.endswith("__init__")


def test_an_invariant_comparison_is_new() -> None:
    row = _row(_invariant_fails)
    assert (row.status, row.fault) == ("NEW", "")
    assert "model: k is 2" in row.detail


def test_an_exception_raised_inside_stageflow_is_new() -> None:
    row = _row(_stageflow_raises)
    assert (row.status, row.fault) == ("NEW", "")
    assert "PipelineValidationError" in row.detail


def test_hypothesis_unable_to_search_is_error() -> None:
    row = _row(_hypothesis_cannot_search)
    assert row.status == "ERROR" and "InvalidArgument" in row.detail


def test_a_group_with_one_violation_is_new_whatever_else_it_holds() -> None:
    errors: list[Exception] = []
    for run in (_suite_code_raises, _invariant_fails):
        exc, _ = verify.run_captured(run)
        assert isinstance(exc, Exception)
        errors.append(exc)
    assert classify(ExceptionGroup("two", [errors[0]])).status == "ERROR"
    assert classify(ExceptionGroup("two", errors)).status == "NEW"


def test_a_reproducer_crashing_in_suite_code_is_error() -> None:
    def reproduce(sf: ModuleType) -> bool:
        PCTChooser(seed=1, depth=0)
        return True

    finding = registry.Finding("SF-T-02", "t", ("1.2.0",), "c", "p", "o", reproduce)
    row = verify.run_finding(finding, stageflow_module())
    assert row.status == "ERROR" and row.fault.startswith("core/sched/choosers.py:")


@pytest.mark.parametrize(
    ("runs", "code", "summary"),
    [
        ((registry.count_example,), 0, {"pass": 1, "new": 0, "error": 0}),
        ((_adapter_refuses, registry.count_example), 3, {"pass": 1, "new": 0, "error": 1}),
        ((_adapter_refuses, _invariant_fails), 1, {"pass": 0, "new": 1, "error": 1}),
    ],
)
def test_exit_codes_new_wins_over_error_and_error_is_never_zero(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    runs: tuple[Callable[[], None], ...],
    code: int,
    summary: dict[str, int],
) -> None:
    checks = [registry.Check(f"t.c{i}", run, "s") for i, run in enumerate(runs)]
    monkeypatch.setattr(registry, "discover_checks", lambda: checks)
    monkeypatch.setattr(registry, "discover_findings", lambda: [])
    assert verify.main(["--reports", str(tmp_path)]) == code
    report = json.loads((tmp_path / "verify.json").read_text())
    assert {k: report["summary"][k] for k in summary} == summary
    for row in report["checks"]:
        failures = tmp_path / "failures"
        # An ERROR keeps its text, but no replay script: there is no Stageflow failure to replay.
        assert (failures / f"{row['name']}.txt").exists() == (row["status"] != "PASS")
        assert (failures / f"{row['name']}.py").exists() == (row["status"] == "NEW")


def test_a_nightly_shard_broken_by_the_suite_is_error_not_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "progress").mkdir()
    monkeypatch.setenv(nightly_shard.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(nightly_shard.ENV_DEADLINE, str(time.time() + 5))
    with pytest.raises(pytest.fail.Exception, match="UnsupportedFeature"):
        nightly_shard.test_shard(registry.Check("t.adapter", _adapter_refuses, "s"), 0)
    [progress] = nightly_shard.read_progress(tmp_path)
    assert progress.status == "error" and "core/sut/graphs.py:" in progress.detail
    [row] = nightly_check_rows([progress])
    assert row.status == "ERROR"


def test_a_reproducer_that_never_ends_is_new_like_a_livelock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The watchdog turns a hang into StageflowStuckError, raised from the suite's own
    # watchdog: still a run that never ended, as a LivelockError on the suite's loop is.
    monkeypatch.setattr(registry, "REPRODUCER_SECONDS", 0.3)  # run_reproducer's bound

    def reproduce(sf: ModuleType) -> bool:
        while True:
            time.sleep(0.01)

    finding = registry.Finding("SF-T-03", "t", ("1.2.0",), "c", "p", "o", reproduce)
    row = verify.run_finding(finding, stageflow_module())
    assert row.status == "NEW" and "StageflowStuckError" in row.detail


def test_a_harness_error_wrapped_by_another_exception_is_still_error() -> None:
    # Stageflow may catch what our stage raised and raise its own error from it: a
    # HarnessError anywhere in the chain names the suite's refusal as the reason.
    def wrapped(cause: Exception) -> Exception:
        try:
            try:
                raise cause
            except Exception as inner:
                raise RuntimeError("stage failed") from inner
        except RuntimeError as outer:
            return outer

    verdict = classify(wrapped(UnsupportedFeature("no such stack")))
    assert verdict.status == "ERROR" and "UnsupportedFeature" in verdict.reason
    forget_harness_errors()  # a new example: the first one's refusal is not this one's
    assert "UnsupportedFeature" not in classify(wrapped(ValueError("x"))).reason


def test_a_hang_in_the_suites_own_code_is_error_not_new(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The innermost frame that is not a library's is the suite's own (here a stand-in for a
    # model that spins, compiled under a models.* module name): our hang, never a finding.
    monkeypatch.setattr(registry, "REPRODUCER_SECONDS", 0.3)  # run_reproducer's bound
    namespace: dict[str, object] = {
        "__name__": "stageflow_verify.models.spinning_model",
        "time": time,
    }
    exec("def spin(sf):\n    while True:\n        time.sleep(0.01)\n", namespace)
    reproduce = namespace["spin"]
    assert callable(reproduce)

    finding = registry.Finding("SF-T-04", "t", ("1.2.0",), "c", "p", "o", reproduce)
    row = verify.run_finding(finding, stageflow_module())
    assert row.status == "ERROR" and "suite's own code was stuck" in row.detail


def _stageflow_signature_refuses() -> None:
    registry.count_example()
    pipeline_context(pipeline_run_id=None)


def test_a_refused_signature_is_error_naming_the_callee_and_both_causes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a Stageflow whose create() lost its @classmethod does to the adapter's documented
    # call: the binding fails in the caller's frame, which is the suite's.
    context_class = stageflow_module().PipelineContext
    monkeypatch.setattr(context_class, "create", context_class.create.__func__)
    row = _row(_stageflow_signature_refuses)
    assert row.status == "ERROR"
    assert row.fault.startswith("core/sut/values.py:") and row.fault.endswith("pipeline_context")
    assert "PipelineContext.create() refused the arguments the suite passed" in row.detail
    assert "changed a signature its docs promise" in row.detail


@pytest.mark.parametrize(
    "message",
    [
        "StageEvent() takes no arguments",  # a record that lost @dataclass
        "f() takes 1 positional argument but 2 were given",
        "PipelineContext.fork() got an unexpected keyword argument 'inherit_data'",
        "Spawner.spawn() got multiple values for argument 'ctx'",
    ],
)
def test_every_kind_of_refused_call_names_its_callee(message: str) -> None:
    assert "refused the arguments the suite passed" in _suite_reason(TypeError(message))


def test_another_type_error_of_the_suite_is_its_own() -> None:
    reason = _suite_reason(TypeError("unsupported operand type(s) for +: 'int' and 'str'"))
    assert reason.startswith("the suite's own code raised TypeError")
