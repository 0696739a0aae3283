"""Run many commands, a few at a time, and stop them all at a deadline.

``make contracts`` runs CrossHair once per module and once per diffbehavior pair; any of those can
run long, and the target promises a bounded total time. Output goes to a temporary file, not a
pipe, so a chatty command never blocks on a full pipe buffer.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass
class Finished:
    """How one command ended. ``returncode`` None: killed at the deadline or never started."""

    returncode: int | None
    output: str
    seconds: float = 0.0


KILLED = "killed at --total-timeout"
NOT_STARTED = "not started before --total-timeout"


def run_bounded(
    commands: Sequence[list[str]], *, jobs: int, deadline: float, cwd: Path
) -> list[Finished]:
    """Run ``commands``, ``jobs`` at a time, until ``deadline`` (a ``time.monotonic()`` value)."""
    results = [Finished(None, NOT_STARTED) for _ in commands]
    waiting = list(range(len(commands)))
    running: dict[int, tuple[subprocess.Popen[bytes], IO[bytes], float]] = {}
    while (waiting or running) and time.monotonic() < deadline:
        while waiting and len(running) < jobs:
            index = waiting.pop(0)
            log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
            proc = subprocess.Popen(commands[index], stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
            running[index] = (proc, log, time.monotonic())
        for index, (proc, log, started) in list(running.items()):
            if proc.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
                results[index] = Finished(proc.returncode, output, time.monotonic() - started)
                log.close()
                del running[index]
        time.sleep(0.1)
    for index, (proc, log, started) in running.items():
        proc.kill()  # a process this run started: the total bound is the caller's promise
        proc.wait()
        log.close()
        results[index] = Finished(None, KILLED, time.monotonic() - started)
    return results
