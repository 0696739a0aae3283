"""make contracts fires: a wrong post-condition is a counterexample and a non-zero exit."""

from __future__ import annotations

from stageflow_verify.core.run.contracts import main

PLANTED = "tests/quality/contract_bugs/wrong_post.py"


def test_crosshair_finds_the_planted_wrong_postcondition(capsys: object) -> None:
    code = main(["--per-condition-timeout", "5", "--total-timeout", "60", PLANTED])
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert code == 1, out
    assert f"{PLANTED}  FAIL" in out
    assert (
        "wrong_post.py:13: error: false when calling attempts_after(1, True) (which returns 2)"
        in out
    )


def test_a_module_whose_contracts_hold_passes() -> None:
    assert (
        main(["--per-condition-timeout", "2", "--total-timeout", "60", "core/check/render.py"]) == 0
    )
