"""Ctrl-C stops every long target and everything it started.

A terminal's Ctrl-C sends SIGINT to the foreground process group: here, ``make <target>`` is
started in a session of its own, and once the target's Python process is running, SIGINT goes
to make's process group. Then make must exit, and nothing it started may survive: a child in a
process group or session of its own (``timeout`` without ``--foreground``, or nightly's pytest)
would miss that SIGINT unless its parent passes it on; every descendant is found by a tag in its
inherited environment. Timing is asserted with a generous bound only (the machine is shared);
survival is what is asserted exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from stageflow_verify.core.run.matrix import pinned_version

ROOT = Path(__file__).resolve().parents[2]
TAG_ENV = "STAGEFLOW_VERIFY_SIGNAL_TEST"

# Each target with inputs that keep it short if the SIGINT never came, and what must be running
# before the SIGINT is sent: (a part of a command line, how many processes show it), so that the
# children a target starts (xdist workers, CrossHair, verify subprocesses) are there to stop.
# make runs the suite's console script (`stageflow-verify COMMAND`); the subprocesses it starts
# run `python -m stageflow_verify...`.
TARGETS = {
    "verify": ([], ("stageflow-verify verify", 1)),
    "modelcheck": ([], ("stageflow-verify modelcheck", 1)),
    "nightly": (["NIGHTLY_MINUTES=1", "CHECKS=values.*"], ("python", 4)),
    "contracts": (["CONTRACTS_TOTAL=60"], ("crosshair", 1)),
    "reach": (["CHECKS=values.*"], ("stageflow-verify reach", 1)),
    "mutation": (
        ["MUTANTS=fork.inherit_shares_data", "MUTATION_SAMPLE=0"],
        ("stageflow_verify.core.run.verify", 1),
    ),
    # One release, the pinned one, so the test needs no release venv: matrix, then its verify.
    "verify-all": (
        [f"MATRIX_VERSIONS={pinned_version()}", "CHECKS=values.*"],
        ("stageflow_verify.core.run.verify", 1),
    ),
}
# Generous: Ctrl-C should end a target within 2 s; the shared machine can be ten times slower.
EXIT_BOUND = 30.0


def _tagged(tag: str) -> list[str]:
    """The live processes (zombies are dead) whose environment holds ``tag``, as 'pid command':
    everything the target started, whatever session or process group it moved to."""
    alive = []
    needle = f"{TAG_ENV}={tag}".encode()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # ended while we looked
        if state != "Z" and needle in environ:
            alive.append(f"{stat.parent.name} {command[:120]}")
    return alive


def _started(tag: str, shown: str, count: int) -> bool:
    return sum(shown in p for p in _tagged(tag)) >= count


def _default_signals() -> None:
    # A shell without job control starts background commands with SIGINT ignored, and some
    # runners ignore SIGCHLD (then make's wait fails); children inherit both. make and Python
    # must see Ctrl-C as a terminal's make would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_ctrl_c_stops_the_target_and_everything_it_started(target: str) -> None:
    variables, (shown, count) = TARGETS[target]
    tag = uuid.uuid4().hex
    make = subprocess.Popen(
        ["make", target, *variables],
        cwd=ROOT,
        env={**os.environ, TAG_ENV: tag},
        start_new_session=True,
        preexec_fn=_default_signals,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while make.poll() is None and time.monotonic() < deadline:
            if _started(tag, shown, count):
                break
            time.sleep(0.1)
        assert make.poll() is None, f"make {target} ended before it could be interrupted"
        assert _started(tag, shown, count), f"{shown} never ran: {_tagged(tag)}"
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=EXIT_BOUND)
        deadline = time.monotonic() + EXIT_BOUND
        while _tagged(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _tagged(tag), f"survived Ctrl-C on make {target}: {_tagged(tag)}"
    finally:
        for line in _tagged(tag):  # never leave a stray process behind a failed test
            os.kill(int(line.split()[0]), signal.SIGKILL)
