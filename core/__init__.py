# Layout of core/, the suite's engine, in four rooms. Imports run one way (tests/cover/
# test_layout.py enforces it): run -> sched, check, sut, models; sut -> sched, check;
# sched and check import neither run nor sut, and only sut imports stageflow.
#
# sched/   the deterministic scheduler (sched/SCHEDULER.md): one asyncio callback per step,
#          virtual time, every choice (which lane runs, which fault fires) made by a Chooser
#          (Hypothesis, seeded, PCT, replay), bounded-exhaustive exploration, traces, swimlanes;
#          and controlled OS threads, one at a time, every switch a choice of the same choosers
# check/   the history checker: Call/Return histories, linearizability (Wing & Gong with
#          Lowe's memoization), the explanation of an illegal history, and the breadth-first
#          walk of the models' own state spaces
# run/     the commands and their reports: the check and finding registry, Hypothesis
#          profiles, verify, matrix, nightly and its shards, modelcheck, contracts, mutation,
#          bounded subprocesses
# sut/     the adapter to Stageflow: the only package that imports stageflow
"""stageflow-verify's engine: the scheduler, the checker, the runners and the Stageflow adapter."""
