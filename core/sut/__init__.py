"""The adapter to the system under test: the only package of the suite that imports stageflow.

Whatever ``stageflow`` Python imports first is what gets verified: ``PYTHONPATH=DIR make verify``
verifies a modified copy in DIR. Nothing here pins the import to site-packages, and the report
names the path that was imported.

One module per area (``context``, and later bags, subpipelines, graphs) projects real objects into
plain observations (nested dicts, lists, strings, numbers) that compare directly with the
reference models in ``models/``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from types import ModuleType


class StageflowUnavailableError(ImportError):
    pass


class HarnessError(Exception):
    """The suite cannot drive this Stageflow: an adapter, generator or feature probe is at fault.

    Verify reports it as ERROR (never NEW, never PASS) and names the file and line that raised
    it. Raise it wherever the suite finds it cannot ask a Stageflow what a check needs (a
    graph this version cannot build, a context it cannot hold), instead of a ValueError that
    could read as Stageflow's own.

    Every instance is also recorded when it is made (:func:`harness_errors`): Stageflow may
    catch what an adapter raised inside a stage, runner or sink and turn it into a failed
    result, and the comparison that then fails is the harness's doing, not Stageflow's.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        _raised.append(self)


# The HarnessErrors made since the current example began (see forget_harness_errors).
_raised: list[HarnessError] = []


def harness_errors() -> tuple[HarnessError, ...]:
    """The HarnessErrors raised since :func:`forget_harness_errors`, caught or not."""
    return tuple(_raised)


def forget_harness_errors() -> None:
    """Start a new example: the checks' example counter calls this as each example begins, so
    after a failing run what is left is what its last example (Hypothesis's final replay of
    the shrunk failure) raised."""
    _raised.clear()


class UnsupportedFeature(HarnessError):
    """A check drew something this Stageflow does not offer: its feature probe was wrong."""


def stageflow_module() -> ModuleType:
    """Import and return the ``stageflow`` package that is first on the path."""
    loaded = sys.modules.get("stageflow")
    if loaded is not None:  # the fast path: machines ask for it in every invariant
        return loaded
    try:
        return importlib.import_module("stageflow")
    except ImportError as exc:
        raise StageflowUnavailableError(
            f"cannot import stageflow ({exc}); run `make venv` or put a stageflow package on "
            "PYTHONPATH"
        ) from exc


def stageflow_location() -> str:
    """The directory of the ``stageflow`` package Python would import, without importing it.

    ``make reach`` measures that directory; importing the package first would run its
    module-level lines before coverage starts and count them as never run.
    """
    try:
        spec = importlib.util.find_spec("stageflow")
    except (ImportError, ValueError) as exc:
        raise StageflowUnavailableError(f"cannot find stageflow ({exc}); run `make venv`") from exc
    if spec is None or not spec.submodule_search_locations:
        raise StageflowUnavailableError(
            "no stageflow package on the path; run `make venv` or put one on PYTHONPATH"
        )
    return str(next(iter(spec.submodule_search_locations)))


def stageflow_version(sf: ModuleType | None = None) -> str:
    """The version of the imported stageflow: its ``__version__``, else the installed metadata.

    A copy on PYTHONPATH without ``__version__`` reports the installed distribution's version
    with a ``+path`` suffix, so a report never passes a modified copy off as the release.
    """
    sf = sf or stageflow_module()
    version = getattr(sf, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        installed = importlib.metadata.version("stageflow-core")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
    if _is_installed_copy(sf):
        return installed
    return f"{installed}+path"


def stageflow_path(sf: ModuleType | None = None) -> str:
    sf = sf or stageflow_module()
    return str(next(iter(sf.__path__)))


def stageflow_label(sf: ModuleType | None = None) -> str:
    """The version as verify records it: a copy on PYTHONPATH always carries ``+path``.

    ``stageflow_version`` trusts a copy's own ``__version__``; the record must not, or verifying
    a modified checkout would overwrite what the release itself was measured to do.
    """
    sf = sf or stageflow_module()
    version = stageflow_version(sf)
    if "+" in version or _is_installed_copy(sf):
        return version
    return f"{version}+path"


def _is_installed_copy(sf: ModuleType) -> bool:
    try:
        files = importlib.metadata.files("stageflow-core") or []
    except importlib.metadata.PackageNotFoundError:
        return False
    for f in files:
        if str(f).replace("\\", "/") == "stageflow/__init__.py":
            return str(f.locate()) == str(sf.__file__)
    return False
