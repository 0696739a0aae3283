"""Shared Hypothesis strategies for the value-type laws: nested, mixed-key, unicode data.

A law that only ever sees flat ``{str: int}`` dicts cannot tell a deep copy from a shallow one,
so every container strategy here nests: lists and dicts inside dicts, up to a few levels, with
keys that mix text, integers and the *text of* integers. That last choice is deliberate: keys
``1`` and ``"1"`` are different dict keys that print alike, the one shape that catches code
which orders or hashes by ``str(key)``.

Two families: :data:`values` (anything a stage may put in a dict: may hold unhashable lists and
dicts) and :data:`json_values` (what survives ``json.dumps``: string keys, finite floats), for
laws that round-trip through JSON.

For example::

    @given(st.dictionaries(keys, values, max_size=4))
    def law(data): ...
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from hypothesis import strategies as st

# Small ranges make key clashes (1 vs "1" vs True) likely within a few dozen examples.
_small_ints = st.integers(min_value=-3, max_value=3)

keys: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=3), _small_ints, _small_ints.map(str), st.booleans()
)
text_keys = st.text(max_size=4)
clashing_keys: st.SearchStrategy[Any] = st.one_of(_small_ints, _small_ints.map(str))

scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    # NaN is not equal to itself; a law about equality would only rediscover that.
    st.floats(allow_nan=False),
    st.text(max_size=6),
)

values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(keys, inner, max_size=3),
        st.tuples(inner, inner),
    ),
    max_leaves=8,
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(text_keys, inner, max_size=3)
    ),
    max_leaves=8,
)

mixed_dicts = st.dictionaries(keys, values, max_size=5)
str_dicts = st.dictionaries(text_keys, values, max_size=4)
json_dicts = st.dictionaries(text_keys, json_values, max_size=4)
optional_text = st.none() | st.text(max_size=8)

# Naive and UTC-aware: isoformat() round-trips both, and equality compares them exactly.
datetimes = st.datetimes(timezones=st.none() | st.just(UTC))


def nested_containers(value: Any) -> list[Any]:
    """Every list and dict reachable inside ``value`` (not ``value`` itself), depth first."""
    found: list[Any] = []
    children: list[Any]
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list | tuple):
        children = list(value)
    else:
        return found
    for child in children:
        if isinstance(child, list | dict):
            found.append(child)
        found.extend(nested_containers(child))
    return found


def mutate(container: Any) -> None:
    """Change a list or dict in place, so a shared reference shows."""
    if isinstance(container, list):
        container.append("<mutated>")
    else:
        container["<mutated>"] = True


def is_hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
