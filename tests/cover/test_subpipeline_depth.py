"""The depth-limit law: its model, its finding, and its rediscovery when not adopted."""

from __future__ import annotations

import pytest

from stageflow_verify.core.run.checks import discover_findings
from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.subpipeline_depth import spawn_chain
from stageflow_verify.models.subpipeline_depth import spawn_outcomes
from stageflow_verify.properties.subpipeline_depth import (
    CHECK,
    FINDINGS,
    FORGETS_ENDED,
    depth_limit_law,
)

SPAWNED, REFUSED_AT_1 = ("spawned",), ("refused", 1)


def test_the_promise_refuses_the_level_past_max_depth_however_it_is_spawned() -> None:
    for mode in ("nested", "detached"):
        assert spawn_outcomes(("nested", mode, mode), max_depth=1) == (SPAWNED, REFUSED_AT_1)
    assert spawn_outcomes(("nested",) * 3, max_depth=0) == (("refused", 0),)
    assert spawn_outcomes((), max_depth=2) == ()


def test_the_adopted_finding_counts_a_finished_parent_as_depth_zero() -> None:
    assert spawn_outcomes(("detached",) * 4, 1, forgets_ended=True) == (SPAWNED,) * 4
    # After a detached step the count restarts, and nested levels count up from there.
    chain = ("nested", "detached", "nested", "nested")
    assert spawn_outcomes(chain, 2, forgets_ended=True) == (SPAWNED,) * 3 + (("refused", 2),)


def test_a_nested_chain_on_stageflow_stops_at_max_depth_with_the_parent_depth() -> None:
    assert spawn_chain(("nested",) * 4, max_depth=2) == (SPAWNED, SPAWNED, ("refused", 2))


def test_the_finding_reproduces_and_belongs_to_the_law() -> None:
    (finding,) = [f for f in discover_findings() if f.id == FORGETS_ENDED]
    assert finding is FINDINGS[0] and finding.check == CHECK
    assert finding.reproduce(stageflow_module())


def test_the_law_passes_while_it_adopts_the_finding() -> None:
    depth_limit_law(active=frozenset({FORGETS_ENDED}))


def test_the_law_rediscovers_the_finding_when_not_adopted() -> None:
    with pytest.raises(AssertionError, match="'detached'") as caught:
        depth_limit_law(active=frozenset())
    assert "the depth limit allows" in str(caught.value)
