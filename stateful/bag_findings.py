"""Known findings about OutputBag and ContextBag aliasing, each with its minimal reproducer.

Every reproducer is plain Stageflow code (``sf`` is the imported ``stageflow`` package) and
returns True while the violation is there. The bag machines adopt the ones that still reproduce
as the ``aliases_*`` deviations of their models (``models/bags.py``), so they keep checking
linearizability, attempts and conflicts past them.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

from core.run.checks import Finding

OUTPUT_CHECK = "bags.output_bag_linearizable"
CONTEXT_CHECK = "bags.context_bag_linearizable"
WRITTEN_DICT_SHOWS = "SF-BAG-01"
READ_DATA_WRITES_BAG = "SF-BAG-02"
CONTEXT_COPY_IS_SHALLOW = "SF-BAG-03"


def written_dict_shows_through(sf: ModuleType) -> bool:
    bag = sf.context.OutputBag()
    data = {"transcript": "hello"}
    bag.write_sync("stt", sf.StageOutput.ok(data))
    data["transcript"] = "tampered"
    return bool(bag.get_value("stt", "transcript") == "tampered")


def read_data_writes_bag(sf: ModuleType) -> bool:
    bag = sf.context.OutputBag()
    bag.write_sync("stt", sf.StageOutput.ok({"transcript": "hello"}))
    bag.get_output("stt").data["transcript"] = "tampered"
    return bool(bag.get_value("stt", "transcript") == "tampered")


def context_copy_is_shallow(sf: ModuleType) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        bag = sf.context.ContextBag()
    _run(bag.write("profile", {"tier": "free"}, "loader"))
    bag.to_dict()["profile"]["tier"] = "pro"
    return bool(bag.read("profile")["tier"] == "pro")


def _run(coro: Any) -> None:
    # ContextBag.write never suspends (its lock is free); drive it without an event loop.
    try:
        coro.send(None)
    except StopIteration:
        return
    raise RuntimeError("ContextBag.write suspended; run it under an event loop instead")


FINDINGS = [
    Finding(
        WRITTEN_DICT_SHOWS,
        "Mutating a dict after writing it changes the output an OutputBag holds",
        ("0.5.1", "1.2.0"),
        OUTPUT_CHECK,
        "StageOutput and OutputEntry are frozen dataclasses and OutputBag is 'append-only': a "
        "user expects a written output not to change unless written again (not documented "
        "either way; stated as a user's expectation).",
        "write stores the caller's StageOutput, whose data is the caller's own dict: "
        "data['k'] = v after the write changes bag.get_value(stage, 'k'), with no new attempt.",
        written_dict_shows_through,
        tags=("aliasing", "expectation"),
    ),
    Finding(
        READ_DATA_WRITES_BAG,
        "Mutating the data a read returned rewrites the OutputBag's stored output",
        ("0.5.1", "1.2.0"),
        OUTPUT_CHECK,
        "OutputEntry and StageOutput are frozen dataclasses, and retries must use "
        "write(..., allow_overwrite=True), which counts an attempt: a user expects outputs read "
        "from the bag to be read-only (stated as a user's expectation).",
        "get / get_output / entries / outputs / to_dict return the stored data dict itself: "
        "bag.get_output(stage).data['k'] = v changes what every later reader sees, silently "
        "and without an attempt.",
        read_data_writes_bag,
        tags=("aliasing", "expectation"),
    ),
    Finding(
        CONTEXT_COPY_IS_SHALLOW,
        "ContextBag.to_dict() 'copy' shares nested values with the bag",
        ("0.5.1", "1.2.0"),
        CONTEXT_CHECK,
        "ContextBag.to_dict: 'Returns: Copy of the internal data dictionary'; and ContextBag "
        "rejects a second write of a key.",
        "The copy is shallow: bag.to_dict()[key]['x'] = v changes bag.read(key)['x'], an "
        "overwrite of a written key that no conflict check sees.",
        context_copy_is_shallow,
        tags=("aliasing",),
    ),
]
