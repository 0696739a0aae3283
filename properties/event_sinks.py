"""``lifecycle.event_sinks``: the global event sink (set, get, clear) and the built-in sinks
(``NoOpEventSink``, ``LoggingEventSink``) against a model read off docs/api/events.md.

Each example draws a program of up to 8 steps and runs it in a fresh ``contextvars`` context
(the global sink is a ContextVar: nothing leaks into later examples or checks). The model:

- ``set_event_sink(s)``: "Set the global event sink" (docs/api/events.md:101); afterwards
  ``get_event_sink()`` is ``s`` itself, "the current event sink" (:111);
- ``clear_event_sink()``: "Reset to default (NoOp) sink" (:121): ``get_event_sink()`` is then a
  ``NoOpEventSink``, as it is before any set;
- ``emit`` / ``try_emit`` on the current sink, and ``emit_event`` ("Emit an event through the
  current event sink", stageflow/events/__init__.py:21): a recording sink gets ``(type,
  data)``; ``NoOpEventSink`` "Discards all events" (:38); ``LoggingEventSink`` "Logs events
  via Python's logging module" (:47): one record per event on the ``stageflow.events`` logger
  at the sink's ``level`` (default ``logging.INFO``, its signature), message ``Event: <type>``,
  with the type and data attached (``event_type``, ``event_data``).

For example::

    run_event_sinks_law()  # raises with the shrunk program and the first step that differs
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from stageflow_verify.core.run.checks import Check, count_example
from stageflow_verify.core.sut import stageflow_module

CHECK = "lifecycle.event_sinks"
SINKS = ("recorder", "noop", "logging", "logging_debug", "logging_warning")
LEVELS = {"logging": logging.INFO, "logging_debug": logging.DEBUG, "logging_warning": 30}
Step = tuple[str, str]  # (operation, argument): a sink kind or an event type

steps = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(SINKS)),
    st.tuples(st.just("clear"), st.just("")),
    st.tuples(st.sampled_from(["emit", "try_emit", "emit_event"]), st.sampled_from(["a.b", "c"])),
)


class _Recorder:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    async def emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.log.append(("recorder", type, data))

    def try_emit(self, *, type: str, data: dict[str, Any] | None) -> None:
        self.log.append(("recorder", type, data))


class _Capture(logging.Handler):
    def __init__(self, log: list[Any]) -> None:
        super().__init__(level=logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        extra = (getattr(record, "event_type", None), getattr(record, "event_data", None))
        self.log.append(("logging", record.levelno, record.getMessage(), *extra))


def expected(program: list[Step]) -> tuple[list[Any], list[str]]:
    """What the sinks receive and what ``get_event_sink()`` is after each step (a kind)."""
    current = "noop"
    log: list[Any] = []
    kinds: list[str] = []
    for number, (op, arg) in enumerate(program):
        if op == "set":
            current = arg
        elif op == "clear":
            current = "noop"
        else:
            data = {"step": number}
            if current == "recorder":
                log.append(("recorder", arg, data))
            elif current.startswith("logging"):
                log.append(("logging", LEVELS[current], f"Event: {arg}", arg, data))
        kinds.append(current)
    return log, kinds


def observed(program: list[Step]) -> tuple[list[Any], list[str]]:
    sf = stageflow_module()
    log: list[Any] = []
    made: dict[int, str] = {}

    def make(kind: str) -> Any:
        sink: Any
        if kind == "recorder":
            sink = _Recorder(log)
        elif kind == "noop":
            sink = sf.NoOpEventSink()
        elif kind == "logging":
            sink = sf.LoggingEventSink()  # the default level is part of the contract
        else:
            sink = sf.LoggingEventSink(level=LEVELS[kind])
        made[id(sink)] = kind
        return sink

    async def main() -> list[str]:
        kinds, keep = [], []
        for number, (op, arg) in enumerate(program):
            if op == "set":
                keep.append(make(arg))
                sf.set_event_sink(keep[-1])
            elif op == "clear":
                sf.clear_event_sink()
            elif op == "emit":
                await sf.get_event_sink().emit(type=arg, data={"step": number})
            elif op == "try_emit":
                sf.get_event_sink().try_emit(type=arg, data={"step": number})
            else:
                await sf.events.emit_event(type=arg, data={"step": number})
            current = sf.get_event_sink()
            default = isinstance(current, sf.NoOpEventSink) and id(current) not in made
            kinds.append("noop" if default else made.get(id(current), type(current).__name__))
        return kinds

    logger = logging.getLogger("stageflow.events")
    handler, saved = _Capture(log), (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # the sink's level is under test, not the logger's
    logger.propagate = False
    try:
        kinds = contextvars.copy_context().run(asyncio.run, main())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    return log, kinds


# Every sink's level through both entry points, whatever the search draws (the search alone,
# under ci, can miss a level bug that only a DEBUG or WARNING sink shows).
@example(program=[("set", "logging_debug"), ("try_emit", "c"), ("emit", "c")])
@example(program=[("set", "logging_warning"), ("emit_event", "c"), ("try_emit", "c")])
@given(program=st.lists(steps, min_size=1, max_size=8))
def event_sinks_law(program: list[Step]) -> None:
    count_example()
    mine, theirs = expected(program), observed(program)
    assert mine[1] == theirs[1], f"get_event_sink() after each step of {program}: {theirs[1]}"
    assert mine[0] == theirs[0], (
        f"events received for {program}\n  model:     {mine[0]}\n  stageflow: {theirs[0]}"
    )


def run_event_sinks_law() -> None:
    event_sinks_law()


CHECKS = [
    Check(
        name=CHECK,
        run=run_event_sinks_law,
        summary="the global event sink (set/get/clear) and the NoOp and Logging sinks",
    ),
]
