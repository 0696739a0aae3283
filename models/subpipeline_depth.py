"""A pure model of SubpipelineSpawner's depth limit along one chain of spawns.

A chain starts at a root context (depth 0) and spawns one child per level, each from the
context of the level above. The level above may still be running when it spawns (*nested*: the
spawn happens inside its runner, as a stage of a child pipeline would do it) or may have
finished already (*detached*: its runner kept its context and returned, and the spawn happens
afterwards, as a background task or a retry would do it).

What Stageflow documents: the spawner enforces "maximum nesting depth", ``max_depth``: "Maximum
allowed nesting depth (default: 5)", and spawn "Raises: MaxDepthExceededError: If spawning would
exceed max_depth". A child's nesting depth is its number of ancestors: its context's
``parent_run_id`` chain, which fork records whether or not the parent is still running. So the
promise is: the spawn of level ``i`` (depth ``i``) is refused exactly when ``i > max_depth``,
and the error's ``current_depth`` is then the parent's depth, ``i - 1``.

What Stageflow does (SF-SUB-08, the *deviation*): the spawner remembers a child's depth only
while that child's own ``spawn()`` call is running ("Clean up depth tracking" in its finally),
and a parent it does not remember counts as depth 0. A spawn from a finished child's context
starts over at depth 1, so a detached chain nests without bound.

For example::

    assert spawn_outcomes(("detached", "detached"), max_depth=1) == (("spawned",), ("refused", 1))
    assert spawn_outcomes(("detached", "detached"), 1, forgets_ended=True) == (
        ("spawned",), ("spawned",))
"""

from __future__ import annotations

from typing import TypeAlias

MODES = ("nested", "detached")
Outcome: TypeAlias = tuple[str] | tuple[str, int]  # ("spawned",) | ("refused", current_depth)


def spawn_outcomes(
    modes: tuple[str, ...], max_depth: int, forgets_ended: bool = False
) -> tuple[Outcome, ...]:
    """What each spawn of the chain returns; the chain stops at its first refusal.

    ``modes[i - 1]`` says how spawn ``i`` (which creates level ``i``) is made from level
    ``i - 1``: while that level's own spawn() is running (nested) or after it returned
    (detached). The root, level 0, was never spawned, so the first mode changes nothing.
    ``forgets_ended`` adopts SF-SUB-08.

    A negative ``max_depth`` refuses the first spawn already (the root's depth, 0, is past it).

    pre: all(mode in MODES for mode in modes)
    post: len(__return__) <= len(modes)
    post: all(o == ("spawned",) for o in __return__[:-1])
    post: forgets_ended or all(o == ("spawned",) for o in __return__[: max(max_depth, 0)])
    post: forgets_ended or len(modes) <= max(max_depth, 0) or __return__[-1][0] == "refused"
    post: forgets_ended or len(modes) <= max(max_depth, 0) or __return__[-1][1] == max(max_depth, 0)
    """
    outcomes: list[Outcome] = []
    recorded = 0  # the depth the spawner recorded for the level above (the root: never, 0)
    for mode in modes:
        # The promise counts the parent's true depth. Stageflow counts what it still records:
        # spawn() pops a child's depth when it returns, so a detached parent counts as 0.
        counted = 0 if forgets_ended and mode == "detached" else recorded
        if counted >= max_depth:
            outcomes.append(("refused", counted))
            break
        outcomes.append(("spawned",))
        recorded = counted + 1
    return tuple(outcomes)
