# Layout of core/sched/, the deterministic scheduler (SCHEDULER.md beside this file):
#
#   scheduler.py        run(main, chooser) -> RunResult, and the public names of the loop
#   loop.py             DeterministicLoop: one callback per step, virtual time, faults
#   loop_reports.py     its own failures (deadlock, livelock), their messages, its notes
#   _ready.py           the ready queue: FIFO per task lane, the chooser picks across lanes
#   _tasks.py           a run's tasks: lanes, names, where each one is suspended
#   choosers.py         Hypothesis, seeded, PCT and replay choosers behind one Chooser protocol
#   faults.py           exceptions, cancellations and expired timers as chooser choices
#   exhaustive.py       every schedule of a scenario under a preemption or delay bound
#   trace.py            steps of a run (a columnar StepLog) and the swimlane renderer
#   threads.py          run_threads: OS threads one at a time, each switch a chooser's choice
#   thread_locks.py     the focus filter and ControlledLock, a lock the thread scheduler sees
#   thread_reports.py   ThreadRunResult, UncontrolledBlockError, per-thread bookkeeping
#   thread_explore.py   explore_threads: every thread schedule within a bound
#
# It imports neither core.run nor core.sut, and never stageflow: it schedules any asyncio code
# (and, through threads.py, any threads).
"""The deterministic asyncio scheduler: every interleaving and every fault is a chooser's choice."""

from stageflow_verify.core.sched.choosers import (
    Chooser,
    HypothesisChooser,
    PCTChooser,
    ReplayChooser,
    ReplayDivergedError,
    SeededChooser,
)
from stageflow_verify.core.sched.exhaustive import ExplorationReport, Violation, explore
from stageflow_verify.core.sched.faults import Fault, FaultPlan
from stageflow_verify.core.sched.scheduler import (
    NOTE_HEADER,
    DeadlockError,
    DeterministicLoop,
    LivelockError,
    RunResult,
    ScheduleFailure,
    run,
)
from stageflow_verify.core.sched.thread_explore import explore_threads
from stageflow_verify.core.sched.thread_locks import ControlledLock, focus_on
from stageflow_verify.core.sched.thread_reports import ThreadRunResult, UncontrolledBlockError
from stageflow_verify.core.sched.threads import ThreadScheduler, run_threads
from stageflow_verify.core.sched.trace import Step, StepLog, Trace, render_swimlane

__all__ = [
    "NOTE_HEADER",
    "Chooser",
    "ControlledLock",
    "DeadlockError",
    "DeterministicLoop",
    "ExplorationReport",
    "Fault",
    "FaultPlan",
    "HypothesisChooser",
    "LivelockError",
    "PCTChooser",
    "ReplayChooser",
    "ReplayDivergedError",
    "RunResult",
    "ScheduleFailure",
    "SeededChooser",
    "Step",
    "StepLog",
    "ThreadRunResult",
    "ThreadScheduler",
    "Trace",
    "UncontrolledBlockError",
    "Violation",
    "explore",
    "explore_threads",
    "focus_on",
    "render_swimlane",
    "run",
    "run_threads",
]
