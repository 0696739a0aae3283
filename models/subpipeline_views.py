"""Projections of a subpipeline model state into what the adapter observes.

Each view returns the plain dicts and lists that ``core/sut/subpipeline_observations.py``
reports for the real spawner and tracker, so the invariants compare like with like.
"""

from __future__ import annotations

from stageflow_verify.models.subpipeline_events import Plain
from stageflow_verify.models.subpipeline_state import AMBIENT_SINK_ONLY, State


def tracker_view(state: State) -> dict[str, dict[str, Plain]]:
    """What ChildRunTracker holds: exactly the registered children, keyed by parent."""
    parents = {r.label: r.parent for r in state.runs if r.registered and r.parent is not None}
    children: dict[str, Plain] = {
        parent: list[Plain](sorted(c for c, p in parents.items() if p == parent))
        for parent in dict.fromkeys(parents.values())
    }
    return {"children": children, "parents": dict[str, Plain](parents)}


def depths_view(state: State) -> dict[str, int]:
    """SubpipelineSpawner's per-run depths: every child from its spawn until it ends, tracked
    or not ("Track the new child's depth" comes before, and apart from, "Register for
    cancellation tracking": stageflow/pipeline/subpipeline.py:468, :484), never a root."""
    return {r.label: r.depth for r in state.runs if r.depth_recorded}


def data_view(state: State) -> dict[str, dict[str, Plain]]:
    """Every started run's ctx.data: roots keep theirs, whatever their children do."""
    return {r.label: dict(r.data) for r in state.runs if r.started}


def events_view(state: State) -> dict[str, list[Plain]]:
    """The emits each sink saw: the parent context's ``event_sink`` (promise) or the ambient
    ``get_event_sink()`` (SF-SUB-06, what the spawner's ``_emit_*`` helpers call)."""
    events: list[Plain] = [e.plain() for e in state.events]
    if AMBIENT_SINK_ONLY in state.config.deviations:
        return {"ambient": events, "context": []}
    return {"ambient": [], "context": events}


def results_view(state: State) -> dict[str, Plain]:
    return {label: result.plain() for label, result in state.results}
