"""A failing law for test_shared_database, run in a subprocess under the selected profile.

It prints one JSON line: the first example it was called with, and whether it failed. Under
``HYPOTHESIS_DB`` a saved failure is replayed before anything is generated, so the first example
is the shrunk failure (1000); without a shared database a fresh directory starts from 0.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from stageflow_verify.core.run.profiles import load_selected_profile

load_selected_profile()
seen: list[int] = []


@given(st.integers(0, 10**6))
def law(n: int) -> None:
    seen.append(n)
    assert n < 1000


def main() -> None:
    failed = False
    try:
        law()
    except AssertionError:
        failed = True
    print(json.dumps({"first": seen[0], "failed": failed}))


if __name__ == "__main__":
    main()
