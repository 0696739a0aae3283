"""The reproducers of the graph findings about what a run does to its stages and other runs.

SF-RUN-04 (a cancelled run leaves its stages running), 05 (concurrent runs of one built graph
share its cancellation token and cleanup registry), 07 (readers share the stored StageOutput)
and 10 (a FAIL output leaves the siblings running). ``stateful/graph_findings.py`` declares
them; all four are about an interleaving, and tagged so.

Each is plain Stageflow code given the imported ``stageflow`` package as ``sf``, runs its own
``asyncio.run``, and returns True while the violation is there. None waits on the clock: an
interleaving is forced with ``asyncio.Event``s (and a few ``asyncio.sleep(0)`` yields to let a
stage that should have been stopped run to its end), so the answer is the same on any machine,
however loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import ModuleType
from typing import Any

from stageflow_verify.stateful.graph_runs import _context


def cancelled_run_keeps_running(sf: ModuleType) -> bool:
    finished = []

    async def main() -> None:
        started, release = asyncio.Event(), asyncio.Event()

        async def work(ctx: Any) -> Any:
            started.set()
            await release.wait()  # a stage the run's cancellation should stop here
            finished.append(1)

        graph = sf.Pipeline().with_stage("a", work, sf.StageKind.TRANSFORM).build()
        run = asyncio.create_task(graph.run(_context(sf)))
        await started.wait()
        run.cancel()  # as asyncio.wait_for does on a timeout, or a cancelled parent task
        with contextlib.suppress(asyncio.CancelledError):
            await run
        release.set()  # the run is over: a stage it stopped cannot get past its wait now
        for _ in range(10):  # let a stage that was not stopped run to its end
            await asyncio.sleep(0)

    asyncio.run(main())
    return finished == [1]


def failed_output_leaves_siblings_running(sf: ModuleType) -> bool:
    finished = []

    async def main() -> bool:
        sibling_started, release = asyncio.Event(), asyncio.Event()

        async def fails(ctx: Any) -> Any:
            await sibling_started.wait()
            return sf.StageOutput.fail(error="invalid")

        async def sibling(ctx: Any) -> Any:
            sibling_started.set()
            await release.wait()  # a stage the run's failure should stop here
            finished.append(1)

        graph = (
            sf.Pipeline()
            .with_stage("check", fails, sf.StageKind.TRANSFORM)
            .with_stage("work", sibling, sf.StageKind.TRANSFORM)
            .build()
        )
        try:
            await graph.run(_context(sf))
        except sf.pipeline.dag.UnifiedStageExecutionError:
            release.set()  # the run has failed: a sibling it stopped cannot finish now
            for _ in range(10):
                await asyncio.sleep(0)
            return finished == [1]
        return False

    return asyncio.run(main())


def failing_run_cancels_concurrent_run(sf: ModuleType) -> bool:
    async def main() -> Any:
        good_started, failing, good_over = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def quick(ctx: Any) -> Any:
            if ctx.snapshot.input_text == "bad":
                await good_started.wait()  # both runs are under way
                raise ValueError("bad input")
            good_started.set()
            await failing.wait()  # finishes while the failed run is still ending

        async def slow(ctx: Any) -> Any:
            if ctx.snapshot.input_text == "good":
                await failing.wait()
                return
            try:
                await asyncio.Event().wait()  # until its own run's failure cancels it
            finally:  # closing a stream, say: while it does, the failed run is still ending
                failing.set()
                await good_over.wait()

        async def after(ctx: Any) -> Any:
            pass

        graph = (
            sf.Pipeline()
            .with_stage("quick", quick, sf.StageKind.TRANSFORM)
            .with_stage("slow", slow, sf.StageKind.TRANSFORM)
            .with_stage("after", after, sf.StageKind.TRANSFORM, dependencies=("quick",))
            .build()
        )

        async def one(text: str) -> Any:
            try:
                return await graph.run(_context(sf, input_text=text))
            except Exception as exc:
                return exc
            finally:
                if text == "good":
                    good_over.set()

        return await asyncio.gather(one("bad"), one("good"))

    _, good = asyncio.run(main())
    # 1.2.0 stops it with UnifiedPipelineCancelled; 0.5.1 may also reset the shared token to None
    # while the stopped run still reads the token's reason, which raises AttributeError.
    crashed = isinstance(good, AttributeError) and "attribute 'reason'" in str(good)
    return type(good).__name__ == "UnifiedPipelineCancelled" or crashed


def cleanup_runs_at_the_other_runs_end(sf: ModuleType) -> bool:
    events: list[str] = []
    holder: dict[str, Any] = {}

    async def main() -> None:
        b_registered, a_ended = asyncio.Event(), asyncio.Event()

        async def stage(ctx: Any) -> Any:
            label = ctx.snapshot.input_text

            async def cleanup() -> None:
                events.append(f"cleanup {label}")

            holder["graph"].register_cleanup(cleanup)
            if label == "A":
                await b_registered.wait()  # both runs have registered their cleanup
            else:
                b_registered.set()
                await a_ended.wait()  # run B is still working when run A ends

        holder["graph"] = sf.Pipeline().with_stage("s", stage, sf.StageKind.TRANSFORM).build()

        async def one(label: str) -> None:
            await holder["graph"].run(_context(sf, input_text=label))
            events.append(f"end {label}")
            if label == "A":
                a_ended.set()

        await asyncio.gather(one("A"), one("B"))

    asyncio.run(main())
    return "cleanup B" in events and events.index("cleanup B") < events.index("end A")


def concurrent_runs_share_run_state(sf: ModuleType) -> bool:
    symptoms = [failing_run_cancels_concurrent_run, cleanup_runs_at_the_other_runs_end]
    return any([symptom(sf) for symptom in symptoms])  # each one runs, whatever the first says


def stage_changes_what_its_sibling_receives(sf: ModuleType) -> bool:
    received = {}

    async def main() -> Any:
        mutated = asyncio.Event()

        async def produce(ctx: Any) -> Any:
            return sf.StageOutput.ok(items=[1])

        async def mutate(ctx: Any) -> Any:
            ctx.inputs.get_output("p").data["items"].append(2)
            mutated.set()

        async def read(ctx: Any) -> Any:
            await mutated.wait()  # its sibling has done its work
            received["items"] = list(ctx.inputs.get_output("p").data["items"])

        graph = (
            sf.Pipeline()
            .with_stage("p", produce, sf.StageKind.TRANSFORM)
            .with_stage("m", mutate, sf.StageKind.TRANSFORM, dependencies=("p",))
            .with_stage("r", read, sf.StageKind.TRANSFORM, dependencies=("p",))
            .build()
        )
        return await graph.run(_context(sf))

    results = asyncio.run(main())
    return received.get("items") == [1, 2] and results["p"].data["items"] == [1, 2]


def read_data_writes_bag(sf: ModuleType) -> bool:
    # (was SF-BAG-02) OutputBag hands out the stored StageOutput, whose data is the stored dict.
    bag = sf.context.OutputBag()
    bag.write_sync("stt", sf.StageOutput.ok({"transcript": "hello"}))
    bag.get_output("stt").data["transcript"] = "tampered"
    return bool(bag.get_value("stt", "transcript") == "tampered")


def readers_share_stored_outputs(sf: ModuleType) -> bool:
    symptoms = [stage_changes_what_its_sibling_receives, read_data_writes_bag]
    return any([symptom(sf) for symptom in symptoms])  # each one runs, whatever the first says
