"""Replaying one shrunk failure from Hypothesis's ``@reproduce_failure`` blob, without a search.

Profiles with ``print_blob`` (``ci``, ``nightly``) print, for every failure, the blob that
encodes its shrunk choices: the stateful program, and the schedule, since every scheduling
choice of the suite's loop is a Hypothesis draw (``HypothesisChooser``). Hypothesis replays a
blob only for a test decorated with it, and a check's tests are built inside the check (a
machine class made per run, a law defined in its module), so :func:`replaying` decorates them
as they are made: it wraps ``hypothesis.given`` and ``hypothesis.stateful.
run_state_machine_as_test`` *before* the check modules are imported (they bind both names at
import). Only the replay process does this; verify itself never does.

A blob replays exactly that one example: if it fails, the failure is back (NEW); if it passes,
Hypothesis raises ``DidNotReproduce`` and the case no longer fails. A blob from another
Hypothesis version is refused by Hypothesis itself (``InvalidArgument``).
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import hypothesis.stateful

_PRINTED = re.compile(r"@reproduce_failure\((?P<version>'[^']+'), (?P<blob>b'[^']*')\)")


def blob_in(text: str) -> tuple[str, bytes] | None:
    """The first ``(hypothesis version, blob)`` Hypothesis printed in ``text``, if any."""
    found = _PRINTED.search(text)
    if found is None:
        return None
    version = ast.literal_eval(found["version"])
    blob = ast.literal_eval(found["blob"])
    assert isinstance(version, str) and isinstance(blob, bytes)
    return version, blob


@contextlib.contextmanager
def replaying(version: str, blob: bytes) -> Iterator[None]:
    """Every Hypothesis test made inside replays ``blob`` instead of searching."""
    marked = (version, blob)
    real_given: Any = hypothesis.given  # overloaded in Hypothesis's stubs; called generically
    real_run = hypothesis.stateful.run_state_machine_as_test

    def given(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        decorate = real_given(*args, **kwargs)

        def apply(test: Any) -> Any:
            wrapped = decorate(test)
            wrapped._hypothesis_internal_use_reproduce_failure = marked
            return wrapped

        return apply

    def run_state_machine_as_test(factory: Any, **kwargs: Any) -> None:
        # Hypothesis copies the attribute from the factory: "so @reproduce_failure just works".
        factory._hypothesis_internal_use_reproduce_failure = marked
        real_run(factory, **kwargs)

    patched: Any = hypothesis
    machines: Any = hypothesis.stateful
    patched.given, machines.run_state_machine_as_test = given, run_state_machine_as_test
    try:
        yield
    finally:
        patched.given, machines.run_state_machine_as_test = real_given, real_run
