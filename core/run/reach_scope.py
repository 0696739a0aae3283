"""What `make reach` measures: Stageflow's in-scope modules, in one place, and the lines that
are not a promise.

Each module is listed by its path inside the ``stageflow`` package, with the group of Stageflow
it belongs to and who owns it: MODELLED groups are what the existing machines and laws model
(issue 15 holds them to 95% of statements and 90% of branches under ``ci``); TARGET groups are
what issues 16-18 will model, measured now so their progress shows.

A line may leave the measure only through :data:`NOT_A_PROMISE`: a regular expression coverage.py
excludes (the line, or the block it opens), the one module it may match, and the reason no
user-visible behaviour depends on it. ``tests/cover/test_reach.py`` holds every entry to match
its own module and no other in-scope one, so an exclusion cannot silently widen.
"""

from __future__ import annotations

from dataclasses import dataclass

MODELLED = "modelled now"
TARGET = "target of issues 16-18"


@dataclass(frozen=True)
class Module:
    path: str  # inside the stageflow package, e.g. "stages/context.py"
    group: str
    owner: str  # MODELLED or TARGET


@dataclass(frozen=True)
class NotAPromise:
    module: str
    pattern: str  # a regular expression coverage.py excludes (see its exclude_lines)
    reason: str


def _group(name: str, owner: str, *paths: str) -> tuple[Module, ...]:
    return tuple(Module(path, name, owner) for path in paths)


IN_SCOPE: tuple[Module, ...] = (
    # PipelineContext: create, fork (the child's view of data, configuration, metadata,
    # extensions), get_parent_data, to_dict, try_emit_event. context.fork_tree models it.
    *_group("contexts and fork", MODELLED, "stages/context.py"),
    # ContextSnapshot and its to_dict/from_dict: values.snapshot_* laws.
    *_group("snapshots", MODELLED, "context/context_snapshot.py"),
    # OutputBag (the run's outputs) and the deprecated ContextBag: the bags.* machines.
    *_group("bags", MODELLED, "context/output_bag.py", "context/bag.py"),
    # FrozenDict / FrozenList: values.frozen_* laws.
    *_group("frozen types", MODELLED, "utils/frozen.py"),
    # StageOutput's constructors and copies: values.stage_output_* laws.
    *_group("stage output", MODELLED, "core/stage_output.py"),
    # SubpipelineSpawner, ChildRunTracker, SubpipelineResult: subpipelines.* machines.
    *_group("subpipelines", MODELLED, "pipeline/subpipeline.py"),
    # Building and running a graph, and the StageContext each stage receives: graphs.run_dag
    # runs these today without modelling all of it.
    *_group(
        "DAG/graph runs",
        TARGET,
        "pipeline/pipeline.py",
        "pipeline/dag.py",
        "pipeline/guard_retry.py",
        "core/stage_context.py",
    ),
    # The interceptor stack a graph run wraps each stage in (timeouts, circuit breaker, ...).
    *_group("interceptors", TARGET, "pipeline/interceptors.py"),
    # RetryInterceptor and its backoff: SF-RUN-01 and SF-RUN-03 live here.
    *_group("retry", TARGET, "pipeline/retry.py"),
    # IdempotencyInterceptor and its stores.
    *_group("idempotency", TARGET, "pipeline/idempotency.py"),
    # Cancellation tokens, cleanup registries and structured cancellation of a run.
    *_group("cancellation", TARGET, "pipeline/cancellation.py"),
    # StageInputs: what a stage reads of its upstream outputs.
    *_group("inputs", TARGET, "stages/inputs.py"),
    # PipelineResults: what a run's results API answers.
    *_group("results", TARGET, "pipeline/results.py"),
    # Event sinks (set_event_sink, the process-wide sink): what observers receive.
    *_group("events", TARGET, "events/sink.py"),
    # run_simple_pipeline and friends: the helpers a user runs a pipeline with.
    *_group("run helpers", TARGET, "helpers/run_utils.py"),
    # AuthInterceptor / OrgEnforcementInterceptor, the tenant helpers and the current-tenant
    # ContextVar: the auth.* checks (issue 16's interceptors, for the tenants).
    *_group(
        "auth / tenants",
        TARGET,
        "auth/interceptors.py",
        "auth/tenant.py",
        "auth/context.py",
        "auth/events.py",
    ),
)

# coverage.py's own default exclusions also apply, and are not promises either: lines marked
# "# pragma: no cover", bodies that are only "...", and "if TYPE_CHECKING:" blocks (never run at
# run time).
NOT_A_PROMISE: tuple[NotAPromise, ...] = (
    NotAPromise(
        "events/sink.py",
        r"pending = list\(_pending_emit_tasks\)\n(?:.*\n)*?.*_pending_emit_tasks\.discard\(task\)",
        "wait_for_event_sink_tasks past its early return (sink.py:301-306, its wait and the "
        "discards after it): it awaits the module-private set "
        "_pending_emit_tasks, which no code in stageflow ever adds to (sink.py:280 makes it, "
        ":298-306 only read and discard), so every call returns at `if not _pending_emit_tasks` "
        "(which lifecycle.sink_states runs and judges); no public path can fill the set",
    ),
)


def modules(owner: str | None = None) -> tuple[Module, ...]:
    return tuple(m for m in IN_SCOPE if owner is None or m.owner == owner)
