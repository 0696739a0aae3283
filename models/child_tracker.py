"""Reference model of ``ChildRunTracker``: parent/child links between runs, and its metrics.

Pure and sequential (the subpipeline machine checks the tracker under concurrency, through the
spawner; this model is for a user calling the tracker's own API one call at a time). What it
encodes, from ``stageflow/pipeline/subpipeline.py`` (1.2.0):

- "Tracks parent-child relationships for cancellation propagation": ``register_child(p, c)``
  "Register a child run under a parent"; ``unregister_child(p, c)`` "Unregister a child run from
  its parent"; ``get_children(p)``: "Set of child run IDs" (a set the caller owns: the code
  returns a copy, and a caller's change to it must not reach the tracker); ``get_parent(c)``:
  "Parent run ID or None if not a child".
- ``get_all_descendants(r)``: "children, grandchildren, etc"; ``get_root_run(r)``: "The root run
  ID (top-most parent)"; ``cleanup_run(r)``: "Clean up tracking data for a completed run": r is
  no longer anyone's child and has no children.
- ``get_metrics()``: the counters its keys name, one per call of the method they count:
  ``registration_count``, ``unregistration_count``, ``lookup_count`` (get_children, get_parent,
  get_root_run), ``tree_traversal_count`` (get_all_descendants), ``cleanup_count``; the maxima
  ``max_concurrent_children`` (most children one parent had at once) and ``max_depth_seen``
  (deepest chain get_root_run walked); and the current sizes ``active_parents``,
  ``active_children``, ``total_relationships`` (registrations minus unregistrations).
  ``reset_metrics()``: "Reset all metrics counters to zero".

Not generated, because no text says which answer is right: registering a run that is already
someone's child under a second parent, unregistering a pair that is not registered when the
child is, and cleaning up a run that still has children (the code leaves those children
pointing at it). Each is a question for Stageflow, not a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

COUNTERS = (
    "registration_count",
    "unregistration_count",
    "lookup_count",
    "tree_traversal_count",
    "cleanup_count",
    "max_concurrent_children",
    "max_depth_seen",
)


@dataclass(frozen=True)
class TrackerState:
    parents: Mapping[str, str] = field(default_factory=dict)  # child -> parent
    counters: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    def children(self, parent: str) -> frozenset[str]:
        return frozenset(c for c, p in self.parents.items() if p == parent)

    def descendants(self, run: str) -> frozenset[str]:
        found: set[str] = set()
        frontier = [run]
        while frontier:
            for child in self.children(frontier.pop()):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        return frozenset(found)

    def root_and_depth(self, run: str) -> tuple[str, int]:
        depth = 0
        while run in self.parents:
            run, depth = self.parents[run], depth + 1
        return run, depth

    def metrics(self) -> dict[str, int]:
        counters = dict(self.counters)
        return {
            **counters,
            "active_parents": len(set(self.parents.values())),
            "active_children": len(self.parents),
            "total_relationships": counters["registration_count"]
            - counters["unregistration_count"],
        }


def _count(state: TrackerState, name: str, by: int = 1) -> TrackerState:
    return replace(state, counters={**state.counters, name: state.counters[name] + by})


def _at_least(state: TrackerState, name: str, value: int) -> TrackerState:
    return replace(state, counters={**state.counters, name: max(state.counters[name], value)})


def register(state: TrackerState, parent: str, child: str) -> TrackerState:
    """pre: child not in state.parents"""
    state = replace(state, parents={**state.parents, child: parent})
    state = _at_least(state, "max_concurrent_children", len(state.children(parent)))
    return _count(state, "registration_count")


def unregister(state: TrackerState, parent: str, child: str) -> TrackerState:
    """pre: state.parents.get(child, parent) == parent"""
    parents = {c: p for c, p in state.parents.items() if c != child}
    return _count(replace(state, parents=parents), "unregistration_count")


def lookup(state: TrackerState) -> TrackerState:
    return _count(state, "lookup_count")


def traverse(state: TrackerState) -> TrackerState:
    return _count(state, "tree_traversal_count")


def find_root(state: TrackerState, run: str) -> TrackerState:
    _, depth = state.root_and_depth(run)
    return _at_least(lookup(state), "max_depth_seen", depth)


def cleanup(state: TrackerState, run: str) -> TrackerState:
    """pre: not state.children(run)"""
    parents = {c: p for c, p in state.parents.items() if c != run}
    return _count(replace(state, parents=parents), "cleanup_count")


def reset_metrics(state: TrackerState) -> TrackerState:
    return replace(state, counters=dict.fromkeys(COUNTERS, 0))
