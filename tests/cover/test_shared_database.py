"""HYPOTHESIS_DB=redis://HOST:PORT: a failure one process finds is the first example of the next.

A real redis-server runs on a free loopback port (no persistence) for the length of the test.
Each probe process has its own working directory, so its local example database is empty: the
only way the second process can know the failure is through Redis, as a second machine would.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stageflow_verify.core.run.profiles import SharedDatabaseError, redis_database

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("shared_db_probe.py")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed; .ci/run installs Debian's redis-server")
        pytest.skip("redis-server is not installed (apt-get install redis-server); CI installs it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc)
        yield url
    finally:
        proc.terminate()  # the server this fixture started
        proc.wait(timeout=10)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + 10
    while True:
        try:
            redis_database(url)
            return
        except SharedDatabaseError:
            if proc.poll() is not None or time.monotonic() > give_up:
                raise
            time.sleep(0.05)


def _probe(cwd: Path, database: str | None) -> dict[str, Any]:
    cwd.mkdir()
    env = {**os.environ, "HYPOTHESIS_PROFILE": "dev", "PYTHONPATH": str(ROOT)}
    env.pop("HYPOTHESIS_DB", None)
    if database is not None:
        env["HYPOTHESIS_DB"] = database
    done = subprocess.run(
        [sys.executable, str(PROBE)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_failure_found_by_one_process_is_replayed_first_by_another(
    redis_url: str, tmp_path: Path
) -> None:
    first = _probe(tmp_path / "machine-a", redis_url)
    assert first == {"first": 0, "failed": True}  # found by generating, then shrunk to 1000
    second = _probe(tmp_path / "machine-b", redis_url)
    assert second == {"first": 1000, "failed": True}  # replayed before anything else
    alone = _probe(tmp_path / "machine-c", None)
    assert alone["first"] != 1000  # without the shared database, nothing to replay


def test_a_malformed_url_is_refused_in_one_line() -> None:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "dev", "HYPOTHESIS_DB": "redis:/oops"}
    done = subprocess.run(
        [sys.executable, "-m", "stageflow_verify.core.run.verify",
         "--checks", "values.extract_service"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "verify: HYPOTHESIS_DB='redis:/oops' is not redis://HOST:PORT (e.g. "
        "redis://127.0.0.1:6379); fix it or unset HYPOTHESIS_DB to use the local example "
        "database only"
    ]
