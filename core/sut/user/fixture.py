"""The ``stageflow_pipeline`` pytest fixture: the explorer's three calls, at hand in any test.

It is session-scoped and holds no state, so it is safe inside ``@given`` (Hypothesis refuses
function-scoped fixtures there, since they would not be reset between examples). The pytest
plugin (``core.run.pytest_plugin``) registers it.

For example::

    @given(data=st.data())
    def test_fan_out(stageflow_pipeline, data):
        stageflow_pipeline.check(data, fan_out_pipeline, fan_out_context)
"""

from __future__ import annotations

import pytest

from stageflow_verify.core.sut.user.explore import (
    check_pipeline_run,
    explore_pipeline,
    replay_pipeline_run,
)


class PipelineExplorer:
    """``check`` (inside ``@given``), ``explore`` (a whole search) and ``replay`` (one run)."""

    check = staticmethod(check_pipeline_run)
    explore = staticmethod(explore_pipeline)
    replay = staticmethod(replay_pipeline_run)


@pytest.fixture(scope="session")
def stageflow_pipeline() -> PipelineExplorer:
    """Explore runs of your own Stageflow pipeline (see core.sut.user)."""
    return PipelineExplorer()
