# Layout of core/sut/user/, verification of a user's own pipeline (issue 20):
#
#   explore.py      check_pipeline_run (inside your @given), explore_pipeline (the whole
#                   search), replay_pipeline_run (one printed run again)
#   invariants.py   PipelineRun, and the invariants every Stageflow pipeline keeps
#   observe.py      RunRecorder: tasks and their creators, stage returns, cleanups, forks
#   examples/       three pipelines, each correct and with a planted bug
#
# It lives under core/sut because it imports stageflow, which only core/sut may do
# (tests/cover/test_layout.py); it imports core.sched, as the rest of core/sut does.
"""Verify your own Stageflow pipeline: explored interleavings and faults, built-in invariants."""

from stageflow_verify.core.sut.user.explore import (
    DEFAULT_FAULTS,
    PipelineInvariantError,
    check_pipeline_run,
    explore_pipeline,
    replay_pipeline_run,
)
from stageflow_verify.core.sut.user.invariants import BUILT_IN, PipelineRun

__all__ = [
    "BUILT_IN",
    "DEFAULT_FAULTS",
    "PipelineInvariantError",
    "PipelineRun",
    "check_pipeline_run",
    "explore_pipeline",
    "replay_pipeline_run",
]
