"""The planted-bug catalog of ``make mutation``: textual edits of stageflow 1.2.0's source.

Every entry is a bug someone could plausibly write: a dropped copy, an off-by-one, a missing
lock, a forgotten bookkeeping line. Each names the verify checks that should catch it (a glob
list, so ``make mutation`` runs only those) and a witness in ``tests/quality/witnesses.py``
whose result differs from pristine: the proof that the mutant is not equivalent.

Edits quote enough surrounding lines to occur exactly once; :func:`core.run.mutation.apply` refuses
one that does not (a stageflow release that moved the code makes the catalog stale, loudly).

Left out on purpose, because they are equivalent or invisible on 1.2.0 (see the report of
issue 8): removing OutputBag's lock *without* adding an await (nothing can interleave), adding
an await *inside* the lock (the lock serialises it), and changing RetryInterceptor's backoff
for attempts after the first (SF-RUN-01: at most one retry ever runs, so only the first delay is
observable).
"""

from __future__ import annotations

from stageflow_verify.core.run.mutation import Edit, Mutant

CTX = "stages/context.py"
FROZEN = "utils/frozen.py"
OUTPUTS = "context/output_bag.py"
BAG = "context/bag.py"
SUB = "pipeline/subpipeline.py"
DAG = "pipeline/dag.py"
RETRY = "pipeline/retry.py"
INTERCEPTORS = "pipeline/interceptors.py"

FORK = ("context.fork_tree",)
FROZEN_CHECKS = ("values.frozen_dict_*",)
OUTPUT_BAG = ("bags.output_bag_linearizable",)
CONTEXT_BAG = ("bags.context_bag_linearizable",)
SPAWN = ("subpipelines.spawn_tree",)
GRAPH = ("graphs.run_dag",)

# The first lines of fork()'s PipelineContext(...) call: they make the tenant edits unique
# (to_snapshot() lists the same fields).
FORK_HEAD = "            pipeline_run_id=child_run_id,\n            request_id=self.request_id,\n"
TENANT = (
    "            session_id=self.session_id,\n"
    "            user_id=self.user_id,\n"
    "            org_id=self.org_id,\n"
)


def _fork_tenant(field: str) -> Edit:
    old = FORK_HEAD + TENANT
    return Edit(CTX, old, old.replace(f"{field}=self.{field},", f"{field}=None,"))


def _split_by_await(file: str, check: str, act: str) -> tuple[Edit, Edit]:
    """Drop the lock around a check-then-act and put an await between the two."""
    return (
        Edit(file, f"        async with self._lock:\n{check}", f"        if True:\n{check}"),
        Edit(file, act, "            await asyncio.sleep(0)\n" + act),
    )


_OB_CHECK = "            existing = self._entries.get(stage_name)\n\n            if existing"
_OB_ATTEMPT = "            attempt = (existing.attempt + 1) if existing else 1\n"
_CB_CHECK = "            if key in self._data:\n"
_DURATION = "            duration_ms"
# Cancelling siblings when a stage raised: the branch that re-raises the stage's exception.
_GATHER_THEN_RAISE = (
    "                        if active_tasks:\n"
    "                            await asyncio.gather(*active_tasks, return_exceptions=True)\n"
    "\n"
    "                        exc = task.exception()"
)

MUTANTS: list[Mutant] = [
    # -- fork isolation, field by field --------------------------------------------------------
    Mutant(
        "fork.inherit_shares_data",
        "inherit_data=True hands the child the parent's data dict itself",
        (
            Edit(
                CTX,
                "            child_data = self.data.copy()\n",
                "            child_data = self.data\n",
            ),
        ),
        FORK,
        "fork_data",
    ),
    Mutant(
        "fork.inherit_keys_ignored",
        "inherit_data=[keys] copies every key, not only the listed ones",
        (
            Edit(
                CTX,
                "child_data = {key: self.data[key] for key in inherit_data if key in self.data}",
                "child_data = self.data.copy()",
            ),
        ),
        FORK,
        "fork_data",
    ),
    Mutant(
        "fork.overrides_ignored",
        "data_overrides never reach the child's data",
        (Edit(CTX, "            child_data.update(data_overrides)\n", "            pass\n"),),
        FORK,
        "fork_data",
    ),
    Mutant(
        "fork.parent_snapshot_of_child_data",
        "the parent snapshot (get_parent_data) wraps the child's data instead of the parent's",
        (Edit(CTX, "_parent_data=FrozenDict(self.data),", "_parent_data=FrozenDict(child_data),"),),
        FORK,
        "fork_parent_data",
    ),
    Mutant(
        "fork.configuration_live",
        "the child gets the parent's configuration dict, not a copy",
        (
            Edit(
                CTX, "configuration=self.configuration.copy(),", "configuration=self.configuration,"
            ),
        ),
        FORK,
        "fork_dicts",
    ),
    Mutant(
        "fork.metadata_live",
        "the child gets the parent's metadata dict, not a copy",
        (
            Edit(
                CTX,
                "metadata=self.metadata.copy(),\n            created_at=self.created_at,\n"
                "            service=self.service,\n            event_sink=self.event_sink,\n"
                "            data=child_data,",
                "metadata=self.metadata,\n            created_at=self.created_at,\n"
                "            service=self.service,\n            event_sink=self.event_sink,\n"
                "            data=child_data,",
            ),
        ),
        FORK,
        "fork_dicts",
    ),
    Mutant(
        "fork.org_id_dropped",
        "the child has no org_id",
        (_fork_tenant("org_id"),),
        FORK,
        "fork_identity",
    ),
    Mutant(
        "fork.user_id_dropped",
        "the child has no user_id",
        (_fork_tenant("user_id"),),
        FORK,
        "fork_identity",
    ),
    Mutant(
        "fork.session_id_dropped",
        "the child has no session_id",
        (_fork_tenant("session_id"),),
        FORK,
        "fork_identity",
    ),
    Mutant(
        "fork.parent_run_id_of_grandparent",
        "the child's parent_run_id is its parent's parent_run_id",
        (Edit(CTX, "parent_run_id=self.pipeline_run_id,", "parent_run_id=self.parent_run_id,"),),
        FORK,
        "fork_identity",
    ),
    Mutant(
        "fork.topology_override_ignored",
        "fork(topology=...) keeps the parent's topology",
        (Edit(CTX, "topology=topology or self.topology,", "topology=self.topology,"),),
        FORK,
        "fork_names",
    ),
    Mutant(
        "fork.inherits_cancellation",
        "a child forked from a cancelled context starts cancelled",
        (Edit(CTX, "            canceled=False,\n", "            canceled=self.canceled,\n"),),
        FORK,
        "fork_cancel",
    ),
    Mutant(
        "fork.cancel_reason_overwritten",
        "mark_canceled overwrites the first cancellation reason",
        (
            Edit(
                CTX,
                "        if self.cancellation_reason is None:\n            self.cancellation",
                "        if True:\n            self.cancellation",
            ),
        ),
        FORK,
        "fork_cancel",
    ),
    # -- FrozenDict --------------------------------------------------------------------------
    Mutant(
        "frozen_dict.item_assignment",
        "FrozenDict grows a working __setitem__",
        (
            Edit(
                FROZEN,
                "    def __getitem__(self, key: K) -> V:\n        return self._data[key]\n",
                "    def __getitem__(self, key: K) -> V:\n        return self._data[key]\n\n"
                "    def __setitem__(self, key: K, value: V) -> None:\n"
                "        self._data[key] = value\n",
            ),
        ),
        FROZEN_CHECKS,
        "frozen_dict_writes",
    ),
    Mutant(
        "frozen_dict.update_allowed",
        "FrozenDict grows a working update()",
        (
            Edit(
                FROZEN,
                "    def to_dict(self) -> dict[K, V]:\n",
                "    def update(self, other: Mapping[K, V]) -> None:\n"
                "        self._data.update(other)\n\n"
                "    def to_dict(self) -> dict[K, V]:\n",
            ),
        ),
        FROZEN_CHECKS,
        "frozen_dict_writes",
    ),
    Mutant(
        "frozen_dict.aliases_source",
        "FrozenDict wraps the caller's dict instead of copying it",
        (
            Edit(
                FROZEN,
                "self._data: dict[K, V] = dict(data) if data else {}",
                "self._data: dict[K, V] = data if data else {}  # type: ignore",
            ),
        ),
        FROZEN_CHECKS,
        "frozen_dict_writes",
    ),
    Mutant(
        "frozen_dict.to_dict_live",
        "to_dict() hands out the FrozenDict's own dict",
        (Edit(FROZEN, "        return dict(self._data)\n", "        return self._data\n"),),
        FROZEN_CHECKS,
        "frozen_dict_writes",
    ),
    Mutant(
        "frozen_dict.get_ignores_default",
        "get(key, default) returns None for a missing key",
        (Edit(FROZEN, "return self._data.get(key, default)", "return self._data.get(key)"),),
        FROZEN_CHECKS,
        "frozen_dict_reads",
    ),
    Mutant(
        "frozen_dict.contains_values",
        "`key in fd` looks among the values",
        (
            Edit(
                FROZEN,
                "        return key in self._data\n",
                "        return key in self._data.values()\n",
            ),
        ),
        FROZEN_CHECKS,
        "frozen_dict_reads",
    ),
    Mutant(
        "frozen_dict.items_drop_last",
        "items() leaves out the last item",
        (
            Edit(
                FROZEN,
                "        return self._data.items()\n",
                "        return list(self._data.items())[:-1]\n",
            ),
        ),
        FROZEN_CHECKS,
        "frozen_dict_reads",
    ),
    Mutant(
        "frozen_dict.hash_order_sensitive",
        "hash() depends on insertion order",
        (
            Edit(
                FROZEN,
                "return hash(tuple(sorted(self._data.items(), key=lambda x: str(x[0]))))",
                "return hash(tuple(self._data.items()))",
            ),
        ),
        FROZEN_CHECKS,
        "frozen_dict_reads",
    ),
    # -- OutputBag -----------------------------------------------------------------------------
    Mutant(
        "output_bag.check_act_split",
        "write() without its lock, with an await between the conflict check and the store",
        _split_by_await(OUTPUTS, _OB_CHECK, _OB_ATTEMPT),
        OUTPUT_BAG,
        "output_bag_race",
    ),
    Mutant(
        "output_bag.attempt_not_incremented",
        "an overwrite keeps the previous attempt number",
        (
            Edit(
                OUTPUTS,
                _OB_ATTEMPT,
                _OB_ATTEMPT.replace("existing.attempt + 1", "existing.attempt"),
            ),
        ),
        OUTPUT_BAG,
        "output_bag_writes",
    ),
    Mutant(
        "output_bag.first_attempt_zero",
        "the first write is attempt 0",
        (Edit(OUTPUTS, _OB_ATTEMPT, _OB_ATTEMPT.replace("else 1", "else 0")),),
        OUTPUT_BAG,
        "output_bag_writes",
    ),
    Mutant(
        "output_bag.conflict_not_raised",
        "a second write without allow_overwrite silently replaces the first",
        (
            Edit(
                OUTPUTS,
                "            if existing is not None and not allow_overwrite:\n                ra",
                "            if False:\n                ra",
            ),
        ),
        OUTPUT_BAG,
        "output_bag_writes",
    ),
    Mutant(
        "output_bag.attempt_count_off_by_one",
        "get_attempt_count() reports one less than the entry's attempt",
        (
            Edit(
                OUTPUTS,
                "return entry.attempt if entry else 0",
                "return entry.attempt - 1 if entry else 0",
            ),
        ),
        OUTPUT_BAG,
        "output_bag_writes",
    ),
    Mutant(
        "output_bag.retry_stages_boundary",
        "get_retry_stages() lists stages written once",
        (Edit(OUTPUTS, "if entry.attempt > 1", "if entry.attempt >= 1"),),
        OUTPUT_BAG,
        "output_bag_writes",
    ),
    # -- ContextBag ----------------------------------------------------------------------------
    Mutant(
        "context_bag.check_act_split",
        "write() without its lock, with an await between the conflict check and the store",
        _split_by_await(BAG, _CB_CHECK, "            self._data[key] = value\n"),
        CONTEXT_BAG,
        "context_bag_race",
    ),
    Mutant(
        "context_bag.conflict_not_raised",
        "a second write of a key silently replaces the first",
        (Edit(BAG, _CB_CHECK, "            if False:\n"),),
        CONTEXT_BAG,
        "context_bag_writes",
    ),
    Mutant(
        "context_bag.writer_not_recorded",
        "write() never records who wrote the key",
        (Edit(BAG, "            self._writers[key] = stage_name\n", "            pass\n"),),
        CONTEXT_BAG,
        "context_bag_writes",
    ),
    Mutant(
        "context_bag.conflict_names_new_writer",
        "DataConflictError names the new writer as the existing one",
        (Edit(BAG, "existing_writer=self._writers[key],", "existing_writer=stage_name,"),),
        CONTEXT_BAG,
        "context_bag_writes",
    ),
    # -- SubpipelineSpawner and ChildRunTracker ----------------------------------------------------
    Mutant(
        "spawner.depth_off_by_one",
        "spawn allows one level more than max_depth",
        (Edit(SUB, "if current_depth >= self._max_depth:", "if current_depth > self._max_depth:"),),
        SPAWN,
        "spawn_depth",
    ),
    Mutant(
        "spawner.depth_not_recorded",
        "spawn never records the child's depth, so grandchildren start at depth 0",
        (
            Edit(
                SUB,
                "            self._run_depths[child_run_id] = child_depth\n",
                "            pass\n",
            ),
        ),
        SPAWN,
        "spawn_depth",
    ),
    Mutant(
        "spawner.depth_not_incremented",
        "a child's depth is its parent's, so nesting is unbounded",
        (Edit(SUB, "child_depth = current_depth + 1", "child_depth = current_depth"),),
        SPAWN,
        "spawn_depth",
    ),
    Mutant(
        "spawner.unregister_skipped_on_failure",
        "a child whose runner raises stays registered with its parent",
        (
            Edit(
                SUB,
                "        start_time = time.perf_counter()\n",
                "        start_time = time.perf_counter()\n        failed = False\n",
            ),
            Edit(
                SUB,
                "        except Exception as e:\n" + _DURATION,
                "        except Exception as e:\n            failed = True\n" + _DURATION,
            ),
            Edit(
                SUB,
                "        finally:\n            if parent_run_id:",
                "        finally:\n            if parent_run_id and not failed:",
            ),
        ),
        SPAWN,
        "spawn_cleanup",
    ),
    Mutant(
        "spawner.tracker_keeps_parent_link",
        "unregister_child forgets the child but keeps its parent link",
        (Edit(SUB, "            self._parents.pop(child_id, None)\n", "            pass\n"),),
        SPAWN,
        "spawn_cleanup",
    ),
    Mutant(
        "spawner.cancel_not_recursive",
        "cancel_with_children cancels children but not grandchildren",
        (
            Edit(
                SUB,
                "await cancel_recursive(child_id, depth + 1)",
                "await cancel_recursive(child_id, depth + 1) if depth == 0 else None",
            ),
        ),
        SPAWN,
        "spawn_cancel",
    ),
    Mutant(
        "spawner.cancel_marks_no_context",
        "cancel_with_children never marks the contexts it was given",
        (
            Edit(
                SUB,
                "                        contexts[current_id].mark_canceled()\n",
                "                        pass\n",
            ),
        ),
        SPAWN,
        "spawn_cancel",
    ),
    Mutant(
        "spawner.registered_after_runner_started",
        "the child is registered only after its runner has started",
        (
            Edit(
                SUB,
                "        if parent_run_id:\n"
                "            await self._tracker.register_child(parent_run_id, child_run_id)\n",
                "",
            ),
            Edit(
                SUB,
                "            result = await runner(child_ctx)\n",
                "            started = asyncio.ensure_future(runner(child_ctx))\n"
                "            await asyncio.sleep(0)\n"
                "            if parent_run_id:\n"
                "                await self._tracker.register_child(parent_run_id, child_run_id)\n"
                "            result = await started\n",
            ),
        ),
        SPAWN,
        "spawn_registration",
    ),
    # -- graph runs: retries, guard retries, timeouts, cancellation ------------------------------
    Mutant(
        "graph.retry_exhausted_early",
        "RetryInterceptor gives up one attempt early",
        (
            Edit(
                RETRY,
                "if attempt >= self.max_attempts - 1:",
                "if attempt >= self.max_attempts - 2:",
            ),
        ),
        GRAPH,
        "retry_decisions",
    ),
    Mutant(
        "graph.retry_counter_starts_at_one",
        "RetryInterceptor counts the first failure as a retry already made",
        (
            Edit(
                RETRY,
                '        attempt = retry_state.get("attempt", 0)\n',
                '        attempt = retry_state.get("attempt", 0) + 1\n',
            ),
        ),
        GRAPH,
        "retry_decisions",
    ),
    Mutant(
        "graph.guard_sees_stale_output",
        "a guard-retried stage's first output is kept: the guard never sees the re-run's",
        (
            Edit(
                DAG,
                "completed[stage_name] = stage_output",
                "completed.setdefault(stage_name, stage_output)",
            ),
        ),
        GRAPH,
        "guard_retry",
    ),
    Mutant(
        "graph.guard_attempts_off_by_one",
        "a guard retry policy allows one guard attempt more than max_attempts",
        (
            Edit(
                DAG,
                "exceeded_attempts = retry_state.attempts >= policy.max_attempts",
                "exceeded_attempts = retry_state.attempts > policy.max_attempts",
            ),
        ),
        GRAPH,
        "guard_retry",
    ),
    Mutant(
        "graph.timeout_not_enforced",
        "run_with_interceptors awaits the stage without wait_for",
        (
            Edit(
                INTERCEPTORS,
                "result = await asyncio.wait_for(stage_run(), timeout=timeout_seconds)",
                "result = await stage_run()",
            ),
        ),
        GRAPH,
        "stage_timeout",
    ),
    Mutant(
        "graph.timeout_config_ignored",
        "TimeoutInterceptor ignores ctx.data['_timeout_ms']",
        (
            Edit(
                INTERCEPTORS,
                'timeout_ms = ctx.data.get("_timeout_ms", self.DEFAULT_TIMEOUT_MS)',
                "timeout_ms = self.DEFAULT_TIMEOUT_MS",
            ),
        ),
        GRAPH,
        "stage_timeout",
    ),
    Mutant(
        "graph.siblings_not_cancelled_on_raise",
        "a stage that raises no longer cancels its running siblings",
        (
            Edit(
                DAG,
                "                            t.cancel()\n" + _GATHER_THEN_RAISE,
                "                            pass\n" + _GATHER_THEN_RAISE,
            ),
        ),
        GRAPH,
        "sibling_cancel",
    ),
    Mutant(
        "graph.cleanup_skipped_on_cancel",
        "a run cancelled from outside skips its cleanups",
        (
            Edit(
                DAG,
                "            await run_cleanup()\n",
                "            if not isinstance(sys.exc_info()[1], asyncio.CancelledError):\n"
                "                await run_cleanup()\n",
            ),
            Edit(
                DAG,
                "import asyncio\nimport logging\n",
                "import asyncio\nimport sys\nimport logging\n",
            ),
        ),
        GRAPH,
        "run_cancel_cleanup",
    ),
]
