"""An example database whose replayed failures are always shrunk again before they are reported.

Hypothesis saves a failure to the database as soon as it finds one and replaces it with each
smaller failure while it shrinks. A run stopped while shrinking (Ctrl-C, a killed nightly shard,
a time limit) therefore leaves a half-shrunk failure in the database's primary corpus. The next
run replays the primary corpus first and, if every entry there still fails exactly as stored,
takes a "fast path for development" and reports it *without shrinking*: Hypothesis 6.170,
``internal/conjecture/engine.py``, ``ConjectureRunner._run`` (``if
self.reused_previously_shrunk_test_case: self.exit_with(...)``). It assumes every primary entry
is already minimal, which an interrupted shrink breaks, and no setting turns the fast path off.

:class:`ShrinkAgainDatabase` wraps the profile's database and hides the primary corpus from
``fetch``, serving it under the secondary key instead. Hypothesis replays secondary entries too
(``reuse_existing_test_cases``), and a failure found there is not a "previously shrunk" one, so
the run goes on to its shrink phase; generation is skipped as before, because a failure is
already in hand. Every write goes to the wrapped database unchanged, so the files stay
Hypothesis's own: the shrunk failure is saved under the primary key and the replayed one is moved
to the secondary key, exactly as without the wrapper. The price: a failure that was fully shrunk
is shrunk once more, which only confirms it (seconds for a machine, and only on failing runs).

``tests/quality/test_planted_reshrink.py`` plants a bug, leaves an unshrunk failure in the
database, and shows that the next ``dev`` and ``nightly`` run replays it first and reports it
shrunk.

For example::

    settings(database=ShrinkAgainDatabase(DirectoryBasedExampleDatabase(".hypothesis/examples")))
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis.database import ExampleDatabase

# Hypothesis's sub-keys (ConjectureRunner.sub_key): `<key>.secondary` and `<key>.pareto`.
_SECONDARY = b".secondary"
_SUB_KEYS = (_SECONDARY, b".pareto")


class ShrinkAgainDatabase(ExampleDatabase):
    """``inner`` with its primary corpus replayed as secondary (see the module docstring)."""

    def __init__(self, inner: ExampleDatabase) -> None:
        super().__init__()
        self.inner = inner

    def __repr__(self) -> str:
        return f"ShrinkAgainDatabase({self.inner!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShrinkAgainDatabase) and self.inner == other.inner

    def __hash__(self) -> int:
        return hash(("ShrinkAgainDatabase", id(self.inner)))

    def fetch(self, key: bytes) -> Iterable[bytes]:
        if key.endswith(_SECONDARY):
            primary = list(self.inner.fetch(key[: -len(_SECONDARY)]))
            # Only the primary entries when there are any: Hypothesis samples the secondary
            # corpus when it is large, and the failure must not be left out of the sample.
            return primary or list(self.inner.fetch(key))
        if key.endswith(_SUB_KEYS):
            return self.inner.fetch(key)
        return []  # the primary corpus: served as secondary above

    def save(self, key: bytes, value: bytes) -> None:
        self.inner.save(key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self.inner.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.inner.move(src, dest, value)
