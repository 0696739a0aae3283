"""make nightly, bounded: a few seconds over two fast checks, and the shard loop's failure path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stageflow_verify.core.run import nightly_shard
from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.run.nightly_report import check_rows

ROOT = Path(__file__).resolve().parents[2]
SMOKE_CHECKS = "values.frozen_dict_mapping_laws,bags.context_bag_linearizable"


def test_nightly_smoke_run_writes_json_junit_and_progress(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "stageflow_verify.core.run.nightly",
        "--minutes", "0.1", "--workers", "2",
        "--shards-per-worker", "1", "--chunk", "10", "--checks", SMOKE_CHECKS,
        "--reports", str(tmp_path), "--progress-every", "2",
    ]  # fmt: skip
    env = {**os.environ, "HYPOTHESIS_PROFILE": "nightly"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "examples, 0 failures" in done.stdout  # the progress lines
    report = json.loads((tmp_path / "nightly.json").read_text())
    assert report["profile"] == "nightly"
    rows = {row["name"]: row for row in report["checks"]}
    assert set(rows) == set(SMOKE_CHECKS.split(","))
    for row in rows.values():
        assert row["status"] == "PASS" and row["examples"] > 0 and row["shards"] == 2
        assert row["examples_per_second"] > 0
    assert rows["bags.context_bag_linearizable"]["rules"]["run_tasks"] > 0
    # The nightly profile's example database is read by every run (its reuse phase) and the
    # statistics say so; nothing failed, so nothing was saved.
    for row in rows.values():
        database = row["statistics"]["database"]
        assert database["kind"] == "local" and database["read"] and not database["written"]
        assert row["statistics"]["examples"]["valid"] > 0
    cases = ET.parse(tmp_path / "nightly.xml").getroot().iter("testcase")
    assert len(list(cases)) == 4  # two shards of each check


@given(st.integers(0, 1000))
@settings(database=None, max_examples=200, derandomize=True)
def _planted_law(n: int) -> None:
    count_example()
    assert n < 500


def test_failing_shard_records_the_shrunk_example_and_reports_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "progress").mkdir()
    monkeypatch.setenv(nightly_shard.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(nightly_shard.ENV_DEADLINE, str(time.time() + 5))
    with pytest.raises(pytest.fail.Exception, match="Failing test case"):
        nightly_shard.test_shard(Check("planted.law", _planted_law, "n < 500"), 0)
    [progress] = nightly_shard.read_progress(tmp_path)
    assert progress.status == "failed" and progress.failures == 1
    assert "n=500" in progress.detail
    [row] = check_rows([progress])
    assert row.status == "NEW" and row.examples == progress.examples > 0
