"""``stageflow.helpers.run_utils`` driven with a :class:`~models.run_helpers.HelperRun`, and the
event sink and logging helpers driven directly; everything read back as plain values.

``play_helper_run`` builds the chain, runs it through ``PipelineRunner.run`` (given a
``Pipeline``, a built graph or a list of graph specs; a context made from keywords, from given
ids, from ``create_snapshot``, or a ``PipelineContext``) or ``run_simple_pipeline``, prints
the result with ``print_result``, and returns the ``RunResult`` as read, ``to_dict``,
``get_stage_data`` and everything printed. The caller's global event sink is put back after
(SF-LIFE-05 is the runner check's finding, not this one's), and the root logger after
``setup_logging``.

For example::

    seen = run(lambda: play_helper_run(plan), chooser).value
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import json
import logging
import os
import tempfile
import tracemalloc
import uuid
from dataclasses import dataclass
from typing import Any

from stageflow_verify.core.sut import stageflow_module
from stageflow_verify.core.sut.graphs import root_context
from stageflow_verify.core.sut.pipeline_entries import raised_in_stageflow
from stageflow_verify.models.run_helpers import CANCEL_REASON, HelperRun, stage_name

sf = stageflow_module()


@dataclass(frozen=True)
class HelperFeatures:
    takes_context: bool  # PipelineRunner.run(pipeline_ctx=...): 0.9.5 on
    instruments: bool  # PipelineRunner(enable_memory_tracker=..., ...): 0.7.0 on


def helper_features() -> HelperFeatures:
    from stageflow.helpers.run_utils import PipelineRunner

    return _helper_features(PipelineRunner)


@functools.lru_cache(maxsize=8)
def _helper_features(runner: Any) -> HelperFeatures:
    return HelperFeatures(
        takes_context="pipeline_ctx" in inspect.signature(runner.run).parameters,
        instruments="enable_memory_tracker" in inspect.signature(runner).parameters,
    )


def _stage(index: int, behaviour: str) -> Any:
    async def run_stage(ctx: Any) -> Any:
        if behaviour == "raise":
            raise RuntimeError(f"stage {index} fails")
        if behaviour == "cancel":
            return sf.StageOutput.cancel(reason=CANCEL_REASON)
        return sf.StageOutput.ok(index=index, zero=0)

    return run_stage


def _pipeline(run: HelperRun) -> Any:
    pipeline = sf.Pipeline()
    for i, behaviour in enumerate(run.stages):
        deps = (stage_name(i - 1),) if i else ()
        pipeline = pipeline.with_stage(
            stage_name(i), _stage(i, behaviour), sf.StageKind.TRANSFORM, deps
        )
    if run.pipeline_as == "graph":
        return pipeline.build()
    if run.pipeline_as == "specs":
        spec = sf.pipeline.dag.UnifiedStageSpec
        return [
            spec(name=n, runner=s.runner, kind=s.kind, dependencies=s.dependencies)
            for n, s in pipeline.stages.items()
        ]
    return pipeline


async def play_helper_run(run: HelperRun) -> dict[str, Any]:
    from stageflow.helpers import run_utils

    text = "x" * 70 if run.long_text else "hello"
    run_id = uuid.UUID(int=7)
    printed = io.StringIO()
    seen: dict[str, Any] = {"raised": None}
    saved_sink = sf.get_event_sink()
    tracing = tracemalloc.is_tracing()
    try:
        with contextlib.redirect_stdout(printed):
            pipeline = _pipeline(run)
            if run.simple:
                metadata = {"origin": "law"} if run.context_as == "metadata" else None
                result = await run_utils.run_simple_pipeline(
                    pipeline, text, metadata=metadata, verbose=run.verbose, colorize=run.colorize
                )
                runner = run_utils.PipelineRunner(verbose=False, colorize=run.colorize)
            else:
                instruments = {
                    "enable_uuid_monitor": True,
                    "enable_memory_tracker": True,
                    # tracemalloc, when started, is stopped again below
                    "memory_tracker_auto_start": run.instruments == "started",
                    "enable_immutability_check": True,
                    "enable_context_size_monitor": True,
                }
                if run.instruments == "none":
                    instruments = {}
                runner = run_utils.PipelineRunner(
                    verbose=run.verbose,
                    colorize=run.colorize,
                    capture_events=run.capture,
                    **instruments,
                )
                result = await runner.run(pipeline, **_context_args(run, runner, text, run_id))
            seen["during"] = printed.getvalue()
            runner.print_result(result, show_data=True)
    except Exception as exc:
        if not raised_in_stageflow(exc):
            raise  # the suite's own failure: verify judges it ERROR, not a refusal
        seen["raised"] = type(exc).__name__  # compared with the model's
        return seen
    finally:
        sf.set_event_sink(saved_sink)
        if not tracing:  # the memory tracker started it: the rest of verify runs without it
            tracemalloc.stop()
    seen["printed"] = printed.getvalue()[len(seen["during"]) :]
    seen["result"] = result
    seen["to_dict"] = result.to_dict()
    seen["data"] = {n: result.get_stage_data(n, "index", "none") for n in result.stages}
    seen["data_absent"] = result.get_stage_data("absent", "index", "none")
    seen["run_id"] = run_id
    return seen


def _context_args(run: HelperRun, runner: Any, text: str, run_id: uuid.UUID) -> dict[str, Any]:
    if run.context_as == "ids":
        return {"input_text": text, "pipeline_run_id": run_id, "topology": "given"}
    if run.context_as == "metadata":
        return {"input_text": text, "metadata": {"origin": "law"}}
    if run.context_as == "kwargs":
        return {"input_text": text}
    snapshot = runner.create_snapshot(input_text=text, pipeline_run_id=run_id)
    if run.context_as == "snapshot":
        return {"snapshot": snapshot}
    ctx = root_context(text, pipeline_run_id=run_id)  # drawn where run takes pipeline_ctx
    if run.context_as == "pipeline_ctx":
        return {"pipeline_ctx": ctx}
    return {"pipeline_ctx": ctx, "snapshot": snapshot}  # "both": refused


def read_snapshots(given: dict[str, Any]) -> tuple[Any, Any]:
    """Two snapshots ``create_snapshot(**given)`` makes, for the defaults' claims."""
    from stageflow.helpers.run_utils import PipelineRunner

    ids = ("pipeline_run_id", "request_id", "session_id", "user_id", "org_id", "interaction_id")
    given = {k: uuid.UUID(int=len(k)) if k in ids else v for k, v in given.items()}
    runner = PipelineRunner(verbose=False)
    return runner.create_snapshot(**given), runner.create_snapshot(**given)


async def play_sink(
    verbose: bool, colorize: bool, capture: bool, events: list[tuple[str, dict[str, Any] | None]]
) -> dict[str, Any]:
    """``ObservableEventSink``: the events emitted (alternately by ``emit`` and ``try_emit``),
    then every read path, each printout kept apart."""
    from stageflow.helpers.run_utils import ObservableEventSink

    sink = ObservableEventSink(verbose=verbose, colorize=colorize, capture=capture)
    seen: dict[str, Any] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, (kind, data) in enumerate(events):
            if i % 2:
                sink.try_emit(type=kind, data=data)
            else:
                await sink.emit(type=kind, data=data)
    seen["printed"] = out.getvalue()
    seen["events"] = [(e["type"], e["data"]) for e in sink.events]
    seen["by_type"] = {
        t: [e["type"] for e in sink.get_events_by_type(t)] for t in ("stage", "tool")
    }
    seen["stage_a"] = [e["type"] for e in sink.get_stage_events("a")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        sink.print_summary()
    seen["summary"] = out.getvalue()
    sink.clear()
    seen["cleared"] = list(sink.events)
    return seen


def play_logging(
    verbose: bool, json_format: bool, to_file: bool, record: dict[str, Any], with_error: bool
) -> dict[str, Any]:
    """``setup_logging`` on the root logger (restored after), then one record logged through
    it; returns the level, the handlers and what each wrote."""
    from stageflow.helpers.run_utils import setup_logging

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(out):
        path = os.path.join(folder, "run.log")
        try:
            setup_logging(
                verbose=verbose, json_format=json_format, log_file=path if to_file else None
            )
            handlers = sorted(type(h).__name__ for h in root.handlers)
            level = root.level
            logger = logging.getLogger("stageflow_verify.law")
            try:
                raise KeyError("cause")
            except KeyError:
                logger.warning("hello %s", "world", extra=record, exc_info=with_error)
            for handler in root.handlers:
                handler.flush()
            written = open(path).read() if to_file else None  # noqa: SIM115 - closed below
        finally:
            for handler in root.handlers:
                handler.close()
            root.handlers[:] = saved[1]
            root.setLevel(saved[0])
    lines = out.getvalue().strip().splitlines()
    parsed = [json.loads(line) for line in lines if line.startswith("{")] if json_format else []
    return {"level": level, "handlers": handlers, "lines": lines, "json": parsed, "file": written}
