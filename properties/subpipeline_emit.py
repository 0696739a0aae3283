"""Law of SubpipelineSpawner's ``emit_events``: which events a few spawns and a cancel emit.

The spawn-tree machine's spawner always emits (its sinks are what it reads), so the switch
itself was never turned off: a spawner that emits a ``failed`` event with ``emit_events=False``
survived (the generated mutant ``subpipeline.py:511:ReplaceAndWithOr:3``). This law builds a
spawner with ``emit_events`` True, False or left out, spawns a few children from one root run
(each succeeds or fails), maybe cancels the root, and compares the emitted event types with the
documentation:

- ``emit_events=True,    # Emit subpipeline events`` (``docs/advanced/subpipelines.md:594``,
  the documented default; the spawner's docstring lists "Emitting subpipeline events",
  ``stageflow/pipeline/subpipeline.py:382``): per child ``pipeline.spawned_child`` then
  ``pipeline.child_completed`` or ``pipeline.child_failed``, and ``pipeline.canceled`` for the
  cancelled root (``docs/advanced/subpipelines.md:759-762``);
- ``emit_events=False``: none of them.

For example::

    HYPOTHESIS_PROFILE=ci .venv/bin/stageflow-verify verify --checks subpipelines.emit_events
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.sut.subpipeline_emit import spawn_events


def expected_events(
    children: tuple[bool, ...], emit_events: bool | None, cancel: bool
) -> list[str]:
    if emit_events is False:
        return []
    per_child = [["spawned", "completed" if ok else "failed"] for ok in children]
    return [event for pair in per_child for event in pair] + (["canceled"] if cancel else [])


@given(
    children=st.lists(st.booleans(), max_size=3).map(tuple),
    emit_events=st.sampled_from([None, True, False]),
    cancel=st.booleans(),
)
def emit_events_law(children: tuple[bool, ...], emit_events: bool | None, cancel: bool) -> None:
    count_example()
    observed = spawn_events(children, emit_events, cancel)
    expected = expected_events(children, emit_events, cancel)
    given_as = "left out" if emit_events is None else f"={emit_events}"
    assert observed == expected, (
        f"a spawner with emit_events {given_as}, children succeeding {list(children)}, "
        f"cancel={cancel} emitted {observed}; documented: {expected}"
    )


CHECKS = [
    Check(
        name="subpipelines.emit_events",
        run=emit_events_law,
        summary="a spawner emits its documented events iff emit_events (default True)",
    ),
]
