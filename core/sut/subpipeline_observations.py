"""What a subpipeline harness observes: Stageflow's state and events, named by run labels.

:class:`HarnessObservations` is the half of ``SubpipelineHarness`` (``core/sut/subpipelines.py``)
that reads rather than drives: :meth:`~HarnessObservations.observe` projects the tracker, the
spawner, the runs' contexts and results and both sinks' events into the plain dicts and lists
the model's views produce (``models/subpipeline_views.py``), every Stageflow uuid replaced by
the label of its run; the other public methods are the checks' narrower looks (correlation
fields, ``duration_ms``, what is still retained). It only reads the attributes declared below,
which the harness sets up.
"""

from __future__ import annotations

import uuid
from typing import Any

from stageflow_verify.core.sut.subpipeline_roots import EVENT_NAMES, RecordingSink
from stageflow_verify.core.sut.subpipeline_runs import Plain, _Run
from stageflow_verify.models.subpipeline_events import correlation_of, stage_of


class HarnessObservations:
    """Reads a harness's runs, tracker, spawner and sinks; see the module docstring."""

    runs: dict[str, _Run]
    labels: dict[uuid.UUID, str]
    correlations: dict[uuid.UUID, str]
    unidentified: frozenset[str]
    ambient: RecordingSink
    context_sink: RecordingSink
    tracker: Any
    spawner: Any

    def _name(self, run_id: Any) -> str:
        if run_id is None:
            return "?none"
        if run_id not in self.labels:  # an id only the sink saw: its spawn raised while emitting
            for type_, data in self.ambient.emitted + self.context_sink.emitted:
                if type_ == "pipeline.spawned_child" and data["child_run_id"] == str(run_id):
                    self.labels[run_id] = data["pipeline_name"]
        return self.labels.get(run_id, f"?{run_id}")

    def _event(self, type_: str, data: dict[str, Any]) -> dict[str, Plain]:
        kind = EVENT_NAMES.get(type_, type_)
        run_key = "pipeline_run_id" if kind == "canceled" else "child_run_id"
        parent = data.get("parent_run_id")
        out: dict[str, Plain] = {
            "type": kind,
            "run": self._name(uuid.UUID(data[run_key])),
            "parent": self._id_name(parent) if parent else None,
            "fields": sorted(data),
        }
        if kind != "canceled":
            out["pipeline_name"] = data.get("pipeline_name")
        if kind == "spawned":
            out["parent_stage_id"] = data.get("parent_stage_id")
            out["correlation_id"] = self._correlation(data.get("correlation_id"))
        if kind == "failed":
            out["error"] = data["error_message"]
        if kind == "canceled":
            out["cascade_depth"] = data["cascade_depth"]
            out["reason"] = data.get("reason")
        return out

    def _id_name(self, value: Any) -> str:
        # An event field that should be a run id: its run's label, or the text as given (an
        # event naming a parent without a run id says "None", which is no UUID).
        try:
            return self._name(uuid.UUID(str(value)))
        except ValueError:
            return f"?{value}"

    def _correlation(self, value: Any) -> str:
        try:
            return self.correlations.get(uuid.UUID(str(value)), f"?{value}")
        except ValueError:
            return f"?{value}"

    def correlation_seen(self) -> dict[str, list[Plain]]:
        """What each started child's context says of its parent: (parent run, parent stage,
        correlation), as labels; docs/advanced/subpipelines.md:63 'References parent via
        parent_run_id and parent_stage_id', :73 'child_ctx.correlation_id'."""
        return {
            r.label: [
                self._name(r.ctx.parent_run_id),
                r.ctx.parent_stage_id,
                self._correlation(r.ctx.correlation_id),
            ]
            for r in self.runs.values()
            if r.ctx is not None and r.parent is not None
        }

    def correlation_promised(self) -> dict[str, list[Plain]]:
        # fork: "References parent via parent_run_id" (the parent's pipeline_run_id): a
        # parent without one is referenced by None, which _name prints as "?none".
        return {
            r.label: [
                "?none" if r.parent.label in self.unidentified else r.parent.label,
                stage_of(r.parent.label),
                correlation_of(r.label),
            ]
            for r in self.runs.values()
            if r.ctx is not None and r.parent is not None
        }

    def observe(self) -> dict[str, Plain]:
        """The plain observation the model's views are compared with."""
        children = {
            self._name(p): sorted(self._name(c) for c in cs)
            for p, cs in self.tracker._children.items()
        }
        parents = {self._name(c): self._name(p) for c, p in self.tracker._parents.items()}
        started = [r for r in self.runs.values() if r.ctx is not None]
        return {
            "tracker": {"children": children, "parents": parents},
            "depths": {self._name(i): d for i, d in self.spawner._run_depths.items()},
            "canceled": sorted(self._name(i) for i in self.spawner._canceled_runs),
            "ctx_canceled": sorted(r.label for r in started if r.ctx.is_canceled),
            "data": {r.label: dict(r.ctx.data) for r in started},
            "results": {r.label: r.result for r in self.runs.values() if r.result is not None},
            "registered_at_start": {
                r.label: r.registered_at_start for r in started if r.parent is not None
            },
            "events": {
                "ambient": [self._event(t, d) for t, d in self.ambient.emitted],
                "context": [self._event(t, d) for t, d in self.context_sink.emitted],
            },
        }

    def duration_problems(self) -> list[str]:
        """Where a child's duration_ms is not its execution time in milliseconds: below the
        runner's own span or above the spawn() call's, or, in the completed (failed) event of
        a child whose result is ok (failed), not the result's. Both bounds hold exactly in
        floating point (subtraction and scaling are monotone), so a pass is never luck; the
        clock is the real perf_counter. (Under SF-SUB-04 a child has a 'completed' event and a
        failed result: only the event of the result's kind is compared.)"""
        problems: list[str] = []
        reported: dict[tuple[str, str], float] = {}
        for run in self.runs.values():
            if run.timing is None or run.result is None:
                continue
            runner_ms, duration_ms, spawn_ms = run.timing
            kind = "completed" if run.result["kind"] == "ok" else "failed"
            reported[run.label, kind] = duration_ms
            if not runner_ms <= duration_ms <= spawn_ms:
                problems.append(
                    f"{run.label}: duration_ms={duration_ms!r}, but its runner took "
                    f"{runner_ms:.3f} ms inside a spawn() of {spawn_ms:.3f} ms"
                )
        for type_, data in self.ambient.emitted + self.context_sink.emitted:
            kind = EVENT_NAMES.get(type_, "")
            if kind not in ("completed", "failed"):
                continue
            key = (self._name(uuid.UUID(data["child_run_id"])), kind)
            if key in reported and data.get("duration_ms") != reported[key]:
                problems.append(
                    f"{key[0]}: its {key[1]} event says duration_ms={data.get('duration_ms')!r}, "
                    f"its result {reported[key]!r}"
                )
        return problems

    def retained(self) -> dict[str, int]:
        """Per-run entries the spawner and tracker still hold."""
        return {
            "tracker_parents": len(self.tracker._parents),
            "tracker_children": len(self.tracker._children),
            "depths": len(self.spawner._run_depths),
            "canceled_ids": len(self.spawner._canceled_runs),
        }
