"""Which Stageflow ``make verify`` tests: a released version, a source tree, or both side by side.

``make verify STAGEFLOW=0.5.1`` runs verify in ``.venv-stageflow-0.5.1``, a virtualenv made on
first use from ``requirements.lock`` with only stageflow-core swapped, so the suite's own tools
(Hypothesis, pytest) are the same on every version and only the system under test changes.
``make verify SUT=PATH`` runs it in ``.venv`` with the stageflow package found under PATH first
on ``PYTHONPATH`` (``core.sut`` imports whatever stageflow comes first, and the report names its
path). ``make verify-all`` verifies each version of ``MATRIX_VERSIONS`` in turn (by default every
released stageflow-core from 0.5.0 on, as ``pip index versions`` lists them, asked once), then
prints one table, a row per check and a column per version, with each version's totals and a
legend, from the per-version records that verify keeps in
``reports/versions/<version>/verify.json``; ``reports/matrix.md`` keeps it.

Input is checked before anything runs: a version pip has never heard of, or a PATH without a
stageflow package, is one line on stderr and exit 2. Only then is a virtualenv created.

This module uses the standard library only (the suite's own modules are imported where a command
needs them): the Makefile runs its checks with the system Python while parsing, before ``.venv``
exists, by the file's path (``python3 core/run/matrix.py check ...``), since the suite is not
installed yet. Each version's virtualenv gets this checkout installed editable, as ``.venv`` does,
so verify runs there under the suite's one import name.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
DISTRIBUTION = "stageflow-core"
OLDEST_DEFAULT = (0, 5, 0)  # verify-all's default: every final release from this one on
# Release-shaped strings only: anything else never reaches pip, a shell or a directory name.
_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,3}((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?")


class BadInput(Exception):
    """Input refused before anything runs; the message is the one line printed (exit 2)."""


def _requirements() -> list[tuple[str, str]]:
    """(name, line) of each requirement in the lock, comments stripped.

    Installed as a package there is no checkout and no lock: the package's own pinned
    dependencies (pyproject's, which pin stageflow-core as the lock does) stand in for it.
    """
    found = []
    for raw in _lock_lines():
        line = raw.partition("#")[0].strip()
        if line:
            found.append((line.partition("==")[0].strip().lower(), line))
    return found


def _lock_lines() -> list[str]:
    if LOCK.exists():
        return LOCK.read_text().splitlines()
    try:
        return list(importlib.metadata.requires("stageflow-verify") or [])
    except importlib.metadata.PackageNotFoundError:
        raise BadInput(f"no {LOCK} and no installed stageflow-verify to read pins from") from None


def pinned_version() -> str:
    for name, line in _requirements():
        if name == DISTRIBUTION:
            return line.partition("==")[2].strip()
    raise BadInput(f"{LOCK.name} pins no {DISTRIBUTION}; restore the pin and retry")


def venv_for(version: str) -> Path:
    """The virtualenv verifying ``version``: ``.venv`` for the pinned one, else its own."""
    return ROOT / ".venv" if version == pinned_version() else ROOT / f".venv-stageflow-{version}"


def _lock_digest() -> str:
    # The lock and the packaging both: a venv made before the suite was installed into it (or
    # under another package layout) is completed on the next run.
    digest = hashlib.sha256(LOCK.read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def _stamp(venv: Path) -> Path:
    return venv / ".installed-matrix"


def venv_ready(version: str) -> bool:
    venv = venv_for(version)
    if version == pinned_version():
        return (venv / "bin" / "python").exists()
    stamp = _stamp(venv)
    return stamp.exists() and stamp.read_text().strip() == _lock_digest()


def released_versions() -> list[str]:
    """The versions of stageflow-core that pip can install (one ``pip index`` query)."""
    command = [sys.executable, "-m", "pip", "index", "versions", DISTRIBUTION]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInput(f"cannot ask pip which {DISTRIBUTION} versions exist ({exc})") from exc
    for line in done.stdout.splitlines():
        if line.startswith("Available versions:"):
            return [v.strip() for v in line.partition(":")[2].split(",") if v.strip()]
    detail = (done.stderr.strip().splitlines() or ["no answer"])[-1]
    raise BadInput(
        f"cannot ask pip which {DISTRIBUTION} versions exist ({detail}); check the network or "
        f"pip's index configuration, or use SUT=PATH with a local checkout"
    )


def version_key(version: str) -> tuple[int, ...]:
    """Orders release numbers numerically (0.9.6 before 0.10.0); a pre-release sorts low."""
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def default_versions(released: Sequence[str]) -> list[str]:
    """verify-all's versions: every final release from 0.5.0 on, oldest first."""
    final = [v for v in released if re.fullmatch(r"[0-9]+(\.[0-9]+)*", v)]
    return sorted((v for v in final if version_key(v) >= OLDEST_DEFAULT), key=version_key)


def check_version(version: str, released: Sequence[str] | None = None) -> None:
    """Refuse a malformed or unreleased version; ``released``, if given, saves a pip query."""
    if not _VERSION.fullmatch(version):
        raise BadInput(f"STAGEFLOW={version!r} is not a version number (e.g. STAGEFLOW=0.5.1)")
    if venv_ready(version):
        return  # made before, so pip knew it then: no query needed
    released = released_versions() if released is None else released
    if version not in released:
        raise BadInput(
            f"{DISTRIBUTION} {version} is not a released version; released: {', '.join(released)}"
        )


def resolve_sut(path: str) -> Path:
    """The directory to put first on PYTHONPATH so that ``import stageflow`` finds PATH's copy.

    PATH may hold the package (``PATH/stageflow/__init__.py``), be a checkout with a ``src``
    layout (``PATH/src/stageflow``), or be the package directory itself.
    """
    given = Path(path).expanduser()
    if not given.is_dir():
        raise BadInput(f"SUT={path!r} is not a directory; give the directory holding stageflow/")
    given = given.resolve()
    candidates = [given, given / "src"]
    if given.name == "stageflow":
        candidates.append(given.parent)
    for candidate in candidates:
        if (candidate / "stageflow" / "__init__.py").is_file():
            return candidate
    raise BadInput(
        f"SUT={path!r} holds no stageflow package (looked for stageflow/__init__.py in it and "
        f"in its src/); point SUT at a checkout of stageflow or at the directory holding it"
    )


def check(stageflow: str | None, sut: str | None) -> None:
    if stageflow and sut:
        raise BadInput("give STAGEFLOW=VERSION or SUT=PATH, not both")
    if stageflow:
        check_version(stageflow)
    if sut:
        resolve_sut(sut)


def ensure_venv(version: str) -> Path:
    """Create (once) the virtualenv for ``version``; the lock's pins, stageflow-core swapped."""
    venv = venv_for(version)
    python = venv / "bin" / "python"
    if venv_ready(version):
        return python
    print(f"matrix: creating {venv.name} for {DISTRIBUTION} {version} (once)", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    others = [line for name, line in _requirements() if name != DISTRIBUTION]
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Last, this checkout, editable and without dependencies (the lock's are installed already).
    suite = ["--no-deps", "--editable", str(ROOT)]
    for step in (others, [f"{DISTRIBUTION}=={version}"], suite):
        if subprocess.run([*pip, *step]).returncode != 0:
            raise BadInput(
                f"pip could not install {' '.join(step[-1:])} into {venv.name} (its output is "
                f"above); fix the cause and rerun, the venv is completed on the next run"
            )
    _stamp(venv).write_text(_lock_digest() + "\n")
    return python


def run_verify(python: Path, checks: str, reports: str, pythonpath: Path | None = None) -> int:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(pythonpath), env.get("PYTHONPATH", "")) if p
        )
    command = [str(python), "-m", "stageflow_verify.core.run.verify", "--reports", reports]
    if checks:
        command += ["--checks", checks]
    # In the caller's directory, as a plain verify runs: the suite is installed in that venv, so
    # no directory is needed to import it, and a relative --reports (and the example database)
    # must land where make was run, not in whichever checkout the install points at.
    return subprocess.run(command, env=env).returncode


def verify(stageflow: str | None, sut: str | None, checks: str, reports: str) -> int:
    check(stageflow, sut)
    if sut:
        return run_verify(venv_for(pinned_version()) / "bin" / "python", checks, reports,
                          resolve_sut(sut))  # fmt: skip
    return run_verify(ensure_venv(stageflow or pinned_version()), checks, reports)


def verify_all(versions: Sequence[str], checks: str, reports: str) -> int:
    """Verify every version (all of them, even after a NEW), then print the table.

    No versions: every release from 0.5.0 on. The exit code is the worst of verify's: 2 (bad
    input) before 1 (something NEW) before 3 (something ERROR) before 0.
    """
    released: list[str] | None = None
    if not versions or not all(venv_ready(v) for v in versions):
        released = released_versions()  # one query for all of them
    versions = list(versions) or default_versions(released or [])
    for version in versions:
        check_version(version, released)
    codes = []
    # Imported here: the rest of this module runs on the bare system Python (make's checks).
    from stageflow_verify.core.run.html_report import write_matrix_index
    from stageflow_verify.core.run.matrix_table import render_matrix
    from stageflow_verify.core.run.report_files import running_marker
    from stageflow_verify.core.run.report_writer import write_report_file

    with running_marker(Path(reports), "verify-all", ("matrix.md", "index.html")):
        for version in versions:
            print(f"\n==== stageflow-core {version}", flush=True)
            codes.append(verify(version, None, checks, reports))
        table = render_matrix(versions, Path(reports))
        print("\n" + table)
        heading = f"# stageflow-verify matrix\n\nChecks run: `{checks or 'all'}`.\n\n"
        write_report_file(Path(reports) / "matrix.md", heading + table + "\n")
        print(f"wrote {Path(reports) / 'matrix.md'}, {write_matrix_index(versions, Path(reports))}")
    for worst in (2, 1, 3):
        if worst in codes:
            return worst
    return 0


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.core.run.matrix", description=__doc__
    )
    parser.add_argument("command", choices=("check", "verify", "all"))
    parser.add_argument(
        "versions", nargs="*", help="for `all`: the versions (default: every release >= 0.5.0)"
    )
    parser.add_argument("--stageflow", default="", help="a released stageflow-core version")
    parser.add_argument("--sut", default="", help="a directory holding a stageflow package")
    parser.add_argument("--checks", default="", help="passed on to core.run.verify")
    parser.add_argument("--reports", default="reports", help="passed on to core.run.verify")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "check":
            check(args.stageflow, args.sut)
            return 0
        if args.command == "verify":
            return verify(args.stageflow, args.sut, args.checks, args.reports)
        return verify_all(args.versions, args.checks, args.reports)
    except BadInput as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
