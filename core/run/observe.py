"""``OBSERVE=1``: Hypothesis's observability, with every test case filed under its check's name.

Make turns ``OBSERVE=1`` into ``HYPOTHESIS_EXPERIMENTAL_OBSERVABILITY=1`` for verify and nightly,
and Hypothesis then writes a JSON line per test case to ``.hypothesis/observed/`` (its own
format: status, timing per phase, features, coverage). Each line names its test by
``property``: under pytest the test's node id, else the test function's name, which for every
state machine is Hypothesis's inner ``run_state_machine``, so all machines looked like one test.
Hypothesis asks the current pytest item for its ``nodeid`` first; outside pytest, verify
stands one in for each check (:func:`named_for_observability`), so ``property`` is the check's
name (``bags.output_bag_linearizable``). Inside pytest (nightly's shards) the real item's node
id already names the check and shard, and is left alone.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from hypothesis.internal.escalation import current_pytest_item
from hypothesis.internal.observability import observability_enabled

OBSERVE_ENV = "OBSERVE"


class CheckItem:
    """Just enough of a pytest item for Hypothesis: a node id, and failures formatted plainly."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def repr_failure(self, excinfo: Any) -> str:
        return "".join(traceback.format_exception(excinfo.value))


@contextmanager
def named_for_observability(check: str) -> Iterator[None]:
    """While observability is on and no pytest item is current, file test cases under ``check``.

    For example::

        with named_for_observability("values.frozen_dict_hash"):
            check.run()
    """
    if not observability_enabled() or current_pytest_item.value is not None:
        yield
        return
    with current_pytest_item.with_value(cast(Any, CheckItem(check))):  # typed for None only
        yield
