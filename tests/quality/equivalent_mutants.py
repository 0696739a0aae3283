"""Triage of the generated mutants that survive ``make mutation`` (ids of
:mod:`core.run.mutant_generation`: ``file:line:operator:occurrence``, stageflow 1.2.0).

``EQUIVALENT``: survivors judged equivalent, each with the one-line reason no user of
stageflow's public API could tell the mutant from pristine. The runner reports them as
``equivalent``, never as killed; an entry that verify does kill is reported as a stale triage.

``KNOWN_GAPS``: survivors that *are* observable (the reason says how), so the suite is blind
there; each is work for issue 15 item 3 (or issues 13-14 for the later modules). They are
reported as ``survived`` and listed, but do not fail the run; a survivor in neither dict does.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    "pipeline/subpipeline.py:495:NumberReplacer:63": (
        "a child's duration_ms scaled by 0.999: far inside perf_counter's run-to-run jitter, no"
        " observer can tell"
    ),
    "pipeline/subpipeline.py:508:NumberReplacer:64": (
        "a failed child's duration_ms scaled by 1.001: far inside perf_counter's run-to-run "
        "jitter, no observer can tell"
    ),
}

# Survivors of the seed-15 sample of 2026-12-02 (--jobs 1, ci profile), grouped by what the
# suite does not observe; most are the patterns issue 15 names (defaults never omitted, event
# fields and tracker metrics never read, legacy snapshot formats never fed).
KNOWN_GAPS: dict[str, str] = {
    "context/bag.py:53:NumberReplacer:0": (
        "DeprecationWarning stacklevel 2->3: the warning points at the wrong caller; no check "
        "looks at a warning's location"
    ),
    "context/context_snapshot.py:198:AddNot:9": (
        "to_dict crashes on dict extensions, but core/sut's snapshot_takes_dict_extensions() "
        "probe runs on the mutant, reads the crash as 'this version has no dict extensions' and"
        " stops drawing them: a capability probe shields the bug"
    ),
    "context/context_snapshot.py:273:AddNot:25": (
        "from_dict of a legacy flat snapshot (no composed run_id) drops or crashes on org_id; "
        "the roundtrip only feeds to_dict's composed format"
    ),
    "context/context_snapshot.py:297:ReplaceOrWithAnd:2": (
        "from_dict of a legacy flat snapshot loses enrichments unless documents and web_results"
        " are both set; legacy format never fed"
    ),
    "context/context_snapshot.py:327:AddNot:33": (
        "from_dict of a legacy flat snapshot loses routing_decision; the roundtrip only feeds "
        "to_dict's composed format"
    ),
    "context/context_snapshot.py:345:AddNot:36": (
        "from_dict keeps a typed extension (extension_types registry) as its raw dict; for dict"
        " extensions the fallback hides it; typed extensions are never drawn"
    ),
    "context/output_bag.py:154:ReplaceFalseWithTrue:1": (
        "write_sync's default allow_overwrite False->True: core/sut/bags.py always passes "
        "allow_overwrite, so the default is never exercised (issue 15 pattern 1)"
    ),
    "pipeline/subpipeline.py:54:ReplaceTrueWithFalse:0": (
        "PipelineSpawnedChildEvent is no longer frozen; no check tries to change an emitted event"
    ),
    "pipeline/subpipeline.py:125:NumberReplacer:7": (
        "PipelineCanceledEvent's default cascade_depth 0->-1: stageflow always passes it, a "
        "user building the event sees -1; no check builds events or reads the default"
    ),
    "pipeline/subpipeline.py:205:ReplaceComparisonOperator_Gt_Is:0": (
        "get_metrics()['max_concurrent_children'] stops tracking the maximum; no check reads "
        "the tracker's metrics"
    ),
    "pipeline/subpipeline.py:226:NumberReplacer:27": (
        "get_metrics()['unregistration_count'] never grows; no check reads the tracker's metrics"
    ),
    "pipeline/subpipeline.py:239:NumberReplacer:28": (
        "get_metrics()['lookup_count'] counts 2 per get_children; no check reads the tracker's "
        "metrics"
    ),
    "pipeline/subpipeline.py:278:NumberReplacer:32": (
        "get_metrics()['tree_traversal_count'] counts 2 per traversal; no check reads the "
        "tracker's metrics"
    ),
    "pipeline/subpipeline.py:294:AddNot:10": (
        "ChildRunTracker.get_root_run() loops the wrong way (KeyError or the run itself); no "
        "check calls get_root_run"
    ),
    "pipeline/subpipeline.py:310:AddNot:12": (
        "cleanup_run() no longer removes the run from its parent's children: "
        "get_children(parent) keeps it; spawn_tree/no_retention do not read get_children after "
        "cleanup"
    ),
    "pipeline/subpipeline.py:318:NumberReplacer:40": (
        "get_metrics()['cleanup_count'] counts 2 per cleanup; no check reads the tracker's metrics"
    ),
    "pipeline/subpipeline.py:337:ReplaceBinaryOperator_Sub_Add:0": (
        "ChildRunTracker.get_metrics()['total_relationships'] is wrong; no check reads the "
        "tracker's metrics"
    ),
    "pipeline/subpipeline.py:337:ReplaceBinaryOperator_Sub_RShift:0": (
        "ChildRunTracker.get_metrics()['total_relationships'] is wrong; no check reads the "
        "tracker's metrics"
    ),
    "pipeline/subpipeline.py:343:NumberReplacer:43": (
        "reset_metrics() sets registration_count to -1; no check calls reset_metrics or reads "
        "metrics"
    ),
    "pipeline/subpipeline.py:346:NumberReplacer:48": (
        "reset_metrics() leaves tree_traversal_count at 1; no check calls reset_metrics or "
        "reads metrics"
    ),
    "pipeline/subpipeline.py:348:NumberReplacer:52": (
        "reset_metrics() leaves max_concurrent_children at 1; no check calls reset_metrics or "
        "reads metrics"
    ),
    "pipeline/subpipeline.py:359:AddNot:14": (
        "get_child_tracker() returns None forever; the spawner keeps its own tracker and no "
        "check calls the global accessor"
    ),
    "pipeline/subpipeline.py:425:ReplaceFalseWithTrue:0": (
        "spawn()'s default inherit_data False->True: the machine always passes inherit_data, so"
        " the default is never exercised (issue 15 pattern 1)"
    ),
    "pipeline/subpipeline.py:453:ReplaceComparisonOperator_GtE_Is:0": (
        "depth check `>=` -> `is`: same for max_depth >= 0 (depth grows by 1 from 0, small ints"
        " are cached), differs for a negative max_depth, which no strategy draws"
    ),
    "pipeline/subpipeline.py:495:ReplaceBinaryOperator_Sub_Div:1": (
        "a successful child's duration_ms becomes now/start*1000 (about 1000); no check "
        "compares duration_ms with elapsed time"
    ),
    "pipeline/subpipeline.py:508:ReplaceBinaryOperator_Mul_Div:2": (
        "a failed child's duration_ms is in kiloseconds; no check compares duration_ms with "
        "elapsed time"
    ),
    "pipeline/subpipeline.py:508:ReplaceBinaryOperator_Mul_Pow:2": (
        "a failed child's duration_ms becomes elapsed**1000 (about 0, OverflowError after ~2 "
        "s); no check compares duration_ms with elapsed time"
    ),
    "stages/context.py:131:AddNot:7": (
        "record_stage_event's payload drops/garbles user_id: no check reads the fields of an "
        "emitted event (issue 15 pattern 2)"
    ),
    "stages/context.py:132:AddNot:8": (
        "record_stage_event's payload drops/garbles org_id: no check reads the fields of an "
        "emitted event (issue 15 pattern 2)"
    ),
    "stages/context.py:286:ReplaceFalseWithTrue:2": (
        "PipelineContext.from_snapshot's default canceled=False becomes True; "
        "values.pipeline_context_ids always reads ids only, never canceled (default not "
        "exercised)"
    ),
    "stages/context.py:342:ReplaceComparisonOperator_IsNot_Is:3": (
        "_effective_ports drops explicit ports (derived StageContext gets None or db ports); "
        "ports are not modelled"
    ),
    "stages/context.py:344:AddNot:28": (
        "_effective_ports: a context with db gets no ports, one without db gets ports over "
        "None; ports are not modelled"
    ),
    "stages/context.py:467:AddNot:34": (
        "run_before_stage_start_hooks stops awaiting async hooks (and awaits sync results); no "
        "check registers a before-stage-start hook"
    ),
    "stages/context.py:484:AddNot:35": (
        "emitted events' pipeline_run_id is dropped (garbled); no check reads the fields of an "
        "event a context emits (issue 15 pattern 2)"
    ),
    "stages/context.py:525:ReplaceComparisonOperator_Is_IsNot:5": (
        "derive_stage_context ignores a given snapshot (and crashes without one); StageContext "
        "derivation is not modelled (issue 13/14)"
    ),
    "stages/context.py:530:ReplaceComparisonOperator_Is_IsNot:6": (
        "derive_stage_context mishandles declared_deps (None -> error path, given -> empty); "
        "StageContext derivation is not modelled (stages/inputs, issue 13/14)"
    ),
}
