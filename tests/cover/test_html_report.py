"""reports/index.html as a browser shows it: a verify with one planted NEW, loaded by Chromium.

The page's timelines are drawn by its inline script, so the DOM Chromium dumps (after scripts
ran) holds the drawn steps only if the page really works in a browser. The test finds the
verdict rows, the NEW row, its timeline (one box per recorded step, the planted write's
operation on hover) and the finding rows. A screenshot is kept under ``reports/``.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it): without it the test skips, except
under ``CI=true``, where a missing browser is a failure, as a missing redis-server is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import settings
from stageflow.context.output_bag import OutputBag

from stageflow_verify.core.run import verify
from stageflow_verify.core.run.html_report import render_index, render_matrix_index
from stageflow_verify.core.run.report import Row, VerifyReport
from stageflow_verify.core.sched.timeline import timeline_data
from stageflow_verify.core.sched.trace import Step, Trace
from tests.quality.test_planted_bags import write_split_by_await

ROOT = Path(__file__).resolve().parents[2]
NEW_CHECK = "bags.output_bag_linearizable"
FINDING = "SF-CTX-01"
# Without the background-networking flags Chromium's own connections are refused by the
# closed network of CI machines and it waits on them; the fresh profile keeps runs apart.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    return found


def _browse(chromium: str, page: Path, profile: Path, *extra: str) -> str:
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def planted_verify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reports of a verify of the bag machine with a planted check-then-act bug."""
    reports = tmp_path_factory.mktemp("reports")
    with mock.patch.object(OutputBag, "write", write_split_by_await):
        report = verify.verify([NEW_CHECK, f"finding.{FINDING}"], reports)
    assert [(r.name, r.status) for r in report.rows] == [
        (NEW_CHECK, "NEW"),
        (f"finding.{FINDING}", "KNOWN"),
    ]
    return reports


def test_the_new_row_keeps_its_program_schedule_and_statistics(planted_verify: Path) -> None:
    stored = json.loads((planted_verify / "verify.json").read_text())["checks"][0]
    assert "state.run_tasks(" in stored["program"]
    (timeline,) = stored["timelines"]
    assert timeline["title"] == "the run that raised the failure" and timeline["steps"]
    statistics = stored["statistics"]
    assert statistics["examples"]["valid"] > 0 and statistics["examples"]["failing"] > 0
    assert statistics["rules"]["run_tasks"] > 0
    assert statistics["invariants"]["history_is_linearizable"] > 0
    assert statistics["phase_seconds"]["shrink"] > 0
    database = statistics["database"]
    if settings().database is None:  # ci keeps no example database: nothing read or written
        assert database == {"kind": "none", "read": False, "written": False, "replayed": 0,
                            "saved": 0}  # fmt: skip
    else:
        # dev: verify pins the seed, and Hypothesis then gives the run no database key.
        assert database["kind"] == "local" and not database["read"] and not database["written"]


def test_chromium_renders_the_new_row_its_timeline_and_the_findings(
    planted_verify: Path, tmp_path: Path
) -> None:
    chromium = _chromium()
    stored = json.loads((planted_verify / "verify.json").read_text())["checks"][0]
    (timeline,) = stored["timelines"]
    dom = _browse(chromium, planted_verify / "index.html", tmp_path / "profile", "--dump-dom")
    assert f'data-status="NEW" data-name="{NEW_CHECK}"' in dom
    assert f'data-status="KNOWN" data-name="finding.{FINDING}"' in dom
    assert f'id="finding-{FINDING}"' in dom
    failure = dom[dom.index(f'id="failure-{NEW_CHECK}"') :]
    drawn = failure[: failure.index("</article>")]
    assert 'class="timeline" data-timeline="0" data-drawn="true"' in drawn
    # One box per step the verify recorded, on the lanes it named; the planted write on hover.
    assert len(re.findall(r'class="step kind-', drawn)) == len(timeline["steps"])
    for lane in timeline["lanes"].values():
        assert f'data-lane="{lane}"' in drawn
    assert "write_split_by_await" in drawn
    assert re.search(r'class="step kind-task pick"[^>]*title="step \d+, [^"]*pick 0/2', drawn)

    shot = ROOT / "reports" / "index-planted-new.png"
    shot.parent.mkdir(exist_ok=True)
    shot.unlink(missing_ok=True)
    _browse(chromium, planted_verify / "index.html", tmp_path / "profile2",
            f"--screenshot={shot}", "--window-size=1400,2000")  # fmt: skip
    assert shot.stat().st_size > 0


def test_a_page_without_failures_has_no_failure_articles_and_escapes_names() -> None:
    rows = (Row("values.<law>", "PASS", None, 3, 0.1), Row("x.y", "N/A", None, 0, 0.0, "why"))
    page = render_index(VerifyReport("1.2.0", "/p", "ci", rows), [], "make verify")
    assert 'class="failure"' not in page
    assert "values.&lt;law&gt;" in page and "values.<law>" not in page
    assert '"timeline-data">[]</script>' in page


def test_verify_all_page_is_a_version_by_check_grid_with_each_versions_failures(
    tmp_path: Path,
) -> None:
    steps = [
        [0, 0, 0.0, None, 1, "task", "start", "await x"],
        [1, 1, 0.0, 1, 2, "fault", "", "cancel T1"],
    ]
    drawn = {"title": "t", "lanes": {"0": "T0 main", "1": "T1 w"}, "omitted": 0, "steps": steps}
    for version, status in (("0.5.1", "PASS"), ("1.2.0", "NEW")):
        record = tmp_path / "versions" / version
        (record / "failures").mkdir(parents=True)
        row = Row("c.x", status, None, 4, 0.5, timelines=(drawn,) if status == "NEW" else ())
        report = VerifyReport(version, "/p", "ci", (row,))
        (record / "verify.json").write_text(json.dumps(report.to_json()))
        (record / "failures" / "c.x.txt").write_text("c.x: NEW\nreplay: make verify CHECKS='c.x'")
    page = tmp_path / "index.html"
    page.write_text(render_matrix_index(["0.5.1", "1.2.0"], tmp_path))
    text = page.read_text()
    assert "<th>0.5.1</th><th>1.2.0</th>" in text
    assert 'data-status="NEW PASS" data-name="c.x"' in text
    assert "1.2.0: c.x" in text and "make verify CHECKS=&#x27;c.x&#x27;" in text
    dom = _browse(_chromium(), page, tmp_path / "profile", "--dump-dom")
    assert 'data-drawn="true"' in dom
    assert re.search(
        r'class="step kind-fault pick"[^>]*title="step 1, T1 w[^"]*fault: cancel T1', dom
    )


def test_a_trimmed_timeline_marks_its_gaps_and_says_what_it_left_out(tmp_path: Path) -> None:
    # One pick of the second lane at step 40 of a 300-step run: the page draws the steps around
    # it and the end, marks the jump between them, and counts the steps it left out.
    steps = [Step(n, n % 2, 0.0, 1 if n == 40 else 0, 2, "task", "", f"op {n}") for n in range(300)]
    drawn = timeline_data(Trace({0: "T0 main", 1: "T1 w"}, steps), "the run")
    row = Row("c.x", "NEW", None, 4, 0.5, "c.x: NEW", timelines=(drawn,))
    page = tmp_path / "index.html"
    page.write_text(render_index(VerifyReport("1.2.0", "/p", "ci", (row,)), [], "make verify"))
    dom = _browse(_chromium(), page, tmp_path / "profile", "--dump-dom")
    assert len(re.findall(r'class="step kind-', dom)) == len(drawn["steps"]) < 300
    assert f"{drawn['omitted']} more not shown" in dom
    assert re.search(r'class="gap"[^>]*>\u22ef294<', dom)
    assert re.search(r'class="step kind-task pick"[^>]*title="step 40, T0 main[^"]*pick 1/2', dom)
