# Layout of core/, the suite's engine:
#
# Scheduling (SCHEDULER.md):
#   scheduler.py        run(main, chooser) -> RunResult, and the public names of the loop
#   loop.py             DeterministicLoop: one callback per step, virtual time, faults
#   loop_reports.py     its own failures (deadlock, livelock), their messages, its notes
#   _ready.py           the ready queue: FIFO per task lane, the chooser picks across lanes
#   _tasks.py           a run's tasks: lanes, names, where each one is suspended
#   choosers.py         Hypothesis, seeded, PCT and replay choosers behind one Chooser protocol
#   faults.py           exceptions, cancellations and expired timers as chooser choices
#   exhaustive.py       every schedule of a scenario under a preemption or delay bound
#   trace.py            steps of a run (a columnar StepLog) and the swimlane renderer
# Histories:
#   history.py          Call/Return events, Operation, HistoryRecorder, the Model protocol
#   linearizability.py  check_history(...) -> Verdict OK | ILLEGAL | UNKNOWN
#   _search.py          the Wing & Gong search with Lowe's memoization, private
#   render.py           swimlane and Let/Then explanation of an illegal history
# Running checks:
#   profiles.py         Hypothesis profiles (dev, ci, nightly, crosshair), HYPOTHESIS_DB
#   checks.py           Check and Finding, discovered from stateful/ and properties/
#   verify.py           `make verify`: every check, the table, reports/
#   report.py           verify's table, JSON and Markdown; findings_report.py: findings.md
#   matrix.py           STAGEFLOW=, SUT= and verify-all: one verify per Stageflow version
#   nightly.py          `make nightly` (nightly_shard.py: one xdist worker's share)
#   modelcheck.py       `make modelcheck`; statespace.py: breadth-first walk of the models
#   contracts.py        `make contracts`: CrossHair over models/ and the checker
#   mutation.py         `make mutation`: verify against every planted bug of tests/quality
#   sut/                the adapter to Stageflow: the only package that imports stageflow
"""stageflow-verify's engine: the scheduler, the checker, and everything that runs checks."""
