"""The README's user example runs as pasted: its buggy variant fails, its correct one passes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Verify your own pipeline"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(HEADING) :]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the README's user section lost its example"
    return str(blocks[0])


def _pytest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_fan_out.py"
    test.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test),
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-seed=0",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_readme_example_finds_its_lost_update(tmp_path: Path) -> None:
    done = _pytest(tmp_path, readme_example())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "every_tag_kept: profile tags are" in done.stdout
    assert "Replay: replay_pipeline_run(pipeline, context, [" in done.stdout


def test_the_readme_example_passes_once_fixed(tmp_path: Path) -> None:
    fixed = readme_example().replace("BUGGY = True", "BUGGY = False")
    done = _pytest(tmp_path, fixed)
    assert done.returncode == 0, done.stdout + done.stderr
