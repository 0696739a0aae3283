"""What an interceptor stack remembers between runs: the circuit breaker and the idempotency store.

Both live in interceptor instances, so every run of one built graph shares them (and so does
``Pipeline.run(ctx, interceptors=same_list)``); ``Pipeline.run()`` without interceptors builds
a fresh default stack per call, as ``build().run(...)`` does ("preserves the same execution
behavior as ``build().run(...)``", ``Pipeline.run``), so its calls share nothing unless given a
store (docs/guides/interceptors.md:125-127, "Share a store across stages / pipelines").

Circuit breaker, as documented: "After 5 failures, circuit opens for 30 seconds" and "Half-open
state allows test requests through" (docs/guides/interceptors.md:52-53; docs/api/interceptors.md:
165-166, "Threshold: 5 failures", "Reset timeout: 30 seconds"). A failure is one failed stage
execution (the breaker, priority 10, wraps the retrier, priority 15, so it sees a retried stage
once); a success closes it and forgets the count (every circuit breaker counts consecutive
failures; ``_reset_breaker`` agrees). Open, it rejects without running the stage; after more
than 30 s the next call is the half-open test: success closes, failure opens again.

Idempotency store, as documented: results "are cached ... so concurrent duplicates return the
previously computed StageResult" (``stageflow.pipeline.idempotency``), stored "when a stage
completes successfully" (docs/advanced/idempotency.md:90), for WORK stages
(``IdempotencyInterceptor``: "enforces idempotency for WORK stages"), one entry per key and
stage ("duplicate requests collapsed per stage", docs/advanced/idempotency.md:97). A duplicate
with other parameters "raises IdempotencyParamMismatch" (docs/advanced/idempotency.md:70-71);
without parameters there is nothing to compare (``_hash_params`` gives None, which skips the
check). A concurrent duplicate "waits on the per-key lock while the first request runs"
(docs/advanced/idempotency.md:50): a lock outlives only its owner's run of the stage.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

THRESHOLD = 5  # docs/guides/interceptors.md:52
OPEN_SECONDS = 30.0  # docs/guides/interceptors.md:52; ``time.time() - last_failure > 30``
TTL_SECONDS = 24 * 60 * 60  # IdempotencyInterceptor(ttl_seconds=24 * 60 * 60)

# Findings adopted as named deviations (stateful/interceptor_findings.py).
COUNTS_TWICE = "SF-RUN-11"  # a raised failure counts twice (on_error and after)
EVERY_KIND = "SF-INT-05"  # idempotency applies to every stage, not only WORK stages
KEY_PER_RUN = "SF-INT-06"  # one entry per key: a later stage replays an earlier one's output
STORES_UNSUCCESSFUL = "SF-INT-07"  # cancel and retry outputs are stored and replayed as OK
LOCK_LEAKS = "SF-INT-08"  # a cancelled stage keeps its key's lock: later runs with it hang
LOCK_LEAKS_ON_ABORT = "SF-INT-10"  # so does a stage aborted by a CriticalInterceptorError

Scope = tuple[str, str]  # (idempotency key, stage) as documented; (key, "*") under SF-INT-06
Data = tuple[tuple[str, object], ...]  # a StageOutput's data as sorted items


@dataclass(frozen=True)
class Breaker:
    state: str = "closed"  # closed | open | half_open
    failures: int = 0
    last_failure: float = 0.0


@dataclass(frozen=True)
class Entry:
    """A stored result: the stage that produced it, its data and its parameter hash."""

    stage: str
    data: Data
    params: str | None
    expires: float
    nested: bool = False  # stored by a replay: the data sits one StageResult deeper (SF-INT-09)


@dataclass
class StackState:
    """The shared state of one stack; the model copies it (``fork``) before changing it."""

    breaker: dict[str, Breaker] = field(default_factory=dict)
    store: dict[Scope, Entry] = field(default_factory=dict)
    held: set[Scope] = field(default_factory=set)  # locks nobody will release (SF-INT-08)
    previous_delay: dict[str, int] = field(default_factory=dict)  # decorrelated jitter's last

    def fork(self) -> StackState:
        return copy.deepcopy(self)

    def breaker_view(self) -> dict[str, tuple[str, int]]:
        """What the suite compares: each stage's breaker state and failure count."""
        return {s: (b.state, b.failures) for s, b in sorted(self.breaker.items()) if b.failures}

    def store_view(self, now: float) -> tuple[tuple[str, Data], ...]:
        """The live entries as (producing stage, data), whatever their key looks like."""
        live = (e for e in self.store.values() if e.expires > now)
        return tuple(sorted((e.stage, e.data) for e in live))

    def quiet(self) -> bool:
        """No breaker has counted anything: two runs at once cannot open it (from 0, two
        runs add at most 2 + 2 failures per stage, below 5), so their order does not matter."""
        return not any(b.failures or b.state != "closed" for b in self.breaker.values())


def admits(state: StackState, stage: str, now: float) -> bool:
    """Breaker ``before``: whether the stage may run; an open breaker past its interval
    becomes half-open and lets this call through as the test request."""
    b = state.breaker.get(stage, Breaker())
    if b.state != "open":
        return True
    if now - b.last_failure > OPEN_SECONDS:
        state.breaker[stage] = Breaker("half_open", b.failures, b.last_failure)
        return True
    return False


def record(state: StackState, stage: str, failed: bool, now: float, times: int = 1) -> None:
    """Breaker ``after`` (and, under SF-RUN-11, ``on_error``): count a failure or close."""
    b = state.breaker.get(stage, Breaker())
    if not failed:
        state.breaker[stage] = Breaker()
        return
    failures = b.failures + times
    opened = "open" if failures >= THRESHOLD else b.state
    state.breaker[stage] = Breaker(opened, failures, now)


def applies(kind: str, dev: frozenset[str]) -> bool:
    """Whether the idempotency interceptor acts on a stage of this ``StageKind`` value."""
    return kind == "work" or EVERY_KIND in dev


def scope(key: str, stage: str, dev: frozenset[str]) -> Scope:
    return (key, "*") if KEY_PER_RUN in dev else (key, stage)


def params_hash(params: tuple[tuple[str, int], ...]) -> str | None:
    # Any injective encoding will do: only equality of two hashes is ever observed.
    return repr(params) if params else None


def mismatch(entry: Entry, params: str | None) -> bool:
    return entry.params is not None and params is not None and entry.params != params


def stored_status(status: str, dev: frozenset[str]) -> bool:
    """Which reported statuses the store keeps: "completes successfully" is OK (an open
    breaker's short-circuit is reported OK under SF-RUN-08, so it is kept too); 1.2.0 keeps
    everything its StageResult calls ``completed``, RETRY and CANCEL outputs included."""
    return status == "ok" or (status in ("retry", "cancel") and STORES_UNSUCCESSFUL in dev)
