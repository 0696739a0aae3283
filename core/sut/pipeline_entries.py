"""The runs a :class:`~core.sut.pipeline_builder.BuilderProgram` makes of its last pipeline:
``build().run``, ``run`` and ``invoke`` each way, ``run_stage``, and the three calls that must
be refused; every run's outputs and the wide events a recording emitter was asked to emit.

For example::

    await run_entries(program, target, played, wide_supported=True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stageflow_verify.core.sut import HarnessError, stageflow_module
from stageflow_verify.core.sut.graphs import root_context

sf = stageflow_module()

REFUSED_ENTRIES = ("run_both", "invoke_ctx_text", "invoke_twice")


# The suite's own folders, and tests/, where a planted bug stands in for Stageflow (as
# core/run/code_owner.py has them; core/sut may not import core/run).
_ROOT = Path(__file__).resolve().parents[2]
_SUITE_DIRS = tuple(_ROOT / d for d in ("core", "stateful", "properties", "models"))
_PLANTED_DIR = _ROOT / "tests"


def raised_in_stageflow(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by Stageflow's code (or a bug a test plants in its place):
    the innermost frame of its traceback that is Stageflow's or the suite's is Stageflow's.
    Only that is a refusal to compare with a model; an argument this release cannot bind or
    an adapter's slip is the suite's, and propagates (verify's ERROR)."""
    stageflow_dirs = tuple(Path(p).resolve() for p in sf.__path__)
    owner = ""
    tb = exc.__traceback__
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename).resolve()
        if any(path.is_relative_to(d) for d in (*stageflow_dirs, _PLANTED_DIR)):
            owner = "stageflow"
        elif any(path.is_relative_to(d) for d in _SUITE_DIRS):
            owner = "suite"
        tb = tb.tb_next
    return owner == "stageflow"


def refusal(exc: Exception) -> tuple[str, Any]:
    """What ``build`` (or a run that builds) refused with: ``missing`` with its (stage,
    dependency), ``cycle`` with its path, ``empty``, or the class name of anything else."""
    code = getattr(getattr(exc, "error_info", None), "code", "")
    if code == "CONTRACT-004-MISSING_DEP":
        return ("missing", tuple(exc.stages))  # type: ignore[attr-defined]
    if code == "CONTRACT-004-CYCLE":
        return ("cycle", tuple(exc.cycle_path))  # type: ignore[attr-defined]
    if code == "CONTRACT-004-EMPTY":
        return ("empty", None)
    return (type(exc).__name__, str(exc))


class _Recorder:
    """A WideEventEmitter that keeps what it is asked to emit (stage names, pipeline events)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def emit_stage_event(self, *, ctx: Any, result: Any, extra: Any = None) -> None:
        self.seen.append(("stage", str(result.name)))

    def emit_pipeline_event(self, *, ctx: Any, stage_results: Any, **fields: Any) -> None:
        self.seen.append(("pipeline", ""))


async def run_entries(program: Any, target: Any, played: Any, wide_supported: bool) -> None:
    """Builds ``target`` (with the program's wide-event flags where this release takes them)
    and runs it through each entry of ``program``, into ``played.build`` and ``played.runs``."""
    recorder = _Recorder()
    wide: dict[str, Any] = {}
    if wide_supported:
        wide = {
            "emit_stage_wide_events": program.wide[0],
            "emit_pipeline_wide_event": program.wide[1],
            "wide_event_emitter": recorder,
        }
    try:
        graph = target.build(**wide)
    except Exception as exc:  # the outcome compared: refusals, and anything else by class
        if not raised_in_stageflow(exc):
            raise
        played.build = refusal(exc)
        graph = None
    for i, entry in enumerate(program.entries):
        text = f"run-{i}"
        recorder.seen.clear()
        try:
            outcome = await _enter(entry, target, graph, text, wide)
        except Exception as exc:
            if not raised_in_stageflow(exc):
                raise
            outcome = ("raised", *refusal(exc))
        played.runs.append((entry, outcome, tuple(sorted(recorder.seen))))


async def _enter(entry: str, pipe: Any, graph: Any, text: str, wide: dict[str, Any]) -> Any:
    ctx = root_context(text)
    if entry == "build_run":
        if graph is None:
            return ("not built",)
        return _outputs(await graph.run(ctx))
    if entry == "run_ctx":
        return _outputs(await pipe.run(ctx, **wide))
    if entry == "run_kwargs":
        return _outputs(await pipe.run(input_text=text, **wide))
    if entry == "run_topology":
        return _outputs(await pipe.run(input_text=text, topology="given", **wide))
    if entry == "invoke_text":
        return _outputs(await pipe.invoke(text, **wide))
    if entry == "invoke_ctx":
        return _outputs(await pipe.invoke(ctx, **wide))
    if entry == "invoke_kwargs":
        return _outputs(await pipe.invoke(input_text=text, **wide))
    if entry == "run_stage":
        if not pipe.stages:
            return ("no stage",)
        name, spec = next(iter(pipe.stages.items()))
        output = await sf.pipeline.pipeline.run_stage(
            name,
            spec.runner,
            spec.kind,
            conditional=spec.conditional,
            config=dict(spec.config) or None,
            input_text=text,
            **wide,
        )
        return {name: dict(output.data)}
    if entry == "run_both":
        return await pipe.run(ctx, input_text=text)
    if entry == "invoke_ctx_text":
        return await pipe.invoke(ctx, input_text=text)
    if entry == "invoke_twice":
        return await pipe.invoke(text, input_text=text)
    raise HarnessError(f"no such entry point in the builder harness: {entry!r}")


def _outputs(results: Any) -> dict[str, dict[str, Any]]:
    return {name: dict(output.data) for name, output in results.items()}


def given_topology(text: str) -> Any:
    """The topology of the context :func:`core.sut.graphs.root_context` makes for a run."""
    ctx = root_context(text)
    snapshot = getattr(ctx, "snapshot", None)
    return snapshot.topology if snapshot is not None else ctx.topology
